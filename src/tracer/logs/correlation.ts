/**
 * Log correlation: pino and winston records written while a span is active carry
 * `trace_id`/`span_id` (W3C hex, what OTel log pipelines read) and `dd.trace_id`/`dd.span_id`
 * (decimal, what Datadog's log pipeline reads) with `dd.service`, `dd.env`, `dd.version`.
 */
import type { ResolvedConfig } from '../../config/options';
import { activeContext, SPAN_KEY } from '../context';
import { dec64, hex32 } from '../ids';
import { TwSpan } from '../span';
import { addPatcher, wrapMethod } from '../instrumentations/module-hook';
import { counters } from '../../internal/counters';

export interface LogIds {
  trace_id: string;
  span_id: string;
  dd: { trace_id: string; span_id: string; service: string; env: string; version: string };
}

let config: ResolvedConfig | null = null;

/** The ids of the active span, or undefined outside any span (or when injection is off). */
export function currentLogIds(): LogIds | undefined {
  if (config === null) return undefined;
  const span = activeContext().getValue(SPAN_KEY);
  if (!(span instanceof TwSpan)) return undefined;
  const t = span.trace;
  return {
    trace_id: hex32(t.t0) + hex32(t.t1) + hex32(t.t2) + hex32(t.t3),
    span_id: hex32(span.spanHi) + hex32(span.spanLo),
    dd: {
      trace_id: dec64(t.t2, t.t3),
      span_id: dec64(span.spanHi, span.spanLo),
      service: config.service,
      env: config.env,
      version: config.version,
    },
  };
}

function patchPino(pino: any): void {
  const asJsonSym: symbol | undefined = pino.symbols?.asJsonSym;
  if (asJsonSym === undefined) return;
  // Every logger's prototype chain ends in the library's one shared prototype object.
  const probe = pino({ level: 'silent' }, { write() {} });
  let proto = Object.getPrototypeOf(probe);
  while (proto !== null && !Object.prototype.hasOwnProperty.call(proto, asJsonSym)) proto = Object.getPrototypeOf(proto);
  if (proto === null) return;
  const original = proto[asJsonSym];
  if (original.__tracewell) return;
  const wrapped = function asJson(this: unknown, obj: Record<string, unknown> | undefined, ...rest: unknown[]): string {
    let ids: LogIds | undefined;
    try {
      ids = currentLogIds();
    } catch {
      counters.instrumentationErrors++;
    }
    if (ids !== undefined) obj = obj === undefined || obj === null ? { ...ids } : { ...obj, ...ids };
    return original.call(this, obj, ...rest);
  };
  Object.defineProperty(wrapped, '__tracewell', { value: true });
  proto[asJsonSym] = wrapped;
}

function patchWinstonLogger(Logger: any): void {
  wrapMethod(Logger.prototype, 'write', (original) =>
    function write(this: unknown, info: unknown, ...rest: unknown[]) {
      try {
        if (info !== null && typeof info === 'object') {
          const ids = currentLogIds();
          if (ids !== undefined) Object.assign(info, ids);
        }
      } catch {
        counters.instrumentationErrors++;
      }
      return original.call(this, info, ...rest);
    },
  );
}

let registered = false;

export function enableLogCorrelation(c: ResolvedConfig, which: { pino: boolean; winston: boolean }): void {
  config = c;
  if (registered) return;
  registered = true;
  if (which.pino) {
    addPatcher({
      name: 'pino',
      matches: (exp: any) => typeof exp === 'function' && typeof exp.symbols === 'object' && exp.symbols !== null && typeof exp.symbols.asJsonSym === 'symbol',
      patch: patchPino,
    });
  }
  if (which.winston) {
    addPatcher({
      name: 'winston',
      matches: (exp: any) =>
        typeof exp === 'object' && exp !== null && typeof exp.createLogger === 'function' && typeof exp.Logger === 'function' && typeof exp.format === 'function',
      patch: (exp: any) => patchWinstonLogger(exp.Logger),
    });
  }
}

export function disableLogCorrelation(): void {
  config = null;
}

/**
 * Reads and writes trace context in the configured styles. Extraction tries the styles in
 * order and the first that yields a context wins; when a W3C traceparent also arrived for the
 * same trace, its tracestate is kept so other vendors' members travel on, and so is its
 * random trace-id flag. Nothing here throws on a malformed header: it is ignored.
 */
import type { PropagationStyle } from '../../config/options';
import { extractDatadog, injectDatadog } from './datadog';
import { extractB3Multi, extractB3Single, injectB3Multi, injectB3Single } from './b3';
import { extractBaggage, extractTraceparent, injectBaggage, injectTraceparent } from './w3c';
import type { Extracted, HeaderGetter, HeaderSetter, InjectSource } from './types';

export type { Extracted, InjectSource } from './types';
export { filterTracestate } from './w3c';

type Extractor = <C>(carrier: C, get: HeaderGetter<C>) => Extracted | undefined;
type Injector = <C>(src: InjectSource, carrier: C, set: HeaderSetter<C>) => void;

const EXTRACTORS: Partial<Record<PropagationStyle, Extractor>> = {
  datadog: extractDatadog,
  tracecontext: extractTraceparent,
  b3: extractB3Single,
  b3multi: extractB3Multi,
};
const INJECTORS: Partial<Record<PropagationStyle, Injector>> = {
  datadog: injectDatadog,
  tracecontext: injectTraceparent,
  b3: injectB3Single,
  b3multi: injectB3Multi,
  baggage: injectBaggage,
};

/**
 * A getter may hand back what its carrier holds (a number, an array, a Buffer) or throw: only
 * a string is a header value (the first of an array); anything else is treated as absent.
 */
function checkedGetter<C>(getter: HeaderGetter<C>): HeaderGetter<C> {
  return (c, k) => {
    try {
      const v: unknown = getter(c, k);
      return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
    } catch {
      return undefined;
    }
  };
}

export class Propagator {
  private readonly extractors: Extractor[];
  private readonly injectors: Injector[];
  private readonly readsBaggage: boolean;
  private readonly readsTracecontext: boolean;
  readonly fields: string[];
  /** The getter `extract` was last called with, and its checked form. */
  private lastGetter: HeaderGetter<unknown> | null = null;
  private lastChecked: HeaderGetter<unknown> | null = null;

  constructor(extract: readonly PropagationStyle[], inject: readonly PropagationStyle[]) {
    this.extractors = extract.map((s) => EXTRACTORS[s]).filter((e): e is Extractor => e !== undefined);
    this.injectors = inject.map((s) => INJECTORS[s]).filter((e): e is Injector => e !== undefined);
    this.readsBaggage = extract.includes('baggage');
    this.readsTracecontext = extract.includes('tracecontext');
    const fields = new Set<string>();
    for (const s of inject) {
      if (s === 'datadog') ['x-datadog-trace-id', 'x-datadog-parent-id', 'x-datadog-sampling-priority', 'x-datadog-origin', 'x-datadog-tags'].forEach((f) => fields.add(f));
      if (s === 'tracecontext') ['traceparent', 'tracestate'].forEach((f) => fields.add(f));
      if (s === 'b3') fields.add('b3');
      if (s === 'b3multi') ['x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled'].forEach((f) => fields.add(f));
      if (s === 'baggage') fields.add('baggage');
    }
    this.fields = [...fields];
  }

  extract<C>(carrier: C, getter: HeaderGetter<C>): Extracted | undefined {
    // The integrations pass one module-level getter each: its checked form is made when the
    // getter changes, not per request.
    let get = this.lastChecked as HeaderGetter<C>;
    if (getter !== this.lastGetter) {
      get = checkedGetter(getter);
      this.lastGetter = getter as HeaderGetter<unknown>;
      this.lastChecked = get as HeaderGetter<unknown>;
    }
    let found: Extracted | undefined;
    const extractors = this.extractors;
    for (let i = 0; i < extractors.length; i++) {
      try {
        found = extractors[i](carrier, get);
      } catch {
        found = undefined;
      }
      if (found !== undefined) {
        try {
          if (i > 0 || extractors[i] !== extractTraceparent) this.keepTracestate(found, carrier, get, extractors[i]);
        } catch {
          /* the context stands without the tracestate */
        }
        break;
      }
    }
    if (found !== undefined && this.readsBaggage) {
      try {
        found.baggage = extractBaggage(carrier, get);
      } catch {
        /* ignored */
      }
    }
    return found;
  }

  /**
   * When another style won, the W3C tracestate of the same trace still travels on, and the
   * traceparent's random flag holds: it speaks of the id's rightmost 7 bytes, which are the
   * same (Datadog and B3 headers cannot say it themselves; see datadog.ts).
   */
  private keepTracestate<C>(found: Extracted, carrier: C, get: HeaderGetter<C>, winner: Extractor): void {
    if (!this.readsTracecontext || winner === extractTraceparent) return;
    const w3c = extractTraceparent(carrier, get);
    if (w3c !== undefined && w3c.t2 === found.t2 && w3c.t3 === found.t3) {
      found.tracestate = w3c.tracestate;
      found.random = w3c.random;
    }
  }

  inject<C>(src: InjectSource, carrier: C, set: HeaderSetter<C>): void {
    const injectors = this.injectors;
    for (let i = 0; i < injectors.length; i++) injectors[i](src, carrier, set);
  }
}

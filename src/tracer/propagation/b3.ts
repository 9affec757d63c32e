/**
 * Zipkin B3: the single `b3` header and the multi `X-B3-*` headers. B3 has no way to say its
 * trace id is random, so a parent read from it never gets W3C's random flag (see datadog.ts).
 */
import { hex32, parseHex32 } from '../ids';
import { emptyExtracted, type Extracted, type HeaderGetter, type HeaderSetter, type InjectSource } from './types';

function parseTraceId(id: string, out: Extracted): boolean {
  if (id.length === 32) {
    out.t0 = parseHex32(id, 0);
    out.t1 = parseHex32(id, 8);
    out.t2 = parseHex32(id, 16);
    out.t3 = parseHex32(id, 24);
  } else if (id.length === 16) {
    out.t2 = parseHex32(id, 0);
    out.t3 = parseHex32(id, 8);
  } else return false;
  if (out.t0 < 0 || out.t1 < 0 || out.t2 < 0 || out.t3 < 0) return false;
  return (out.t0 | out.t1 | out.t2 | out.t3) !== 0;
}

function parseSpanId(id: string, out: Extracted): boolean {
  if (id.length !== 16) return false;
  out.spanHi = parseHex32(id, 0);
  out.spanLo = parseHex32(id, 8);
  return out.spanHi >= 0 && out.spanLo >= 0 && (out.spanHi | out.spanLo) !== 0;
}

function samplingState(s: string | undefined, out: Extracted): boolean {
  if (s === undefined || s === '') return true;
  if (s === '1' || s === 'true') out.priority = 1;
  else if (s === '0' || s === 'false') out.priority = 0;
  else if (s === 'd') out.priority = 2;
  else return false;
  return true;
}

export function extractB3Single<C>(carrier: C, get: HeaderGetter<C>): Extracted | undefined {
  const b3 = get(carrier, 'b3');
  if (b3 === undefined || b3.length > 200) return undefined;
  const parts = b3.trim().split('-');
  if (parts.length < 2 || parts.length > 4) return undefined; // a lone sampling flag carries no context
  const out = emptyExtracted();
  if (!parseTraceId(parts[0], out) || !parseSpanId(parts[1], out) || !samplingState(parts[2], out)) return undefined;
  return out;
}

export function extractB3Multi<C>(carrier: C, get: HeaderGetter<C>): Extracted | undefined {
  const traceId = get(carrier, 'x-b3-traceid');
  const spanId = get(carrier, 'x-b3-spanid');
  if (traceId === undefined || spanId === undefined) return undefined;
  const out = emptyExtracted();
  if (!parseTraceId(traceId.trim(), out) || !parseSpanId(spanId.trim(), out)) return undefined;
  if (get(carrier, 'x-b3-flags') === '1') out.priority = 2;
  else if (!samplingState(get(carrier, 'x-b3-sampled'), out)) return undefined;
  return out;
}

function traceHex(src: InjectSource): string {
  return (src.t0 !== 0 || src.t1 !== 0 ? hex32(src.t0) + hex32(src.t1) : '') + hex32(src.t2) + hex32(src.t3);
}

export function injectB3Single<C>(src: InjectSource, carrier: C, set: HeaderSetter<C>): void {
  let v = traceHex(src) + '-' + hex32(src.spanHi) + hex32(src.spanLo);
  if (!Number.isNaN(src.priority)) v += src.priority > 0 ? '-1' : '-0';
  set(carrier, 'b3', v);
}

export function injectB3Multi<C>(src: InjectSource, carrier: C, set: HeaderSetter<C>): void {
  set(carrier, 'x-b3-traceid', traceHex(src));
  set(carrier, 'x-b3-spanid', hex32(src.spanHi) + hex32(src.spanLo));
  if (!Number.isNaN(src.priority)) set(carrier, 'x-b3-sampled', src.priority > 0 ? '1' : '0');
}

/**
 * Datadog headers: `x-datadog-trace-id`, `-parent-id` (decimal uint64), `-sampling-priority`, `-origin`, `-tags`.
 *
 * A parent read from these headers never gets W3C's random trace-id flag (`random` stays
 * false), so a traceparent we write for its trace does not claim it. dd-trace does draw its
 * 64-bit ids at random, but the headers do not say which tracer wrote them (a proxy, an old
 * tracer or a hand-made request may use any id), and level 2 lets the flag be set only when
 * the rightmost 7 bytes are known to be random. When a traceparent of the same trace came
 * too, its flag is the parent's word and is kept (Propagator.keepTracestate).
 */
import { dec64, hex32, parseDec64, parseHex32 } from '../ids';
import { emptyExtracted, type Extracted, type HeaderGetter, type HeaderSetter, type InjectSource } from './types';

const MAX_TAGS_LENGTH = 512;

export function extractDatadog<C>(carrier: C, get: HeaderGetter<C>): Extracted | undefined {
  const traceId = get(carrier, 'x-datadog-trace-id');
  if (traceId === undefined) return undefined;
  const parentId = get(carrier, 'x-datadog-parent-id');
  if (parentId === undefined) return undefined;
  const t = parseDec64(traceId);
  const p = parseDec64(parentId);
  if (t === undefined || p === undefined || (t[0] === 0 && t[1] === 0) || (p[0] === 0 && p[1] === 0)) return undefined;
  const out = emptyExtracted();
  out.t2 = t[0];
  out.t3 = t[1];
  out.spanHi = p[0];
  out.spanLo = p[1];
  const priority = get(carrier, 'x-datadog-sampling-priority');
  if (priority !== undefined && /^-?\d{1,3}$/.test(priority)) out.priority = Number(priority);
  const origin = get(carrier, 'x-datadog-origin');
  if (origin !== undefined && origin.length <= 256) out.origin = origin;
  const tags = get(carrier, 'x-datadog-tags');
  if (tags !== undefined && tags.length <= MAX_TAGS_LENGTH) readTags(tags, out);
  return out;
}

/** Reads `_dd.p.*` tags; `_dd.p.tid` gives the high 64 bits of the trace id. A malformed header is ignored whole. */
function readTags(tags: string, out: Extracted): void {
  let kept = '';
  let tidHi = 0;
  let tidLo = 0;
  for (const pair of tags.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return; // malformed: ignore all of them, as Datadog does
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (!key.startsWith('_dd.p.') || !/^_dd\.p\.[\x21-\x2b\x2d-\x39\x3c\x3e-\x7e]+$/.test(key) || !/^[\x21-\x2b\x2d-\x7e]+$/.test(value)) continue;
    if (key === '_dd.p.tid') {
      if (value.length !== 16) continue;
      const hi = parseHex32(value, 0);
      const lo = parseHex32(value, 8);
      if (hi < 0 || lo < 0 || value !== value.toLowerCase()) continue;
      tidHi = hi;
      tidLo = lo;
      continue;
    }
    kept += (kept ? ',' : '') + key + '=' + value;
  }
  out.t0 = tidHi;
  out.t1 = tidLo;
  out.ptags = kept;
}

export function injectDatadog<C>(src: InjectSource, carrier: C, set: HeaderSetter<C>): void {
  set(carrier, 'x-datadog-trace-id', dec64(src.t2, src.t3));
  set(carrier, 'x-datadog-parent-id', dec64(src.spanHi, src.spanLo));
  if (!Number.isNaN(src.priority)) set(carrier, 'x-datadog-sampling-priority', String(src.priority));
  if (src.origin) set(carrier, 'x-datadog-origin', src.origin);
  const tags = propagatedTags(src);
  if (tags) set(carrier, 'x-datadog-tags', tags);
}

/** `_dd.p.tid`, `_dd.p.dm` and the inherited `_dd.p.*` tags, within Datadog's length limit. */
function propagatedTags(src: InjectSource): string {
  let tags = '';
  if (src.t0 !== 0 || src.t1 !== 0) tags = '_dd.p.tid=' + hex32(src.t0) + hex32(src.t1);
  if (src.ptags) tags += (tags ? ',' : '') + src.ptags;
  if (src.mechanism >= 0 && src.priority > 0 && !src.ptags.includes('_dd.p.dm=')) tags += (tags ? ',' : '') + '_dd.p.dm=-' + src.mechanism;
  return tags.length <= MAX_TAGS_LENGTH ? tags : '';
}

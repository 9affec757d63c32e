/**
 * W3C Trace Context (`traceparent`, `tracestate`) and `baggage`. The Datadog member of
 * tracestate (`dd=s:<priority>;o:<origin>;t.<tag>:<value>;p:<parent id>`) is read and
 * rewritten; other vendors' members are passed on unchanged once validated (at most 32,
 * duplicates and invalid members dropped).
 */
import { hex32, parseHex32 } from '../ids';
import { emptyExtracted, type Extracted, type HeaderGetter, type HeaderSetter, type InjectSource } from './types';

const MAX_MEMBERS = 32;
const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

function isLowerHex(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

export function extractTraceparent<C>(carrier: C, get: HeaderGetter<C>): Extracted | undefined {
  let tp = get(carrier, 'traceparent');
  if (tp === undefined) return undefined;
  tp = tp.trim();
  // version-traceid-parentid-flags; future versions may append fields after a '-'.
  if (tp.length < 55 || tp.charCodeAt(2) !== 45 || tp.charCodeAt(35) !== 45 || tp.charCodeAt(52) !== 45) return undefined;
  if (!isLowerHex(tp, 0, 2) || !isLowerHex(tp, 3, 35) || !isLowerHex(tp, 36, 52) || !isLowerHex(tp, 53, 55)) return undefined;
  const version = tp.slice(0, 2);
  if (version === 'ff') return undefined;
  if (version === '00' ? tp.length !== 55 : tp.length > 55 && tp.charCodeAt(55) !== 45) return undefined;
  const out = emptyExtracted();
  out.t0 = parseHex32(tp, 3);
  out.t1 = parseHex32(tp, 11);
  out.t2 = parseHex32(tp, 19);
  out.t3 = parseHex32(tp, 27);
  out.spanHi = parseHex32(tp, 36);
  out.spanLo = parseHex32(tp, 44);
  if ((out.t0 | out.t1 | out.t2 | out.t3) === 0 || (out.spanHi | out.spanLo) === 0) return undefined;
  const sampled = (parseHex32(tp, 53, 2) & 1) === 1;
  out.priority = sampled ? 1 : 0;
  const ts = get(carrier, 'tracestate');
  if (ts !== undefined && ts.length <= 8192) {
    out.tracestate = ts;
    readDatadogMember(ts, out, sampled);
  }
  return out;
}

/** Reads `dd=` from tracestate: the priority when it agrees with the sampled flag, origin, `_dd.p.*` tags. */
function readDatadogMember(ts: string, out: Extracted, sampled: boolean): void {
  let start = ts.startsWith('dd=') ? 0 : ts.indexOf(',dd=') + 1;
  if (start <= 0 && !ts.startsWith('dd=')) {
    const spaced = ts.search(/,\s*dd=/);
    if (spaced < 0) return;
    start = ts.indexOf('dd=', spaced);
  }
  let end = ts.indexOf(',', start);
  if (end < 0) end = ts.length;
  const member = ts.slice(start + 3, end);
  let ptags = '';
  for (const field of member.split(';')) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const k = field.slice(0, colon);
    const v = field.slice(colon + 1);
    if (k === 's' && /^-?\d+$/.test(v)) {
      const p = Number(v);
      // The flag wins when the two disagree (W3C spec): adjust priority to match.
      out.priority = sampled === p > 0 ? p : sampled ? 1 : 0;
    } else if (k === 'o') {
      out.origin = v.replace(/~/g, '=');
    } else if (k.startsWith('t.') && k.length > 2) {
      ptags += (ptags ? ',' : '') + '_dd.p.' + k.slice(2) + '=' + v.replace(/~/g, '=');
    }
  }
  out.ptags = ptags;
}

/** Other vendors' valid members, deduplicated, in order, at most 31 (room for ours). */
export function filterTracestate(ts: string, max = MAX_MEMBERS - 1): string {
  if (!ts) return '';
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const raw of ts.split(',')) {
    const member = raw.trim();
    if (!member) continue;
    const eq = member.indexOf('=');
    if (eq <= 0) continue;
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (key === 'dd' || !KEY.test(key) || !VALUE.test(value) || seen.has(key)) continue;
    seen.add(key);
    kept.push(member);
    if (kept.length === max) break;
  }
  return kept.join(',');
}

function ddMember(src: InjectSource, spanHex: string): string {
  let m = 'dd=p:' + spanHex;
  if (!Number.isNaN(src.priority)) m += ';s:' + src.priority;
  if (src.origin) m += ';o:' + src.origin.replace(/[,;=~\s]/g, (c) => (c === '=' ? '~' : '_'));
  if (src.mechanism >= 0 && src.priority > 0 && !src.ptags.includes('_dd.p.dm=')) m += ';t.dm:-' + src.mechanism;
  if (src.ptags) {
    for (const pair of src.ptags.split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 6) m += ';t.' + pair.slice(6, eq) + ':' + pair.slice(eq + 1).replace(/=/g, '~').replace(/[,;\s]/g, '_');
    }
  }
  return m.length <= 256 ? m : 'dd=p:' + spanHex + (Number.isNaN(src.priority) ? '' : ';s:' + src.priority);
}

export function injectTraceparent<C>(src: InjectSource, carrier: C, set: HeaderSetter<C>): void {
  const spanHex = hex32(src.spanHi) + hex32(src.spanLo);
  set(carrier, 'traceparent', '00-' + hex32(src.t0) + hex32(src.t1) + hex32(src.t2) + hex32(src.t3) + '-' + spanHex + (src.priority > 0 ? '-01' : '-00'));
  const others = filterTracestate(src.tracestate);
  const dd = ddMember(src, spanHex);
  set(carrier, 'tracestate', others ? dd + ',' + others : dd);
}

export function extractBaggage<C>(carrier: C, get: HeaderGetter<C>): string {
  const b = get(carrier, 'baggage');
  return b !== undefined && b.length <= 8192 ? b : '';
}

export function injectBaggage<C>(src: InjectSource, carrier: C, set: HeaderSetter<C>): void {
  if (src.baggage) set(carrier, 'baggage', src.baggage);
}

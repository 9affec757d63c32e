/**
 * W3C Trace Context (`traceparent`, `tracestate`) and `baggage`.
 *
 * traceparent: the sampled flag (0x01) and the random trace-id flag (0x02) are read and
 * written; other flag bits are dropped. The random flag of a parent is passed on as it came.
 *
 * tracestate: the Datadog member (`dd=s:<priority>;o:<origin>;t.<tag>:<value>;p:<parent id>`)
 * is read and rewritten; other vendors' members are passed on unchanged once validated (at
 * most 32, duplicates and invalid members dropped).
 */
import { hex32 } from '../ids';
import { emptyExtracted, type Extracted, type HeaderGetter, type HeaderSetter, type InjectSource } from './types';

const MAX_MEMBERS = 32;
/** A propagated tag's key (after `_dd.p.` / `t.`) and value: printable ASCII, no separators. */
const TAG_KEY = /^[\x21-\x2b\x2d-\x39\x3c\x3e-\x7e]+$/;
const TAG_VALUE = /^[\x21-\x2b\x2d-\x7e]+$/;
const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
/** Outgoing flags: sampled (0x01) | random (0x02). */
const FLAGS = ['-00', '-01', '-02', '-03'];

/** 8 lowercase hex chars at `at` as a uint32; -1 if any is not lowercase hex. */
function lowerHex32(s: string, at: number, len = 8): number {
  let n = 0;
  for (let i = at; i < at + len; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else return -1;
    n = n * 16 + d;
  }
  return n;
}

export function extractTraceparent<C>(carrier: C, get: HeaderGetter<C>): Extracted | undefined {
  let tp = get(carrier, 'traceparent');
  if (tp === undefined) return undefined;
  if (tp.length !== 55) tp = tp.trim();
  // version-traceid-parentid-flags; future versions may append fields after a '-'.
  if (tp.length < 55 || tp.charCodeAt(2) !== 45 || tp.charCodeAt(35) !== 45 || tp.charCodeAt(52) !== 45) return undefined;
  const version = lowerHex32(tp, 0, 2);
  if (version < 0 || version === 0xff) return undefined;
  if (version === 0 ? tp.length !== 55 : tp.length > 55 && tp.charCodeAt(55) !== 45) return undefined;
  const t0 = lowerHex32(tp, 3);
  const t1 = lowerHex32(tp, 11);
  const t2 = lowerHex32(tp, 19);
  const t3 = lowerHex32(tp, 27);
  const spanHi = lowerHex32(tp, 36);
  const spanLo = lowerHex32(tp, 44);
  const flags = lowerHex32(tp, 53, 2);
  if (t0 < 0 || t1 < 0 || t2 < 0 || t3 < 0 || spanHi < 0 || spanLo < 0 || flags < 0) return undefined;
  if ((t0 | t1 | t2 | t3) === 0 || (spanHi | spanLo) === 0) return undefined;
  const out = emptyExtracted();
  out.t0 = t0;
  out.t1 = t1;
  out.t2 = t2;
  out.t3 = t3;
  out.spanHi = spanHi;
  out.spanLo = spanLo;
  const sampled = (flags & 1) === 1;
  out.priority = sampled ? 1 : 0;
  out.random = (flags & 2) === 2;
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
    } else if (k.startsWith('t.') && k !== 't.tid' && TAG_KEY.test(k.slice(2)) && TAG_VALUE.test(v)) {
      // t.tid is not a tag here: the whole trace id is in traceparent.
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
  // Only printable ASCII other than `,` `;` `=` `~` may stand in a tracestate value.
  if (src.origin) m += ';o:' + src.origin.replace(/[^\x21-\x2b\x2d-\x3a\x3c\x3e-\x7d]/g, (c) => (c === '=' ? '~' : '_'));
  if (src.mechanism >= 0 && src.priority > 0 && !src.ptags.includes('_dd.p.dm=')) m += ';t.dm:-' + src.mechanism;
  if (src.ptags) {
    for (const pair of src.ptags.split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 6 && TAG_KEY.test(pair.slice(6, eq))) m += ';t.' + pair.slice(6, eq) + ':' + pair.slice(eq + 1).replace(/=/g, '~').replace(/[^\x21-\x2b\x2d-\x3a\x3c-\x7e]/g, '_');
    }
  }
  return m.length <= 256 ? m : 'dd=p:' + spanHex + (Number.isNaN(src.priority) ? '' : ';s:' + src.priority);
}

export function injectTraceparent<C>(src: InjectSource, carrier: C, set: HeaderSetter<C>): void {
  const spanHex = hex32(src.spanHi) + hex32(src.spanLo);
  set(carrier, 'traceparent', '00-' + hex32(src.t0) + hex32(src.t1) + hex32(src.t2) + hex32(src.t3) + '-' + spanHex + FLAGS[(src.priority > 0 ? 1 : 0) | (src.random ? 2 : 0)]);
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

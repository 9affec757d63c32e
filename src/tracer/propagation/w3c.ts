/**
 * W3C Trace Context level 2 (`traceparent`, `tracestate`) and `baggage`.
 *
 * traceparent: the sampled flag (0x01) and the random trace-id flag (0x02) are read and
 * written; other flag bits are dropped. The random flag of a parent is passed on as it came.
 *
 * tracestate is held to level 2 at its strictest (what the conformance suite checks at
 * STRICT_LEVEL=2): a header with any invalid member (bad key, key over 256 chars, bad value,
 * a member without `=`), or with more than 32 members, is discarded whole, our own `dd`
 * member included. Empty members (`a=1,,b=2`, or what joining an empty header leaves) are
 * allowed and do not count as members. Of a duplicated key the leftmost member is kept. The
 * Datadog member (`dd=s:<priority>;o:<origin>;t.<tag>:<value>;p:<parent id>`) is read and
 * rewritten, first in the list; other vendors' members are passed on unchanged, in order,
 * the right-most dropped when ours would make 33. A header over 8192 chars is not read.
 */
import { hex32 } from '../ids';
import { emptyExtracted, type Extracted, type HeaderGetter, type HeaderSetter, type InjectSource } from './types';

const MAX_MEMBERS = 32;
const MAX_KEY = 256;
const MAX_VALUE = 256;
/** Longest tracestate read (a longer one is discarded, like an invalid one). */
const MAX_TRACESTATE = 8192;
/** A propagated tag's key (after `_dd.p.` / `t.`) and value: printable ASCII, no separators. */
const TAG_KEY = /^[\x21-\x2b\x2d-\x39\x3c\x3e-\x7e]+$/;
const TAG_VALUE = /^[\x21-\x2b\x2d-\x7e]+$/;
const PRIORITY = /^-?\d+$/;
const TILDES = /~/g;
/** Outgoing flags: sampled (0x01) | random (0x02). */
const FLAGS = ['-00', '-01', '-02', '-03'];

/**
 * Characters of a tracestate key after its first: `a-z 0-9 _ - * / @` (level 2; the first is
 * `a-z` or `0-9`). 1 = allowed, 2 = also allowed first.
 */
const KEY_CHAR = new Uint8Array(128);
for (let c = 97; c <= 122; c++) KEY_CHAR[c] = 2;
for (let c = 48; c <= 57; c++) KEY_CHAR[c] = 2;
for (const c of '_-*/@') KEY_CHAR[c.charCodeAt(0)] = 1;

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
  if (ts !== undefined) {
    const others = scanTracestate(ts);
    if (others !== undefined) {
      out.tracestate = others;
      if (ddFrom >= 0) readDatadogMember(ts.slice(ddFrom, ddTo), out, sampled);
    }
  }
  return out;
}

/** Reads the value of our `dd` member: the priority when it agrees with the sampled flag, origin, `_dd.p.*` tags. */
function readDatadogMember(member: string, out: Extracted, sampled: boolean): void {
  let ptags = '';
  for (const field of member.split(';')) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const k = field.slice(0, colon);
    const v = field.slice(colon + 1);
    if (k === 's' && PRIORITY.test(v)) {
      const p = Number(v);
      // The flag wins when the two disagree (W3C spec): adjust priority to match.
      out.priority = sampled === p > 0 ? p : sampled ? 1 : 0;
    } else if (k === 'o') {
      out.origin = v.replace(TILDES, '=');
    } else if (k.startsWith('t.') && k !== 't.tid' && TAG_KEY.test(k.slice(2)) && TAG_VALUE.test(v)) {
      // t.tid is not a tag here: the whole trace id is in traceparent.
      ptags += (ptags ? ',' : '') + '_dd.p.' + k.slice(2) + '=' + v.replace(TILDES, '=');
    }
  }
  out.ptags = ptags;
}

/** Where the value of the first `dd` member was in the header `scanTracestate` last read; -1: none. */
let ddFrom = -1;
let ddTo = -1;
/** Start and end of each kept member's key in the header being scanned (the scan is synchronous). */
const keyAt = new Int32Array(2 * (MAX_MEMBERS - 1));

/** SP or HTAB, the optional whitespace around tracestate members. */
function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

/** Whether the key at [s, eq) of `ts` is one of the first `n` kept. */
function keptBefore(ts: string, s: number, eq: number, n: number): boolean {
  const len = eq - s;
  for (let k = 0; k < n; k++) {
    const ks = keyAt[2 * k];
    if (keyAt[2 * k + 1] - ks !== len) continue;
    let i = 0;
    while (i < len && ts.charCodeAt(ks + i) === ts.charCodeAt(s + i)) i++;
    if (i === len) return true;
  }
  return false;
}

/**
 * Reads a received tracestate as a whole: the other vendors' members to pass on, trimmed of
 * whitespace and joined by `,` (see the top of this file for the rules), or undefined when
 * the header is invalid. Leaves the place of the first `dd` member's value in ddFrom/ddTo.
 * One pass, no regular expression; members that follow each other in the header are cut
 * out as one piece, so a header that needs no change is passed on as the same string.
 */
function scanTracestate(ts: string): string | undefined {
  ddFrom = ddTo = -1;
  const len = ts.length;
  if (len > MAX_TRACESTATE) return undefined;
  let kept = '';
  let keptCount = 0;
  /** The piece of `ts` not yet added to `kept`: [from, to), -1 when none. */
  let from = -1;
  let to = -1;
  let members = 0;
  for (let at = 0; at <= len; ) {
    let end = ts.indexOf(',', at);
    if (end < 0) end = len;
    let s = at;
    let e = end;
    at = end + 1;
    while (s < e && isOws(ts.charCodeAt(s))) s++;
    while (e > s && isOws(ts.charCodeAt(e - 1))) e--;
    if (s === e) continue;
    if (++members > MAX_MEMBERS) return undefined;
    // key: [a-z0-9] then [a-z0-9_\-*/@], 256 chars in all, up to the first '='.
    const first = ts.charCodeAt(s);
    if (first >= 128 || KEY_CHAR[first] !== 2) return undefined;
    let eq = s + 1;
    for (; eq < e; eq++) {
      const c = ts.charCodeAt(eq);
      if (c === 61) break;
      if (c >= 128 || KEY_CHAR[c] === 0) return undefined;
    }
    if (eq === e || eq - s > MAX_KEY) return undefined;
    // value: 1 to 256 printable ASCII chars but ',' and '='; the last is not a space (trimmed above).
    if (e - eq - 1 < 1 || e - eq - 1 > MAX_VALUE) return undefined;
    for (let i = eq + 1; i < e; i++) {
      const c = ts.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 61) return undefined;
    }
    if (eq - s === 2 && first === 100 && ts.charCodeAt(s + 1) === 100) {
      // Ours: read once the whole header is known to be valid, replaced when written.
      if (ddFrom < 0) {
        ddFrom = eq + 1;
        ddTo = e;
      }
      continue;
    }
    // The rest must still be valid, but has no room; of a duplicated key the first is kept.
    if (keptCount === MAX_MEMBERS - 1 || keptBefore(ts, s, eq, keptCount)) continue;
    keyAt[2 * keptCount] = s;
    keyAt[2 * keptCount + 1] = eq;
    keptCount++;
    if (from >= 0 && s === to + 1) {
      to = e;
    } else {
      if (from >= 0) kept = kept === '' ? ts.slice(from, to) : kept + ',' + ts.slice(from, to);
      from = s;
      to = e;
    }
  }
  if (from >= 0) kept = kept === '' ? ts.slice(from, to) : kept + ',' + ts.slice(from, to);
  return kept;
}

/**
 * A tracestate as it is passed on after our own member: other vendors' members, in order, at
 * most 31; '' when the header is invalid (the rules at the top of this file).
 */
export function filterTracestate(ts: string): string {
  return scanTracestate(ts) ?? '';
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
  // src.tracestate was read with filterTracestate: valid, without a dd member, room for ours.
  const dd = ddMember(src, spanHex);
  set(carrier, 'tracestate', src.tracestate ? dd + ',' + src.tracestate : dd);
}

export function extractBaggage<C>(carrier: C, get: HeaderGetter<C>): string {
  const b = get(carrier, 'baggage');
  return b !== undefined && b.length <= 8192 ? b : '';
}

export function injectBaggage<C>(src: InjectSource, carrier: C, set: HeaderSetter<C>): void {
  if (src.baggage) set(carrier, 'baggage', src.baggage);
}

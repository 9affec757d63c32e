/**
 * Ids are kept as 32-bit halves (numbers), never as BigInt or hex on the hot path: a span id
 * is (hi, lo), a 128-bit trace id is (t0, t1, t2, t3), most significant first. Hex and
 * decimal forms are made only when something asks for them.
 *
 * Spans and traces hold each half as a signed int32 (`x | 0`): V8 keeps those as small
 * integers inside the object, while a uint32 past 2^31 needs a heap number of its own (and
 * once one such value is stored, every later object of that shape boxes that field). So a
 * half read from a span may be negative: `>>> 0` gives its unsigned value; `hex32`, `dec64`
 * and the encoders' writers take either form. Parsers return unsigned halves (-1: invalid).
 */
import type * as Crypto from 'node:crypto';

const POOL = new Int32Array(4096);
let pos = POOL.length;
/** `node:crypto`, loaded with the first ids drawn, not by the preload (a fifth of its start-up work). */
let randomFillSync: typeof Crypto.randomFillSync | null = null;

/** 32 random bits as an int32, from a pre-filled pool (one crypto call per 4096 draws). */
export function rand32(): number {
  if (pos === POOL.length) {
    (randomFillSync ??= (require('node:crypto') as typeof Crypto).randomFillSync)(POOL);
    pos = 0;
  }
  return POOL[pos++];
}

/** A random non-zero 63-bit id's high half (top bit clear, so every tracer reads it as positive). */
export function rand31(): number {
  return rand32() & 0x7fffffff;
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? '0' : '') + i.toString(16));

/** 8 lowercase hex chars. */
export function hex32(n: number): string {
  return HEX[(n >>> 24) & 0xff] + HEX[(n >>> 16) & 0xff] + HEX[(n >>> 8) & 0xff] + HEX[n & 0xff];
}

/** Decimal string of the uint64 hi*2^32+lo (halves signed or unsigned). */
export function dec64(hi: number, lo: number): string {
  hi >>>= 0;
  lo >>>= 0;
  if (hi < 0x200000) return String(hi * 4294967296 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/**
 * Parses `len` hex chars of `s` at `start` into a uint32; -1 if any char is not hex.
 * Accepts upper case too; callers that need lower case only check separately.
 */
export function parseHex32(s: string, start: number, len = 8): number {
  let n = 0;
  for (let i = start; i < start + len; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    n = n * 16 + d;
  }
  return n;
}

/** Parses a decimal uint64 into [hi, lo]; undefined if not a decimal in range. */
export function parseDec64(s: string): [number, number] | undefined {
  const len = s.length;
  if (len === 0 || len > 20) return undefined;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  if (len <= 15) {
    const n = Number(s);
    return [Math.floor(n / 4294967296), n >>> 0];
  }
  const b = BigInt(s);
  if (b > 0xffffffffffffffffn) return undefined;
  return [Number(b >> 32n), Number(b & 0xffffffffn)];
}

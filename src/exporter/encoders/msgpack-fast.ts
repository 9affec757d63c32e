/**
 * Position-passing msgpack writes for the per-span encoder: each takes the buffer and offset
 * and returns the next offset, so a whole span is written with locals and no property
 * traffic. The caller guarantees room (see `spanBound`); none of these grow the buffer.
 */
export interface Utf8Buffer extends Buffer {
  utf8Write(s: string, offset: number, length?: number): number;
}

/** A string; short ASCII by hand, the rest with the native UTF-8 writer. */
export function wstr(buf: Utf8Buffer, p: number, s: string): number {
  const len = s.length;
  if (len < 32) {
    let q = p + 1;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return wstrNative(buf, p, s);
      buf[q++] = c;
    }
    buf[p] = 0xa0 | len;
    return q;
  }
  return wstrNative(buf, p, s);
}

function wstrNative(buf: Utf8Buffer, p: number, s: string): number {
  const max = s.length * 3;
  if (max < 32) {
    const n = buf.utf8Write(s, p + 1);
    buf[p] = 0xa0 | n;
    return p + 1 + n;
  }
  if (max < 256) {
    const n = buf.utf8Write(s, p + 2);
    buf[p] = 0xd9;
    buf[p + 1] = n;
    return p + 2 + n;
  }
  if (max < 65536) {
    const n = buf.utf8Write(s, p + 3);
    buf[p] = 0xda;
    buf[p + 1] = n >>> 8;
    buf[p + 2] = n & 0xff;
    return p + 3 + n;
  }
  const n = buf.utf8Write(s, p + 5);
  buf[p] = 0xdb;
  buf.writeUInt32BE(n, p + 1);
  return p + 5 + n;
}

/** An unsigned integer in its smallest msgpack form. */
export function wuint(buf: Utf8Buffer, p: number, n: number): number {
  if (n < 128) {
    buf[p] = n;
    return p + 1;
  }
  if (n < 256) {
    buf[p] = 0xcc;
    buf[p + 1] = n;
    return p + 2;
  }
  if (n < 65536) {
    buf[p] = 0xcd;
    buf[p + 1] = n >>> 8;
    buf[p + 2] = n & 0xff;
    return p + 3;
  }
  buf[p] = 0xce;
  buf[p + 1] = n >>> 24;
  buf[p + 2] = (n >>> 16) & 0xff;
  buf[p + 3] = (n >>> 8) & 0xff;
  buf[p + 4] = n & 0xff;
  return p + 5;
}

/** Pre-encoded bytes. */
export function wraw(buf: Utf8Buffer, p: number, bytes: Uint8Array): number {
  const n = bytes.length;
  if (n > 64) {
    buf.set(bytes, p);
    return p + n;
  }
  for (let i = 0; i < n; i++) buf[p++] = bytes[i];
  return p;
}

function w32(buf: Utf8Buffer, p: number, n: number): void {
  buf[p] = n >>> 24;
  buf[p + 1] = (n >>> 16) & 0xff;
  buf[p + 2] = (n >>> 8) & 0xff;
  buf[p + 3] = n & 0xff;
}

/** uint64 from uint32 halves, 9-byte form. */
export function wu64(buf: Utf8Buffer, p: number, hi: number, lo: number): number {
  buf[p] = 0xcf;
  w32(buf, p + 1, hi);
  w32(buf, p + 5, lo);
  return p + 9;
}

/** int64 from a non-negative integral double, 9-byte form. */
export function wi64(buf: Utf8Buffer, p: number, n: number): number {
  const hi = Math.floor(n / 4294967296);
  buf[p] = 0xd3;
  w32(buf, p + 1, hi >>> 0);
  w32(buf, p + 5, (n - hi * 4294967296) >>> 0);
  return p + 9;
}

/** int32, 5-byte form. */
export function wi32(buf: Utf8Buffer, p: number, n: number): number {
  buf[p] = 0xd2;
  w32(buf, p + 1, n | 0);
  return p + 5;
}

const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** float64, big-endian. */
export function wf64(buf: Utf8Buffer, p: number, n: number): number {
  F64[0] = n;
  buf[p] = 0xcb;
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < 8; i++) buf[p + 1 + i] = F64_BYTES[7 - i];
  } else {
    for (let i = 0; i < 8; i++) buf[p + 1 + i] = F64_BYTES[i];
  }
  return p + 9;
}

/** The largest encoding of a string of this length (header included). */
export function strBound(s: string): number {
  return s.length * 3 + 5;
}

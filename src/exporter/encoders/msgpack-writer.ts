/**
 * A msgpack writer into one growing Buffer, for the shapes Datadog payloads need. Headers are
 * sometimes wider than minimal (a 20-byte string as str8, every span map as map16); msgpack
 * allows that and every decoder reads it, and it lets each value be written in one pass.
 */
interface Utf8Buffer extends Buffer {
  utf8Write(s: string, offset: number, length?: number): number;
}

const EMPTY = Buffer.alloc(0);

export class MsgpackWriter {
  buf: Utf8Buffer;
  pos = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial) as Utf8Buffer;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size) as Utf8Buffer;
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Hands over the bytes written and starts a fresh buffer (from `pool` when given). */
  take(nextSize = 64 * 1024, pool?: { take(size: number): Buffer }): Buffer {
    const out = this.pos === 0 ? EMPTY : this.buf.subarray(0, this.pos);
    this.buf = (pool !== undefined ? pool.take(nextSize) : Buffer.allocUnsafe(nextSize)) as Utf8Buffer;
    this.pos = 0;
    return out;
  }

  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    if (n < 48) {
      // A JS copy beats the native call for the short keys written per span.
      for (let i = 0; i < n; i++) buf[p++] = bytes[i];
    } else {
      buf.set(bytes, p);
      p += n;
    }
    this.pos = p;
  }

  str(s: string): void {
    const len = s.length;
    if (len < 32) {
      // Short ASCII strings (most keys and values) are written by hand: a native UTF-8
      // write costs more than the copy itself at this size.
      this.ensure(len + 1);
      const buf = this.buf;
      const start = this.pos;
      let p = start + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[p++] = c;
      }
      if (i === len) {
        buf[start] = 0xa0 | len;
        this.pos = p;
        return;
      }
    }
    const max = len * 3;
    this.ensure(max + 5);
    const buf = this.buf;
    const p = this.pos;
    if (max < 32) {
      const n = buf.utf8Write(s, p + 1);
      buf[p] = 0xa0 | n;
      this.pos = p + 1 + n;
    } else if (max < 256) {
      const n = buf.utf8Write(s, p + 2);
      buf[p] = 0xd9;
      buf[p + 1] = n;
      this.pos = p + 2 + n;
    } else if (max < 65536) {
      const n = buf.utf8Write(s, p + 3);
      buf[p] = 0xda;
      buf.writeUInt16BE(n, p + 1);
      this.pos = p + 3 + n;
    } else {
      const n = buf.utf8Write(s, p + 5);
      buf[p] = 0xdb;
      buf.writeUInt32BE(n, p + 1);
      this.pos = p + 5 + n;
    }
  }

  bin(bytes: Uint8Array): void {
    this.ensure(bytes.length + 5);
    this.buf[this.pos] = 0xc6;
    this.buf.writeUInt32BE(bytes.length, this.pos + 1);
    this.buf.set(bytes, this.pos + 5);
    this.pos += 5 + bytes.length;
  }

  /** uint64 from two uint32 halves, always in the 9-byte form. */
  u64(hi: number, lo: number): void {
    this.ensure(9);
    const buf = this.buf;
    buf[this.pos] = 0xcf;
    buf.writeUInt32BE(hi >>> 0, this.pos + 1);
    buf.writeUInt32BE(lo >>> 0, this.pos + 5);
    this.pos += 9;
  }

  /** int64 from a non-negative integral double (times in ns fit within 2^63). */
  i64(n: number): void {
    this.ensure(9);
    const buf = this.buf;
    const hi = Math.floor(n / 4294967296);
    buf[this.pos] = 0xd3;
    buf.writeUInt32BE(hi >>> 0, this.pos + 1);
    buf.writeUInt32BE((n - hi * 4294967296) >>> 0, this.pos + 5);
    this.pos += 9;
  }

  /** int32, always in the 5-byte form. */
  i32(n: number): void {
    this.ensure(5);
    this.buf[this.pos] = 0xd2;
    this.buf.writeInt32BE(n, this.pos + 1);
    this.pos += 5;
  }

  f64(n: number): void {
    this.ensure(9);
    this.buf[this.pos] = 0xcb;
    this.buf.writeDoubleBE(n, this.pos + 1);
    this.pos += 9;
  }

  /** A fixmap header (n < 16). */
  fixmap(n: number): void {
    this.ensure(1);
    this.buf[this.pos++] = 0x80 | n;
  }

  /** A map16 header whose count is written later with `patch16`; returns its offset. */
  map16(): number {
    this.ensure(3);
    const at = this.pos;
    this.buf[at] = 0xde;
    this.pos += 3;
    return at;
  }

  /** A map32 header whose count is written later with `patch32`; returns its offset. */
  map32(): number {
    this.ensure(5);
    const at = this.pos;
    this.buf[at] = 0xdf;
    this.pos += 5;
    return at;
  }

  /** The header of an array of `n` elements, in its shortest form. */
  array(n: number): void {
    if (n < 16) {
      this.ensure(1);
      this.buf[this.pos++] = 0x90 | n;
    } else if (n < 65536) {
      this.patch16(this.array16(), n);
    } else {
      this.patch32(this.array32(), n);
    }
  }

  /** An array16 header whose count is written later; returns its offset. */
  array16(): number {
    this.ensure(3);
    const at = this.pos;
    this.buf[at] = 0xdc;
    this.pos += 3;
    return at;
  }

  /** An array32 header whose count is written later; returns its offset. */
  array32(): number {
    this.ensure(5);
    const at = this.pos;
    this.buf[at] = 0xdd;
    this.pos += 5;
    return at;
  }

  patch16(at: number, n: number): void {
    this.buf.writeUInt16BE(n, at + 1);
  }

  patch32(at: number, n: number): void {
    this.buf.writeUInt32BE(n, at + 1);
  }
}

/** The msgpack bytes of a string, for keys written many times. */
export function encodedString(s: string): Buffer {
  const w = new MsgpackWriter(s.length * 3 + 8);
  w.str(s);
  return Buffer.from(w.take(16));
}

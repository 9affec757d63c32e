/**
 * Protocol Buffers wire format by hand: a writer for the OTLP encoder (no protobufjs at run
 * time) and a small reader for splitting payloads and for the dev agent's decoder.
 *
 * Length-delimited fields whose size is not known up front reserve five bytes for the length,
 * and once the field is written the length is put in its minimal varint and the bytes moved
 * down, so what comes out is canonical protobuf.
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO_32 = 4294967296;

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A non-negative integer below 2^53 as a varint. */
  varint(n: number): void {
    this.ensure(10);
    const buf = this.buf;
    let p = this.pos;
    while (n >= 0x80) {
      buf[p++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[p++] = n;
    this.pos = p;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** int64 field value: negative numbers as 10-byte two's complement. */
  int64(n: number): void {
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) {
      this.varint(n);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(Math.trunc(n)));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  fixed32(n: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(n >>> 0, this.pos);
    this.pos += 4;
  }

  /** A fixed64 from two 32-bit halves. */
  fixed64(hi: number, lo: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(lo >>> 0, this.pos);
    this.buf.writeUInt32LE(hi >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(n: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(field: number, s: string): void {
    this.tag(field, WIRE_LEN);
    const max = s.length * 3;
    if (max < 128) {
      this.ensure(1 + max);
      const n = this.buf.write(s, this.pos + 1, 'utf8');
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Starts a length-delimited field; returns the mark for `end`. */
  begin(field: number): number {
    this.tag(field, WIRE_LEN);
    this.ensure(5);
    const mark = this.pos;
    this.pos += 5;
    return mark;
  }

  /** Ends the field begun at `mark`: minimal length varint, body moved down. */
  end(mark: number): void {
    const start = mark + 5;
    const len = this.pos - start;
    const size = varintSize(len);
    let p = mark;
    let n = len;
    while (n >= 0x80) {
      this.buf[p++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[p++] = n;
    if (size < 5) {
      this.buf.copyWithin(mark + size, start, this.pos);
      this.pos -= 5 - size;
    }
  }

  /** The bytes written, and a fresh buffer. */
  take(nextSize = 64 * 1024): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(nextSize);
    this.pos = 0;
    return out;
  }
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Encodes a length-delimited field header + body into one buffer. */
export function lenField(field: number, body: Uint8Array): Buffer {
  const w = new ProtoWriter(body.length + 16);
  w.bytes(field, body);
  return w.take(16);
}

/** Nanoseconds since the epoch of an epoch-ms time with a fraction, as exact 32-bit halves. */
export function epochMsToNanos(ms: number): [hi: number, lo: number] {
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  const hiMs = Math.floor(whole / TWO_32);
  const low = (whole - hiMs * TWO_32) * 1e6 + frac;
  const carry = Math.floor(low / TWO_32);
  return [hiMs * 1e6 + carry, low - carry * TWO_32];
}

// ---------------------------------------------------------------- reading

export class ProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}

export interface Field {
  no: number;
  wire: number;
  /** varint value (bigint), or for LEN the body, for I64/I32 the raw bytes. */
  varint: bigint;
  data: Buffer;
}

export function readVarint(buf: Uint8Array, pos: number, end: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new ProtoError('truncated varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [BigInt.asUintN(64, result), pos];
    shift += 7n;
  }
  throw new ProtoError('varint longer than 10 bytes');
}

/** The fields of one message, in order. Throws ProtoError on malformed input. */
export function readFields(buf: Buffer, start = 0, end = buf.length): Field[] {
  const out: Field[] = [];
  let pos = start;
  while (pos < end) {
    const [key, p] = readVarint(buf, pos, end);
    pos = p;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (no === 0) throw new ProtoError('field number 0');
    if (wire === WIRE_VARINT) {
      const [v, q] = readVarint(buf, pos, end);
      out.push({ no, wire, varint: v, data: buf.subarray(pos, q) });
      pos = q;
    } else if (wire === WIRE_I64) {
      if (pos + 8 > end) throw new ProtoError(`field ${no}: truncated fixed64`);
      out.push({ no, wire, varint: 0n, data: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wire === WIRE_I32) {
      if (pos + 4 > end) throw new ProtoError(`field ${no}: truncated fixed32`);
      out.push({ no, wire, varint: 0n, data: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else if (wire === WIRE_LEN) {
      const [len, q] = readVarint(buf, pos, end);
      const n = Number(len);
      if (q + n > end) throw new ProtoError(`field ${no}: length ${n} runs past the end`);
      out.push({ no, wire, varint: len, data: buf.subarray(q, q + n) });
      pos = q + n;
    } else {
      throw new ProtoError(`field ${no}: unsupported wire type ${wire}`);
    }
  }
  return out;
}

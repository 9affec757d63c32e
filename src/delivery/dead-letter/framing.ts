/**
 * Dead-letter records. Each record is a 32-byte header and the payload as it would have been
 * sent:
 *
 *   0  'TWDL' magic             16 traces        u32 LE
 *   4  version (1)              20 written at    f64 LE, epoch ms
 *   5  state: 0 pending,        28 CRC-32 of bytes 4, 6..27 and the body
 *      1 done (sent, moved)
 *   6  kind: 1 Datadog msgpack (v0.4 or v0.5, told from the body), 2 OTLP protobuf,
 *      3 profile upload, 4 probe snapshots, 5 probe statuses
 *   7  flags: bit 0 = body is raw-deflated
 *   8  body length  u32 LE (as stored)
 *   12 items        u32 LE (spans, profiles, snapshots or statuses)
 *
 * During an outage, bodies of 4 KiB and more are stored raw-deflated at level 1: trace
 * payloads shrink 10-13x, so an outage of many minutes fits under the folder's size limit.
 * Deflating costs 5-8 ms per MiB (about 2 µs a span), so a payload spilled because a burst
 * outran a healthy agent, and replayed seconds later, is stored as is until the folder holds
 * an eighth of its limit (the caller decides). Readers get the body as it was sent either way.
 *
 * The state byte is outside the CRC so a replayed record is marked done by rewriting that
 * one byte in place. A record cut short by a crash (a torn tail) or damaged in the middle
 * fails its length or CRC check: it is skipped, the scan resynchronises on the next magic,
 * and every record before it is kept.
 */
import type * as Zlib from 'node:zlib';

/** `node:zlib`, loaded with the first record written or read (start-up time: most processes never write one). */
let zlib: typeof Zlib | null = null;
const z = (): typeof Zlib => (zlib ??= require('node:zlib') as typeof Zlib);

const HEADER_BYTES = 32;
const MAGIC = 0x4c445754; // 'TWDL' read as u32 LE
const VERSION = 1;
export const STATE_PENDING = 0;
export const STATE_DONE = 1;
export const STATE_OFFSET = 5;
/** Larger than any payload we write; a length above it is damage. */
const MAX_BODY = 256 * 1024 * 1024;

export const KIND_DATADOG = 1;
export const KIND_OTLP = 2;
/** A profile upload: its content type (the multipart boundary), a newline, the multipart body. */
export const KIND_PROFILE = 3;
/** Probe snapshots and probe logs: a JSON array, as sent to the debugger intake. */
export const KIND_SNAPSHOTS = 4;
/** Probe statuses: content type, a newline, the multipart body sent to the diagnostics endpoint. */
export const KIND_STATUSES = 5;
export type RecordKind = typeof KIND_DATADOG | typeof KIND_OTLP | typeof KIND_PROFILE | typeof KIND_SNAPSHOTS | typeof KIND_STATUSES;

interface RecordMeta {
  kind: number;
  /** Items the payload carries: spans, profiles, snapshots or statuses. */
  items: number;
  traces: number;
  time: number;
}

export interface ScannedRecord extends RecordMeta {
  /** Offset of the record's header in the file. */
  offset: number;
  state: number;
  /** The payload as it was (and will be) sent. */
  body: Buffer;
  /** Bytes the record takes in the file, header included. */
  storedBytes: number;
}

const FLAG_DEFLATED = 1;
const DEFLATE_FROM = 4096;

interface ScanResult {
  records: ScannedRecord[];
  /** Damaged or torn records skipped. */
  skipped: number;
  /** Bytes after the last good record that belong to no record (a torn tail). */
  tornTail: boolean;
}

function checksum(header: Uint8Array, body: Uint8Array): number {
  const { crc32 } = z();
  let c = crc32(header.subarray(4, 5));
  c = crc32(header.subarray(6, 28), c);
  return crc32(body, c);
}

/** One record, header and body, ready to append in one write. */
export function encodeRecord(payload: Uint8Array, meta: RecordMeta, deflate = true): Buffer {
  let body = payload;
  let flags = 0;
  if (deflate && payload.length >= DEFLATE_FROM) {
    const packed = z().deflateRawSync(payload, { level: 1 });
    if (packed.length < payload.length) {
      body = packed;
      flags = FLAG_DEFLATED;
    }
  }
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32LE(MAGIC, 0);
  out[4] = VERSION;
  out[STATE_OFFSET] = STATE_PENDING;
  out[6] = meta.kind;
  out[7] = flags;
  out.writeUInt32LE(body.length, 8);
  out.writeUInt32LE(meta.items >>> 0, 12);
  out.writeUInt32LE(meta.traces >>> 0, 16);
  out.writeDoubleLE(meta.time, 20);
  out.set(body, HEADER_BYTES);
  out.writeUInt32LE(checksum(out.subarray(0, HEADER_BYTES), body), 28);
  return out;
}

/** The record at `off`, or null when there is none that checks out there. */
function recordAt(buf: Buffer, off: number): ScannedRecord | null {
  if (off + HEADER_BYTES > buf.length) return null;
  if (buf.readUInt32LE(off) !== MAGIC || buf[off + 4] !== VERSION) return null;
  const len = buf.readUInt32LE(off + 8);
  if (len > MAX_BODY || off + HEADER_BYTES + len > buf.length) return null;
  const header = buf.subarray(off, off + HEADER_BYTES);
  const stored = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len);
  if (checksum(header, stored) !== buf.readUInt32LE(off + 28)) return null;
  let body = stored;
  if ((buf[off + 7] & FLAG_DEFLATED) !== 0) {
    try {
      body = z().inflateRawSync(stored);
    } catch {
      return null;
    }
  }
  return {
    offset: off,
    state: buf[off + STATE_OFFSET],
    kind: buf[off + 6],
    items: buf.readUInt32LE(off + 12),
    traces: buf.readUInt32LE(off + 16),
    time: buf.readDoubleLE(off + 20),
    body,
    storedBytes: HEADER_BYTES + len,
  };
}

/** Every good record of a file's bytes, in order; damage is counted and skipped. */
export function scanRecords(buf: Buffer): ScanResult {
  const records: ScannedRecord[] = [];
  let skipped = 0;
  let off = 0;
  let tornTail = false;
  while (off < buf.length) {
    const r = recordAt(buf, off);
    if (r !== null) {
      records.push(r);
      off += r.storedBytes;
      continue;
    }
    // Damage: look for the next record that checks out.
    skipped++;
    let next = -1;
    for (let i = buf.indexOf('TWDL', off + 1, 'latin1'); i !== -1; i = buf.indexOf('TWDL', i + 1, 'latin1')) {
      if (recordAt(buf, i) !== null) {
        next = i;
        break;
      }
    }
    if (next === -1) {
      tornTail = true;
      break;
    }
    off = next;
  }
  return { records, skipped, tornTail };
}

/**
 * What the two Datadog encodings (`/v0.4/traces` maps, `/v0.5/traces` string table) agree
 * on: how a span's Datadog names are chosen, which tags every span or chunk head carries,
 * how attribute values become strings, and how the next payload buffer is sized.
 */
import type { AttributeValue } from '@opentelemetry/api';
import type { ResolvedConfig } from '../../config/options';
import { TIME_ORIGIN_MS } from '../../tracer/clock';
import type { FinishedSpan } from '../../tracer/finished-span';

export const KIND_NAMES = ['internal', 'server', 'client', 'producer', 'consumer'];

export const DECISION_MAKERS = ['-0', '-1', '-2', '-3', '-4', '-5', '-6', '-7', '-8'];
export const STATUS_STRINGS: string[] = [];
for (let i = 0; i < 600; i++) STATUS_STRINGS.push(String(i));

export interface EncoderInfo {
  runtimeId: string;
  /** Extra meta for chunk heads. */
  headMeta?: Record<string, string>;
}

/** Tags on every span: env, version, language and the configured global tags. */
export function commonTags(config: ResolvedConfig): [string, string][] {
  const common: [string, string][] = [];
  if (config.env) common.push(['env', config.env]);
  if (config.version) common.push(['version', config.version]);
  common.push(['language', 'javascript']);
  for (const [k, v] of Object.entries(config.tags)) common.push([k, v]);
  return common;
}

/** Tags on the first span of each trace chunk. */
export function headTags(info: EncoderInfo): [string, string][] {
  return [['runtime-id', info.runtimeId], ...Object.entries(info.headMeta ?? {})];
}

/**
 * A trace's propagated tags (`_dd.p.*`, kept as `k=v,k=v`), encoded once per distinct set (per
 * payload where indices are in its string table): meta pairs, how many, and whether
 * `_dd.p.dm` is among them.
 */
export interface PropagatedTags {
  readonly bytes: Uint8Array;
  readonly count: number;
  readonly hasDm: boolean;
}
export const NO_PTAGS: PropagatedTags = { bytes: new Uint8Array(0), count: 0, hasDm: false };
/** Distinct propagated tag sets an encoder remembers (past that it forgets them all and starts again). */
export const MAX_PTAGS_SEEN = 64;

export function attrString(v: AttributeValue): string {
  return typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? 'true' : 'false') : JSON.stringify(v);
}

/** Span events as the one JSON tag (`events`) the agent reads them from. */
export function eventsJson(s: FinishedSpan): string {
  return JSON.stringify((s.events ?? []).map((e) => ({ name: e.name, time_unix_nano: Math.round((TIME_ORIGIN_MS + e.time) * 1e6), attributes: e.attributes ?? {} })));
}

/**
 * The next payload buffer's size, from the recent large ones: a steady load never regrows (and
 * copies) it, a flush that seals a small payload right after a large one does not shrink it
 * to 64 KiB, and small payloads only let it shrink by an eighth each.
 */
export function nextCapacity(capacity: number, used: number): number {
  return Math.min(Math.max(64 * 1024, used + (used >>> 2), capacity - (capacity >>> 3)), 2 * 1024 * 1024);
}

/** Start time in ns since the epoch, from a `performance.now()` time. */
export function epochNs(ms: number): number {
  return Math.round((TIME_ORIGIN_MS + ms) * 1e6);
}

/**
 * True for a `/v0.5/traces` body, told from its first bytes: `[strings, traces]` opens with a
 * 2-element array whose first element is an array of strings (its first a string: `""` is
 * always in the table). A `/v0.4/traces` body of two traces opens the same way, but its first
 * element holds span maps. So dead-letter records and split halves need no format of their own.
 */
export function isV05(body: Uint8Array): boolean {
  if (body.length < 3 || body[0] !== 0x92) return false;
  const h = body[1];
  const first = h >= 0x90 && h <= 0x9f ? 2 : h === 0xdc ? 4 : h === 0xdd ? 6 : -1;
  if (first < 0 || first >= body.length) return false;
  const t = body[first];
  return (t >= 0xa0 && t <= 0xbf) || t === 0xd9 || t === 0xda || t === 0xdb;
}

export const V04_PATH = '/v0.4/traces';
export const V05_PATH = '/v0.5/traces';

/** The trace endpoint used with this `traceProtocol` and the agent's listed endpoints (null: not said). */
export function tracesPath(protocol: 'auto' | '0.4' | '0.5', endpoints: readonly string[] | null): string {
  if (protocol === '0.5') return V05_PATH;
  if (protocol === '0.4' || endpoints === null || !endpoints.includes(V05_PATH)) return V04_PATH;
  return V05_PATH;
}

/**
 * Payload buffers handed back once the agent accepted them, for the next payloads: a fresh
 * MiB-sized buffer is fresh memory, and the kernel's work of mapping it in (then out when it is
 * collected) cost more than encoding into it. A few are kept; the rest are left to the GC.
 */
export class BodyPool {
  private readonly free: Buffer[] = [];
  /** The memory `take` allocated: the only memory `give` takes back. */
  private readonly own = new WeakSet<ArrayBufferLike>();

  /** A buffer of at least `size` bytes. */
  take(size: number): Buffer {
    const free = this.free;
    for (let i = free.length - 1; i >= 0; i--) {
      if (free[i].length >= size) {
        const b = free[i];
        free[i] = free[free.length - 1];
        free.pop();
        return b;
      }
    }
    // Never `allocUnsafe`: below half of `Buffer.poolSize` it hands out a slice of Node's shared
    // allocation slab, which every other `allocUnsafe` caller in the process also gets slices
    // of (the slab is 64 KiB on Node 24, so a 5 KB payload could be its first slice).
    const b = Buffer.allocUnsafeSlow(size);
    this.own.add(b.buffer);
    return b;
  }

  /** `body` (a payload from `take`, all of it or its start) is no longer read by anyone. */
  give(body: Buffer): void {
    // Only memory of our own, whole, and of a size worth keeping. Taking back a slab of Node's
    // allocation pool meant writing the next payload into memory other code was using: on
    // Node 24, gRPC frames of the same process turned up inside payloads (and payload bytes,
    // presumably, inside gRPC frames).
    const ab = body.buffer;
    if (body.byteOffset !== 0 || !this.own.has(ab) || ab.byteLength < 64 * 1024 || this.free.length >= 2) return;
    for (const f of this.free) if (f.buffer === ab) return;
    this.free.push(Buffer.from(ab, 0, ab.byteLength));
  }
}

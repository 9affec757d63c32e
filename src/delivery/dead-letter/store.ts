/**
 * The dead-letter files of one kind of payload (traces for the Datadog Agent or OTLP, profile
 * uploads, probe snapshots, probe statuses) in a service's folder (`folder.ts`), as one
 * process sees them.
 *
 * - Each process appends to files of its own (`<kind>-<time>-<pid>-<run>-<seq>.dlq`, mode
 *   0600, created with O_EXCL in a folder checked private), so cluster workers never
 *   interleave. A file is sealed past a size and a new one started; `<time>` (ms, 13 digits)
 *   makes the name order the age order.
 * - Payloads the agent refused as malformed go to `rejected-<kind>-...` files: counted, kept
 *   for `tracewell dlq`, never replayed automatically.
 * - The folder is capped (`dlqMaxBytes`, every file in it counts): the oldest files this
 *   process may touch (its own, and those of processes that exited) are evicted first, and
 *   what they held is counted in `stats().dropped.evicted`.
 * - Replay reads the oldest pending file, hands out its records one at a time, marks each
 *   done in place once the agent accepted it, and removes the file when all are done.
 * - Files of exited processes of the same service are adopted (see `owner.ts`); a file that is
 *   not ours (another user's, a link, writable by others) is never adopted, read or sent.
 *
 * Writes are synchronous appends (to the page cache, no fsync per record): a record is on
 * disk before the call returns, which is what a SIGTERM or an `exit` handler needs, and a
 * SIGKILL can at worst tear the record being written, which the reader skips.
 * Nothing here throws: a folder that cannot be written is reported once and counted.
 */
import { closeSync, fstatSync, fsyncSync, readdirSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { counters } from '../../internal/counters';
import { describeError, logger } from '../../internal/logger';
import { DeliveryCodes } from '../codes';
import { formatBytes } from '../outage-log';
import { type DeadLetterFolder, deadLetterFolder } from './folder';
import { encodeRecord, KIND_DATADOG, KIND_OTLP, KIND_PROFILE, KIND_SNAPSHOTS, KIND_STATUSES, scanRecords, STATE_DONE, STATE_OFFSET, STATE_PENDING, type RecordKind, type ScannedRecord } from './framing';
import { ownerAlive } from './owner';
import { createPrivateFile, filePathProblem, openOwnFile, UnsafePathError } from './private-fs';

export { serviceFolder } from './folder';

/** The kinds of payload kept, as named in file names. */
export type StreamKind = 'dd' | 'otlp' | 'profile' | 'snapshots' | 'statuses';

const KIND_CODES: Record<StreamKind, RecordKind> = { dd: KIND_DATADOG, otlp: KIND_OTLP, profile: KIND_PROFILE, snapshots: KIND_SNAPSHOTS, statuses: KIND_STATUSES };

const NAME = /^(rejected-)?(dd|otlp|profile|snapshots|statuses)-(\d{13})-(\d+)-([0-9a-f]{8})-(\d{6})\.dlq$/;
/** After a failed write, the folder is not tried again for this long (drops are counted meanwhile). */
const RETRY_BROKEN_MS = 10_000;
/** How stale the sizes of other processes' files may be when checking the cap. */
const RESCAN_MS = 2_000;

interface ParsedName {
  rejected: boolean;
  kind: StreamKind;
  time: number;
  pid: number;
  run: string;
  seq: number;
}

export function parseName(name: string): ParsedName | null {
  const m = NAME.exec(name);
  if (m === null) return null;
  return { rejected: m[1] !== undefined, kind: m[2] as StreamKind, time: Number(m[3]), pid: Number(m[4]), run: m[5], seq: Number(m[6]) };
}


interface Segment {
  name: string;
  path: string;
  bytes: number;
  time: number;
  rejected: boolean;
  /** Spans and records not yet replayed; -1 until the file was read. */
  pendingSpans: number;
  pendingRecords: number;
  /** Evicted (or gone): replay skips what is left of it. */
  gone: boolean;
  /** Its damaged records were counted already. */
  scanned: boolean;
}

interface Writer {
  seg: Segment;
  fd: number;
}

interface DeadLetterOptions {
  /** Root folder; this service's files are in `<root>/<service>`. */
  root: string;
  service: string;
  kind: StreamKind;
  /** Most bytes in the service's folder (every file in it counts); this store evicts only its own kind. */
  maxBytes: number;
  /** Most files of this kind this store keeps (the oldest are evicted past it). Default: no limit. */
  maxFiles?: number;
  /** Size at which a file is sealed and the next one started. Default: maxBytes/16 (16 KiB..4 MiB, at most maxBytes/4). */
  segmentBytes?: number;
  /** Items of evicted files (they are lost). */
  onEvicted?(items: number): void;
}

type AppendResult = 'ok' | 'full' | 'unwritable';

/** One record handed out for replay. */
export interface ReplayItem {
  body: Buffer;
  items: number;
  traces: number;
  kind: number;
  /** Marks it done (sent, or moved to the rejected file); removes the file once all are. */
  done(): void;
  /** Whether the file it came from was evicted meanwhile (then it must not be counted twice). */
  gone(): boolean;
}

export class DeadLetterStore {
  private readonly folder: DeadLetterFolder;
  private readonly kind: StreamKind;
  readonly maxBytes: number;
  private readonly segmentBytes: number;
  private seq = 0;
  private writer: Writer | null = null;
  private rejectWriter: Writer | null = null;
  /** Files this process wrote or adopted, oldest first (this kind only). */
  private readonly mine: Segment[] = [];
  private othersBytes = 0;
  private othersScannedAt = 0;
  private brokenUntil = 0;
  private closed = false;
  /** Files found not to be ours: named once, never touched. */
  private readonly refusedFiles = new Set<string>();
  /** The file being replayed, read once. */
  private cursor: { seg: Segment; records: ScannedRecord[]; next: number; fd: number } | null = null;

  constructor(private readonly opts: DeadLetterOptions) {
    this.folder = deadLetterFolder(opts.root, opts.service);
    this.kind = opts.kind;
    this.maxBytes = opts.maxBytes;
    // Eviction takes whole files: small enough that one is a small part of the limit.
    this.segmentBytes = opts.segmentBytes ?? Math.min(4 * 1024 * 1024, Math.max(16 * 1024, Math.floor(opts.maxBytes / 16)), Math.floor(opts.maxBytes / 4));
  }

  /** The folder files are in (the configured one, or the private one used instead of it). */
  get dir(): string {
    return this.folder.dir;
  }

  get run(): string {
    return this.folder.run;
  }

  /** Bytes of this service's folder as last seen (own files exactly, others' as of the last scan). */
  get bytesOnDisk(): number {
    let n = this.othersBytes;
    for (const s of this.mine) n += s.bytes;
    return n;
  }

  /** Records known to wait for replay (own and adopted files). */
  get hasPending(): boolean {
    for (const s of this.mine) if (!s.rejected && !s.gone && s.pendingRecords !== 0) return true;
    return false;
  }

  private ownerPath(pid: number, run: string): string {
    return join(this.dir, `${pid}-${run}.owner`);
  }

  private publish(): void {
    if (this.kind === 'dd' || this.kind === 'otlp') counters.deadLetter.bytesOnDisk = this.bytesOnDisk;
  }

  private newSegment(rejected: boolean): Writer {
    const seq = String(this.seq++).padStart(6, '0');
    const time = String(Date.now()).padStart(13, '0');
    const name = `${rejected ? 'rejected-' : ''}${this.kind}-${time}-${process.pid}-${this.run}-${seq}.dlq`;
    const path = join(this.dir, name);
    const fd = createPrivateFile(path);
    const seg: Segment = { name, path, bytes: 0, time: Number(time), rejected, pendingSpans: 0, pendingRecords: 0, gone: false, scanned: true };
    this.mine.push(seg);
    return { seg, fd };
  }

  private seal(w: Writer | null): void {
    if (w === null) return;
    try {
      fsyncSync(w.fd);
    } catch {
      /* best effort */
    }
    try {
      closeSync(w.fd);
    } catch {
      /* already closed */
    }
  }

  /**
   * Appends one payload. `rejected` payloads go to the rejected file. `deflate: false` stores
   * it as is (a spill that is replayed within seconds). Counts what it wrote; the caller
   * counts what it could not.
   */
  append(body: Uint8Array, items: number, traces: number, rejected = false, deflate = true): AppendResult {
    const now = Date.now();
    if (now < this.brokenUntil || this.closed) return 'unwritable';
    const record = encodeRecord(body, { kind: KIND_CODES[this.kind], items, traces, time: now }, deflate);
    try {
      this.folder.ensureReady();
      if (!this.makeRoom(record.length)) {
        this.warnFull(record.length);
        return 'full';
      }
      let w = rejected ? this.rejectWriter : this.writer;
      if (w === null || w.seg.gone || (w.seg.bytes > 0 && w.seg.bytes + record.length > this.segmentBytes)) {
        if (w !== null) this.seal(w);
        w = this.newSegment(rejected);
        if (rejected) this.rejectWriter = w;
        else this.writer = w;
      }
      let off = 0;
      while (off < record.length) off += writeSync(w.fd, record, off, record.length - off);
      w.seg.bytes += record.length;
      w.seg.pendingRecords++;
      w.seg.pendingSpans += items;
      this.publish();
      return 'ok';
    } catch (err) {
      this.brokenUntil = now + RETRY_BROKEN_MS;
      this.folder.reset();
      for (const w of [this.writer, this.rejectWriter]) this.seal(w);
      this.writer = null;
      this.rejectWriter = null;
      if (this.folder.dir !== '') {
        logger.warn(
          `[${DeliveryCodes.DLQ_UNWRITABLE}] cannot write the dead-letter file in ${this.dir} (${describeError(err)}); what cannot be sent is dropped and counted (stats().dropped.deadLetterFailed for spans)`,
          'dlq-unwritable',
        );
      }
      return 'unwritable';
    }
  }

  private warnFull(size: number): void {
    const why = size > this.maxBytes ? `a payload of ${formatBytes(size)} is larger than the limit` : 'nothing older is left to evict';
    logger.warn(`[${DeliveryCodes.DLQ_FULL}] the dead-letter folder ${this.dir} is at its limit of ${formatBytes(this.maxBytes)} and ${why}; it is dropped and counted (stats().dropped.deadLetterFailed for spans)`, `dlq-full-${this.kind}`);
  }

  /** Sizes of files in the folder that are not ours (other live processes, exited ones not adopted yet). */
  private scanOthers(force = false): void {
    const now = Date.now();
    if (!force && now - this.othersScannedAt < RESCAN_MS) return;
    this.othersScannedAt = now;
    let total = 0;
    const own = new Set(this.mine.map((s) => s.name));
    try {
      for (const name of readdirSync(this.dir)) {
        if (own.has(name) || parseName(name) === null) continue;
        try {
          total += statSync(join(this.dir, name)).size;
        } catch {
          /* removed meanwhile */
        }
      }
    } catch {
      /* no folder yet */
    }
    this.othersBytes = total;
  }

  private liveFiles(): number {
    let n = 0;
    for (const s of this.mine) if (!s.gone && !s.rejected) n++;
    return n;
  }

  /** Evicts the oldest files we may touch until `n` more bytes fit; false when they cannot. */
  private makeRoom(n: number): boolean {
    if (n > this.maxBytes) return false;
    const maxFiles = this.opts.maxFiles ?? Infinity;
    while (this.liveFiles() >= maxFiles) {
      const victim = this.mine.find((s) => !s.gone && !s.rejected && s !== this.writer?.seg);
      if (victim === undefined) break;
      this.evict(victim);
    }
    this.scanOthers();
    if (this.bytesOnDisk + n <= this.maxBytes) return true;
    // Over the cap: exited processes' files can be adopted (then evicted like ours).
    this.scanOthers(true);
    if (this.bytesOnDisk + n > this.maxBytes) this.adoptOrphans(true);
    let warned = false;
    while (this.bytesOnDisk + n > this.maxBytes) {
      const victim = this.mine.find((s) => !s.gone);
      if (victim === undefined) return false;
      if (!warned) {
        warned = true;
        logger.warn(`[${DeliveryCodes.DLQ_FULL}] the dead-letter folder ${this.dir} reached its limit of ${formatBytes(this.maxBytes)}; the oldest payloads are evicted and counted (stats().dropped.evicted for spans)`, `dlq-evict-${this.kind}`);
      }
      this.evict(victim);
    }
    return true;
  }

  private evict(seg: Segment): void {
    if (!seg.rejected) {
      if (seg.pendingSpans < 0) this.count(seg);
      this.opts.onEvicted?.(Math.max(0, seg.pendingSpans));
    }
    this.remove(seg);
  }

  /** Reads a file's records to learn what it holds. */
  private count(seg: Segment): ScannedRecord[] {
    try {
      const { records, skipped } = scanRecords(readOwn(seg.path));
      if (skipped > 0 && !seg.scanned) this.damaged(seg, skipped);
      seg.scanned = true;
      const pending = records.filter((r) => r.state === STATE_PENDING);
      seg.pendingRecords = pending.length;
      seg.pendingSpans = pending.reduce((a, r) => a + r.items, 0);
      return pending;
    } catch (err) {
      if (err instanceof UnsafePathError) this.refuse(err.path, err.problem);
      seg.pendingRecords = 0;
      seg.pendingSpans = 0;
      return [];
    }
  }

  private damaged(seg: Segment, skipped: number): void {
    counters.deadLetter.recordsSkipped += skipped;
    logger.warn(`[${DeliveryCodes.DLQ_DAMAGED}] skipped ${skipped} damaged record${skipped === 1 ? '' : 's'} in ${seg.path} (a write cut short by a crash); the records around ${skipped === 1 ? 'it' : 'them'} are kept`, 'dlq-damaged');
  }

  private remove(seg: Segment): void {
    seg.gone = true;
    if (this.writer?.seg === seg) {
      this.seal(this.writer);
      this.writer = null;
    }
    if (this.rejectWriter?.seg === seg) {
      this.seal(this.rejectWriter);
      this.rejectWriter = null;
    }
    if (this.cursor?.seg === seg) this.dropCursor();
    try {
      unlinkSync(seg.path);
    } catch {
      /* already gone */
    }
    const i = this.mine.indexOf(seg);
    if (i >= 0) this.mine.splice(i, 1);
    this.publish();
  }

  /**
   * Adopts the files of processes of this service that exited: each is renamed into our
   * name (keeping its time, so the order stays oldest first). Returns how many.
   * `all` adopts rejected files too (only to evict them).
   */
  adoptOrphans(all = false): number {
    let names: string[];
    if (this.folder.refused !== null || this.closed || this.dir === '') return 0; // a refused folder is not read
    try {
      names = readdirSync(this.dir);
    } catch {
      return 0;
    }
    const alive = new Map<string, boolean>();
    const claimed: Segment[] = [];
    for (const name of names.sort()) {
      const p = parseName(name);
      if (p === null || p.kind !== this.kind || (p.rejected && !all)) continue;
      if (p.pid === process.pid && p.run === this.run) continue;
      const owner = `${p.pid}-${p.run}`;
      let live = alive.get(owner);
      if (live === undefined) {
        live = ownerAlive(p.pid, p.run, this.ownerPath(p.pid, p.run), this.run);
        alive.set(owner, live);
      }
      if (live) continue;
      const problem = filePathProblem(join(this.dir, name));
      if (problem !== null) {
        this.refuse(join(this.dir, name), problem);
        continue;
      }
      try {
        this.folder.ensureReady();
        const seq = String(this.seq++).padStart(6, '0');
        const to = `${p.rejected ? 'rejected-' : ''}${p.kind}-${String(p.time).padStart(13, '0')}-${process.pid}-${this.run}-${seq}.dlq`;
        // The claim: atomic, so exactly one process gets each file.
        renameSync(join(this.dir, name), join(this.dir, to));
        const bytes = statSync(join(this.dir, to)).size;
        claimed.push({ name: to, path: join(this.dir, to), bytes, time: p.time, rejected: p.rejected, pendingSpans: -1, pendingRecords: -1, gone: false, scanned: false });
      } catch {
        /* another process claimed it first, or it is gone */
      }
    }
    if (claimed.length === 0) return 0;
    this.mine.push(...claimed);
    this.mine.sort((a, b) => a.time - b.time || (a.name < b.name ? -1 : 1));
    // An exited owner with no file left (this process or another adopted them all) needs no
    // owner file any more. Listed again after our renames: of two adopters, the one that
    // looks last sees every rename and removes it.
    let now: string[] = [];
    try {
      now = readdirSync(this.dir);
    } catch {
      /* gone */
    }
    for (const [owner, live] of alive) {
      if (live || now.some((n) => n.endsWith('.dlq') && n.includes(`-${owner}-`))) continue;
      if (filePathProblem(join(this.dir, `${owner}.owner`)) !== null) continue; // not ours: left alone
      try {
        unlinkSync(join(this.dir, `${owner}.owner`));
      } catch {
        /* not there, or removed by the other adopter */
      }
    }
    this.scanOthers(true);
    this.publish();
    return claimed.length;
  }

  /** Sum of spans known to wait in own and adopted files (reads adopted files once). */
  pendingSpans(): number {
    let n = 0;
    for (const s of this.mine) {
      if (s.rejected || s.gone) continue;
      if (s.pendingSpans < 0) this.count(s);
      n += s.pendingSpans;
    }
    return n;
  }

  /** Forgets what was handed out but not marked done: the next `next()` reads the file again. */
  rewind(): void {
    this.dropCursor();
  }

  private dropCursor(): void {
    if (this.cursor === null) return;
    try {
      closeSync(this.cursor.fd);
    } catch {
      /* closed */
    }
    this.cursor = null;
  }

  /**
   * The oldest record waiting for replay, or null. The file being written is sealed first
   * when it is the only one left, so it becomes replayable.
   */
  next(): ReplayItem | null {
    for (;;) {
      if (this.cursor !== null) {
        const c = this.cursor;
        while (c.next < c.records.length && c.records[c.next].state !== STATE_PENDING) c.next++;
        if (c.seg.gone) {
          this.dropCursor();
          continue;
        }
        if (c.next < c.records.length) {
          const r = c.records[c.next++];
          return this.item(c.seg, c.fd, r);
        }
        // Everything handed out: the file goes once every item was marked done.
        if (c.seg.pendingRecords <= 0) this.remove(c.seg);
        else return null;
        continue;
      }
      const seg = this.mine.find((s) => !s.rejected && !s.gone && s.pendingRecords !== 0 && this.writer?.seg !== s);
      if (seg === undefined) {
        const w = this.writer;
        if (w !== null && w.seg.pendingRecords > 0) {
          this.seal(w);
          this.writer = null;
          continue;
        }
        return null;
      }
      let fd: number;
      let records: ScannedRecord[];
      try {
        records = this.count(seg);
        fd = openOwnFile(seg.path, true);
      } catch (err) {
        if (err instanceof UnsafePathError) {
          // Replaced by something not ours since we took it: neither read nor removed.
          this.refuse(err.path, err.problem);
          seg.gone = true;
          this.mine.splice(this.mine.indexOf(seg), 1);
        } else this.remove(seg);
        continue;
      }
      if (records.length === 0) {
        try {
          closeSync(fd);
        } catch {
          /* closed */
        }
        this.remove(seg);
        continue;
      }
      this.cursor = { seg, records, next: 0, fd };
    }
  }

  private item(seg: Segment, fd: number, r: ScannedRecord): ReplayItem {
    let settled = false;
    return {
      body: r.body,
      items: r.items,
      traces: r.traces,
      kind: r.kind,
      gone: () => seg.gone,
      done: () => {
        if (settled || seg.gone) return;
        settled = true;
        r.state = STATE_DONE;
        try {
          writeSync(fd, Buffer.of(STATE_DONE), 0, 1, r.offset + STATE_OFFSET);
        } catch {
          /* the file went away */
        }
        seg.pendingRecords--;
        seg.pendingSpans = Math.max(0, seg.pendingSpans - r.items);
        if (seg.pendingRecords <= 0 && this.cursor?.seg === seg && this.cursor.next >= this.cursor.records.length) this.remove(seg);
      },
    };
  }

  /** A file that is not ours: named once, never read, sent, moved or removed. */
  private refuse(path: string, problem: string): void {
    if (this.refusedFiles.has(path)) return;
    this.refusedFiles.add(path);
    counters.deadLetter.filesRefused++;
    logger.warn(`[${DeliveryCodes.DLQ_UNSAFE}] ${path} ${problem}: it is not read or sent`, `dlq-refused:${path}`);
  }

  /** Closes the files; the owner file goes when nothing of ours is left on disk. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropCursor();
    this.seal(this.writer);
    this.seal(this.rejectWriter);
    this.writer = null;
    this.rejectWriter = null;
    this.folder.release(this.mine.every((s) => s.gone));
  }
}

/** A whole file of ours, read through a descriptor opened without following links and checked. */
export function readOwn(path: string): Buffer {
  const fd = openOwnFile(path);
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === size ? buf : buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

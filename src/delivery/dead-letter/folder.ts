/**
 * A service's dead-letter folder, `<root>/<service>/`, as one process holds it: the folder is
 * made private (or found private) before anything is written or read there, this process's
 * owner file (`<pid>-<run>.owner`) is written once and touched while it has files, and the
 * stores of each kind (traces, profiles, probe output) share both.
 *
 * When the folder fails a check (a link, another user's, writable by others: see
 * private-fs.ts), one message names the path and what is wrong, and the process uses a
 * private folder of its own under the temp folder instead (made with `mkdtemp`, so nobody
 * else can have made it first). Files left in the refused folder are neither read nor sent.
 */
import { mkdtempSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError, logger } from '../../internal/logger';
import { DeliveryCodes } from '../codes';
import { HEARTBEAT_MS, selfOwner } from './owner';
import { currentUid, ensurePrivateDir, filePathProblem, UnsafePathError } from './private-fs';

/** A service name as a folder name. */
export function serviceFolder(service: string): string {
  const s = service.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  return s === '' || s === '.' || s === '..' ? '_' : s;
}

export class DeadLetterFolder {
  /** Where files are written and read: `<root>/<service>`, or the private fallback. */
  dir: string;
  /**
   * Names this process's files and owner file; files of other runs are adopted into it. 32 bits
   * from `Math.random()` (seeded from the system's entropy per process), as random as the 4
   * bytes of `node:crypto` it replaced, without loading that module at start-up.
   */
  readonly run = Math.floor(Math.random() * 2 ** 32)
    .toString(16)
    .padStart(8, '0');
  readonly service: string;
  private ready = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private users = 0;
  private filesLeft = false;
  /** Set when the configured folder was refused: then `dir` is the fallback. */
  refused: UnsafePathError | null = null;

  constructor(
    private readonly root: string,
    service: string,
  ) {
    this.service = service;
    this.dir = join(root, serviceFolder(service));
  }

  get ownerFile(): string {
    return join(this.dir, `${process.pid}-${this.run}.owner`);
  }

  /** Whether nothing should be read or written here (refused and no fallback could be made). */
  get unusable(): boolean {
    return this.refused !== null && this.dir === '';
  }

  /**
   * Makes the folder (checked, private) and our owner file. Throws on an I/O failure (the
   * caller counts and reports it); a folder that fails a check is replaced by a private one.
   */
  ensureReady(): void {
    if (this.ready) return;
    if (this.dir === '') throw new Error('no usable dead-letter folder');
    try {
      if (this.refused === null) ensurePrivateDir(this.dir, this.root);
    } catch (err) {
      if (!(err instanceof UnsafePathError)) throw err;
      this.fallBack(err);
    }
    try {
      writeFileSync(this.ownerFile, JSON.stringify(selfOwner(this.run, this.service)), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Ours already (made before a failed write reset the folder); anything else is not.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || filePathProblem(this.ownerFile) !== null) throw err;
    }
    this.ready = true;
    this.heartbeat = setInterval(() => this.touch(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private fallBack(err: UnsafePathError): void {
    const refusedDir = this.dir;
    this.refused = err;
    try {
      this.dir = mkdtempSync(join(tmpdir(), `tracewell-${currentUid() < 0 ? 'user' : currentUid()}-`));
    } catch (mkErr) {
      this.dir = '';
      logger.warn(
        `[${DeliveryCodes.DLQ_UNSAFE}] the dead-letter folder ${refusedDir} is not used: ${err.message}; no private folder could be made instead (${describeError(mkErr)}): what cannot be sent is dropped and counted`,
        'dlq-unsafe',
      );
      throw mkErr;
    }
    logger.warn(
      `[${DeliveryCodes.DLQ_UNSAFE}] the dead-letter folder ${refusedDir} is not used: ${err.message}; files are kept in ${this.dir} instead (private to this process's user), and files in ${refusedDir} are neither read nor sent`,
      'dlq-unsafe',
    );
  }

  private touch(): void {
    try {
      const now = new Date();
      utimesSync(this.ownerFile, now, now);
    } catch {
      /* the folder went away: the next write makes it again */
      this.ready = false;
      this.stopHeartbeat();
    }
  }

  /** After a failed write: the next one checks and makes the folder again. */
  reset(): void {
    this.ready = false;
    this.stopHeartbeat();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  acquire(): this {
    this.users++;
    return this;
  }

  /** A store is done with the folder; the owner file goes with the last one when no store left files. */
  release(empty: boolean): void {
    if (!empty) this.filesLeft = true;
    if (--this.users > 0) return;
    empty = !this.filesLeft;
    this.stopHeartbeat();
    if (this.ready && empty) {
      try {
        unlinkSync(this.ownerFile);
      } catch {
        /* not there */
      }
    }
    this.ready = false;
    folders.delete(this.key);
  }

  key = '';
}

/** One folder object per (root, service) in a process: its stores share the owner file. */
const folders = new Map<string, DeadLetterFolder>();

export function deadLetterFolder(root: string, service: string): DeadLetterFolder {
  const key = `${root}\0${service}`;
  let f = folders.get(key);
  if (f === undefined) {
    f = new DeadLetterFolder(root, service);
    f.key = key;
    folders.set(key, f);
  }
  return f.acquire();
}

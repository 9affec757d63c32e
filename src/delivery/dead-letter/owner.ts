/**
 * Who owns a dead-letter file. Every process writes `<pid>-<run>.owner` (JSON) next to its
 * files before its first record. A file whose owner has exited is adopted by the next process
 * of the same service: adoption renames the file into the adopter's name, and a rename is
 * atomic, so two processes never replay the same file; that rename is the lock.
 *
 * An owner is alive when, on the same host, its pid exists and (on Linux) started at the
 * recorded time, so a reused pid (a container's pid 1 after a restart) does not count; on
 * another host sharing the folder, when its owner file was touched in the last few minutes.
 */
import { closeSync, fstatSync, readFileSync } from 'node:fs';
import { openOwnFile } from './private-fs';
import { hostname } from 'node:os';

interface OwnerInfo {
  pid: number;
  run: string;
  host: string;
  /** Start time of the process in clock ticks since boot (Linux), or null. */
  startTicks: string | null;
  started: number;
  service: string;
}

/** Owner files are touched this often while their process has files. */
export const HEARTBEAT_MS = 60_000;
const STALE_MS = 5 * HEARTBEAT_MS;

function processStartTicks(pid: number | 'self'): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 2 (comm) may hold spaces and parentheses: count from the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

let hostName: string | null = null;
function host(): string {
  if (hostName === null) {
    try {
      hostName = hostname();
    } catch {
      hostName = 'unknown';
    }
  }
  return hostName;
}

export function selfOwner(run: string, service: string): OwnerInfo {
  return { pid: process.pid, run, host: host(), startTicks: processStartTicks('self'), started: Date.now(), service };
}

/** An owner file of ours (another user's, or a link, counts as none: it is not trusted). */
function readOwner(path: string): { info: OwnerInfo | null; mtimeMs: number } {
  let fd = -1;
  try {
    fd = openOwnFile(path);
    const mtimeMs = fstatSync(fd).mtimeMs;
    const info = JSON.parse(readFileSync(fd, 'utf8')) as OwnerInfo;
    return { info: typeof info.pid === 'number' ? info : null, mtimeMs };
  } catch {
    return { info: null, mtimeMs: 0 };
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Whether the process `pid`/`run` (described by its owner file at `path`) still runs. */
export function ownerAlive(pid: number, run: string, path: string, selfRun: string | null): boolean {
  if (pid === process.pid) return run === selfRun;
  const { info, mtimeMs } = readOwner(path);
  // No owner file: its process removed it on exit, or never got to write it.
  if (info === null) return false;
  if (info.host !== host()) return Date.now() - mtimeMs < STALE_MS;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (info.startTicks !== null) {
    const ticks = processStartTicks(pid);
    if (ticks !== null && ticks !== info.startTicks) return false;
  }
  return true;
}

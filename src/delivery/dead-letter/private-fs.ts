/**
 * Folders and files we keep in places other local users may reach (the temp folder, a shared
 * volume), checked the way OpenSSH checks `~/.ssh` (StrictModes) and systemd its runtime
 * folders, so nobody else can read what we persist, plant files we would replay, or point a
 * file we write somewhere else:
 *
 * - A folder we keep files in is a real directory (not a symbolic link), owned by this
 *   process's user, and not writable by group or others. Folders we create are made 0700.
 * - The folders above it may be links and may belong to root, but each (and each link) is
 *   owned by root or by us, and one that group or others can write must have the sticky bit
 *   (like /tmp), so nobody else can rename or replace what is in it.
 * - Files are created with O_EXCL (an existing file or link at the name fails the open) and
 *   mode 0600; files we adopt or read are opened with O_NOFOLLOW and checked by descriptor
 *   (fstat): a regular file, ours, not writable by group or others.
 *
 * On Windows (no uids, no modes) the checks pass.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, realpathSync, type Stats } from 'node:fs';
import { dirname, join, parse, resolve as resolvePath, sep } from 'node:path';

/** A folder or file that fails a check: `path` and what is wrong with it, in words. */
export class UnsafePathError extends Error {
  readonly code = 'TW_UNSAFE_PATH';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path} ${problem}`);
    this.name = 'UnsafePathError';
  }
}

const POSIX = process.platform !== 'win32';
const UID = POSIX && typeof process.getuid === 'function' ? process.getuid() : -1;
const GROUP_OTHER_WRITE = 0o022;
const STICKY = 0o1000;
/** O_NOFOLLOW where the platform has it (0 elsewhere: the fstat check below still runs). */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export function currentUid(): number {
  return UID;
}

function mode(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/** What is wrong with a folder we keep files in (its `lstat`), or null. */
export function ownFolderProblem(st: Stats): string | null {
  if (st.isSymbolicLink()) return 'is a symbolic link, not a folder';
  if (!st.isDirectory()) return 'is not a folder';
  if (!POSIX) return null;
  if (st.uid !== UID) return `is owned by uid ${st.uid}, not by this process's user (uid ${UID})`;
  if ((st.mode & GROUP_OTHER_WRITE) !== 0) return `is writable by group or others (mode ${mode(st)})`;
  return null;
}

/** What is wrong with a file of ours (`fstat` of its descriptor, or `lstat`), or null. */
function ownFileProblem(st: Stats): string | null {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (!st.isFile()) return 'is not a regular file';
  if (!POSIX) return null;
  if (st.uid !== UID) return `is owned by uid ${st.uid}, not by this process's user (uid ${UID})`;
  if ((st.mode & GROUP_OTHER_WRITE) !== 0) return `is writable by group or others (mode ${mode(st)})`;
  return null;
}

/** What is wrong with a folder (or a link to one) above ours (its `lstat`), or null. */
function sharedProblem(st: Stats): string | null {
  if (!POSIX) return null;
  if (st.uid !== 0 && st.uid !== UID) return `${st.isSymbolicLink() ? 'is a symbolic link owned' : 'is owned'} by uid ${st.uid}: another user could replace what is in it`;
  if (!st.isSymbolicLink() && (st.mode & GROUP_OTHER_WRITE) !== 0 && (st.mode & STICKY) === 0) return `is writable by group or others without the sticky bit (mode ${mode(st)}): another user could replace what is in it`;
  return null;
}

/** Each folder from the root down to `p`, along the path as given and, when links are on it, as resolved. */
function checkShared(p: string): void {
  for (const path of new Set([resolvePath(p), realpathSync(p)])) {
    const root = parse(path).root;
    const parts = path.slice(root.length).split(sep).filter((x) => x !== '');
    let at = root;
    for (let i = 0; ; i++) {
      const problem = sharedProblem(lstatSync(at));
      if (problem !== null) throw new UnsafePathError(at, problem);
      if (i === parts.length) break;
      at = join(at, parts[i]);
    }
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure `dir` exists and is private. Every folder from `privateFrom` (the folder a
 * setting names: the dead-letter root, the profiling folder) down to `dir` must be ours:
 * created 0700 when missing, refused when it is a link, another user's, or writable by group
 * or others. The folders above `privateFrom` are shared ground (the temp folder, a home, a
 * volume): each, each link on the way and what it points to must belong to root or to us, and
 * one that group or others can write must have the sticky bit. Missing ones are created 0700.
 * Throws UnsafePathError when a check fails; other errors (EACCES, EROFS) as they come.
 */
export function ensurePrivateDir(dir: string, privateFrom: string = dir): void {
  const chain: string[] = [];
  for (let at = resolvePath(dir); ; at = dirname(at)) {
    chain.unshift(at);
    if (dirname(at) === at) break;
  }
  let first = chain.indexOf(resolvePath(privateFrom));
  if (first < 1) first = chain.length - 1;
  // The deepest folder above the private part that exists: it and everything above it.
  let top = first - 1;
  while (top > 0 && !exists(chain[top])) top--;
  checkShared(chain[top]);
  for (let i = top + 1; i < chain.length; i++) {
    const at = chain[i];
    try {
      mkdirSync(at, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const st = lstatSync(at);
    const problem = i >= first ? ownFolderProblem(st) : sharedProblem(st);
    if (problem !== null) throw new UnsafePathError(at, problem);
  }
}

/** Creates a new file for appending: never an existing file or link (O_EXCL), mode 0600. */
export function createPrivateFile(path: string): number {
  return openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
}

/**
 * Opens a file we mean to read (or update, `write`), refusing links and files that are not
 * ours. Throws UnsafePathError (the descriptor closed) or the open's own error.
 */
export function openOwnFile(path: string, write = false): number {
  let fd: number;
  try {
    fd = openSync(path, (write ? constants.O_RDWR : constants.O_RDONLY) | NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafePathError(path, 'is a symbolic link');
    throw err;
  }
  let problem: string | null;
  try {
    problem = ownFileProblem(fstatSync(fd));
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (problem !== null) {
    closeSync(fd);
    throw new UnsafePathError(path, problem);
  }
  return fd;
}

/** What is wrong with a file at `path` (a link is not followed), or null; null too when it is gone. */
export function filePathProblem(path: string): string | null {
  try {
    return ownFileProblem(lstatSync(path));
  } catch {
    return null;
  }
}

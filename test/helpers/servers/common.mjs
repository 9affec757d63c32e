// What the database harnesses share: a free port, a temp folder the server's own user owns,
// starting a server process as that user and waiting for its "ready" line, stopping it.
import { spawn, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export { freePort } from './free-port.mjs';

/**
 * Who the server runs as. Database servers refuse to run as root (PostgreSQL) or need to be
 * told to (MariaDB), and tests run as root in CI: then the server runs as `user` (its Debian
 * package's account), or `nobody`. Otherwise as ourselves (`uid` undefined).
 */
export function serverUser(user) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { name: undefined, uid: undefined, gid: undefined };
  for (const name of [user, 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      return { name, uid, gid };
    } catch {
      /* no such account: the next */
    }
  }
  throw new Error(`running as root and neither the ${user} account nor nobody exists to run the database server as`);
}

/** A new temp folder owned by `who` (the server writes its data and socket there). */
export function serverDir(prefix, who) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (who.uid !== undefined) chownSync(dir, who.uid, who.gid);
  return dir;
}

/** Runs a command as `who` to its end; rejects with its output when it fails. */
export function runAs(who, cmd, args, { timeoutMs = 120_000, what = cmd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { uid: who.uid, gid: who.gid, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${what} could not run (${cmd}): ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${what} failed (${signal ?? 'exit ' + code}):\n${out.slice(-4000)}`));
    });
  });
}

/**
 * Starts a long-running server as `who`, resolving once a line of its output matches `ready`;
 * rejects with its output when it exits first or is not ready within `timeoutMs`. The server is
 * killed when this process exits, whatever happens to the test.
 */
export function startServer(who, cmd, args, { ready, timeoutMs = 60_000, what = cmd }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { uid: who.uid, gid: who.gid, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    let settled = false;
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const fail = (why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${what} could not start: ${why}\n--- its output ---\n${out.slice(-4000)}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const onData = (d) => {
      out += d;
      if (!settled && ready.test(out)) {
        settled = true;
        clearTimeout(timer);
        resolve({
          child,
          output: () => out,
          async stop() {
            process.off('exit', killOnExit);
            if (child.exitCode !== null || child.signalCode !== null) return;
            const exited = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', (err) => fail(`${cmd}: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? 'code ' + code})`));
  });
}

export function removeDir(dir) {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}

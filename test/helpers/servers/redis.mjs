// A real redis-server (Debian's `redis-server` package) for one test file: started on a free
// port in a temporary folder (no persistence, no config file from /etc), stopped by `stop()`.
// When it cannot start, `startRedis()` rejects with a message saying why and how to install it,
// so the tests that need it fail instead of being skipped.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './free-port.mjs';

const BIN = process.env.REDIS_SERVER_BIN || 'redis-server';

/** Whether a redis-server binary is on PATH (for the demo, which runs on without one). */
export function redisAvailable() {
  const r = spawnSync(BIN, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Starts redis-server; resolves with { port, host, url, dir, stop(), log() }. */
export async function startRedis({ timeoutMs = 15_000 } = {}) {
  if (!redisAvailable()) {
    throw new Error(`redis-server could not be run (${BIN}): install Debian's redis-server package (apt-get install redis-server) or set REDIS_SERVER_BIN`);
  }
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(timeoutMs);
    } catch (err) {
      lastError = err;
      if (!/Address already in use/.test(String(err.message))) break;
    }
  }
  throw lastError;
}

async function startOnce(timeoutMs) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tw-redis-'));
  const child = spawn(BIN, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (log += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let dead = null;
  child.once('exit', (code, signal) => (dead = `redis-server exited (${code ?? signal}) before accepting connections on port ${port}:\n${log}`));
  child.once('error', (err) => (dead = `redis-server could not be started: ${err.message}`));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, timeoutMs, () => dead);
  } catch (err) {
    await stop();
    throw new Error(`redis-server did not start: ${err.message}`);
  }
  return { port, host: '127.0.0.1', url: `redis://127.0.0.1:${port}`, dir, pid: child.pid, stop, log: () => log };
}

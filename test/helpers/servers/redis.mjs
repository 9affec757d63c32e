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
export async function startRedis({ timeoutMs = 15_000, extraArgs } = {}) {
  if (!redisAvailable()) {
    throw new Error(`redis-server could not be run (${BIN}): install Debian's redis-server package (apt-get install redis-server) or set REDIS_SERVER_BIN`);
  }
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(timeoutMs, extraArgs);
    } catch (err) {
      lastError = err;
      if (!/Address already in use/.test(String(err.message))) break;
    }
  }
  throw lastError;
}

async function startOnce(timeoutMs, extra = async () => []) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tw-redis-'));
  const child = spawn(BIN, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no', ...(await extra())], {
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

const CLI = process.env.REDIS_CLI_BIN || 'redis-cli';

/**
 * A Redis Cluster of `masters` redis-server processes (no replicas), each on free ports (its
 * client port and, given explicitly, its cluster bus port) in its own temporary folder, joined
 * with `redis-cli --cluster create`. Resolves with { nodes: [{ host, port }], stop(), log() }
 * once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster({ masters = 3, timeoutMs = 30_000 } = {}) {
  const nodes = [];
  const stopAll = () => Promise.all(nodes.map((n) => n.stop()));
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await startRedis({
          timeoutMs,
          extraArgs: async () => ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000', '--cluster-port', String(await freePort())],
        }),
      );
    }
    const create = spawnSync(CLI, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: timeoutMs });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (${create.status ?? create.error?.message}):\n${create.stdout}\n${create.stderr}`);
    const end = Date.now() + timeoutMs;
    for (const n of nodes) {
      for (;;) {
        const info = spawnSync(CLI, ['-h', '127.0.0.1', '-p', String(n.port), 'cluster', 'info'], { encoding: 'utf8', timeout: 5000 });
        if (/cluster_state:ok/.test(info.stdout ?? '')) break;
        if (Date.now() > end) throw new Error(`the cluster did not become ready on port ${n.port}:\n${info.stdout}${info.stderr}\n${n.log()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { nodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), stop: stopAll, log: () => nodes.map((n) => n.log()).join('\n') };
}

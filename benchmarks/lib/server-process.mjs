// Child processes with IPC: a variant's server under test (started with the variant's node
// flags and environment) and the helpers the harness uses to talk to any child. Every child
// is killed if the harness exits or is interrupted.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const children = new Set();
function killAll() {
  for (const c of children) c.kill('SIGKILL');
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

const TAIL = 4000;

/**
 * fork() whose stdout/stderr are kept (last few KB) for error messages, killed on our exit.
 * `cpus` ('0', '1', '0,1') starts it under `taskset -c`, every thread pinned from the start.
 */
export function forkChild(script, args, { execPath = process.execPath, execArgv = [], env, cwd = repoRoot, cpus } = {}) {
  const pinned = cpus != null && cpus !== '';
  const child = fork(script, args, {
    execPath: pinned ? 'taskset' : execPath,
    execArgv: pinned ? ['-c', String(cpus), execPath, ...execArgv] : execArgv,
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (d) => {
    output += d;
    if (output.length > 2 * TAIL) output = output.slice(-TAIL);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // A failed send() to a dead child emits 'error'; the exit itself is what gets reported.
  child.on('error', () => {});
  child.outputTail = () => output.slice(-TAIL).trim();
  child.alive = () => child.exitCode === null && child.signalCode === null;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** "exited with code 1 (Error: Cannot find module ...)", then the end of its output, indented. */
export function describeExit(child) {
  const how = child.signalCode ? `killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
  const tail = child.outputTail();
  if (!tail) return how;
  const lines = tail.split('\n');
  const cause = lines.find((l) => /^\w*(Error|Exception)\b|^\w+Error:|^Error \[/.test(l.trim())) ?? lines.filter((l) => l.trim()).at(-1);
  return `${how} (${cause.trim().slice(0, 300)}); its output ended with:\n${lines.slice(-15).map((l) => `    ${l}`).join('\n')}`;
}

/**
 * Starts every variant's server, each exporting to its own URL of `sink` (a startSinkProcess
 * handle), with the service tags every benchmark uses. Returns { servers, failed }: a variant
 * that did not start is in `failed` with the reason (and logged), not fatal.
 */
export async function startVariantServers(variants, { script, serverEnv = {}, execPath, cpus, sink, log }) {
  const servers = {};
  const failed = {};
  for (const v of variants) {
    const env = { ...serverEnv, DD_SERVICE: 'bench', DD_ENV: 'bench', DD_VERSION: '1.0.0', DD_TRACE_AGENT_URL: sink.urls[v.name] };
    const s = await startServer(v, { script, env, execPath, cpus });
    if (s.error) {
      failed[v.name] = `did not start: ${s.error}`;
      log(`!! ${v.name} did not start: ${s.error}`);
    } else {
      servers[v.name] = s;
      log(`${v.name}: pid ${s.child.pid}, port ${s.port}${v.execArgv?.length ? `, node ${v.execArgv.join(' ')}` : ''}`);
    }
  }
  return { servers, failed };
}

/** Resolves with the first message matching `pred`; rejects if the child exits or on timeout. */
export function waitMessage(child, pred, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    if (!child.alive()) return reject(new Error(`${what}: process ${describeExit(child)}`));
    const timer = setTimeout(() => done(new Error(`${what}: nothing within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m) => {
      if (pred(m)) done(null, m);
    };
    const onExit = () => setImmediate(() => done(new Error(`${what}: process ${describeExit(child)}`)));
    function done(err, m) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Asks the child to exit, then kills it after `graceMs`. */
export async function stopChild(child, graceMs = 3000) {
  if (!child.alive()) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    child.send({ type: 'exit' });
  } catch {}
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a variant's server: `node <variant.execArgv> script`, cwd the repository root (so
 * `tracewell/register` resolves to this checkout), a minimal environment plus `env` and the
 * variant's own. Resolves with a server handle, or with { name, error } if it did not report a
 * port within `timeoutMs`: a variant that fails to start is reported, not fatal.
 */
export async function startServer(variant, { script, env = {}, execPath = process.execPath, timeoutMs = 20_000, cpus }) {
  // A dead-letter folder of its own: in the shared default one, every traced server adopted
  // and replayed the files earlier runs left (128 MB of them here), in the measured windows.
  const dlq = mkdtempSync(join(tmpdir(), 'tw-bench-dlq-'));
  const child = forkChild(script, [], {
    execPath,
    cpus,
    execArgv: variant.execArgv ?? [],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TRACEWELL_DLQ_DIR: dlq, ...env, ...(variant.env ?? {}) },
  });
  child.once('exit', () => rmSync(dlq, { recursive: true, force: true }));
  let port;
  try {
    ({ port } = await waitMessage(child, (m) => m?.type === 'listening', timeoutMs, `${variant.name} server start`));
  } catch (err) {
    child.kill('SIGKILL');
    return { name: variant.name, error: err.message };
  }
  let nextId = 0;
  return {
    name: variant.name,
    port,
    child,
    alive: () => child.alive(),
    describeExit: () => describeExit(child),
    /** Cumulative { cpuMicros, rss, requests, hrMicros } read in the server, now. */
    async usage(timeoutMs = 10_000) {
      const id = ++nextId;
      const reply = waitMessage(child, (m) => m?.type === 'usage' && m.id === id, timeoutMs, `${variant.name} usage`);
      try {
        child.send({ type: 'usage', id });
      } catch (err) {
        reply.catch(() => {});
        throw err;
      }
      const m = await reply;
      return { cpuMicros: m.cpu.user + m.cpu.system, mainCpuMicros: m.mainCpuMicros ?? NaN, rss: m.rss, requests: m.requests, hrMicros: m.hrMicros };
    },
    stop: () => stopChild(child),
  };
}

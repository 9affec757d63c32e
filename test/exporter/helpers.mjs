// Shared pieces of the export tests: a traced child process on request, fast timings, a port
// nothing listens on, a fresh dead-letter folder, and reading what is on disk.
import { mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { dist, launch, until } from '../helpers/common.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** Finished traces encoded with /v0.4 and with /v0.5 and decoded back: { v04, v05 }, lists of traces. */
export function decodeBoth(config, traces) {
  const { DatadogEncoder } = dist('exporter/encoders/datadog-v04.js');
  const { DatadogV05Encoder } = dist('exporter/encoders/datadog-v05.js');
  const { decodeTraces } = dist('dev-agent/decode-traces.js');
  const run = (Encoder, format) => {
    const e = new Encoder(config, { runtimeId: 'rt' });
    for (const t of traces) e.append(t);
    return decodeTraces(e.seal().body, format);
  };
  return { v04: run(DatadogEncoder, '0.4'), v05: run(DatadogV05Encoder, '0.5') };
}

/** Timings short enough for tests; the behaviour is the same as with the defaults. */
export const FAST = {
  TRACEWELL_FLUSH_INTERVAL_MS: '50',
  // Not short: a request still in flight when its timeout passes is sent again, and on a loaded
  // machine the agent may have taken the first one (at least once, not exactly once). Tests of
  // timeouts set their own.
  TRACEWELL_EXPORT_TIMEOUT_MS: '10000',
  TRACEWELL_EXPORT_BACKOFF_MS: '20',
  TRACEWELL_EXPORT_RETRY_DEADLINE_MS: '3000',
  TRACEWELL_BREAKER_PROBE_MS: '50',
  TRACEWELL_BREAKER_PROBE_MAX_MS: '200',
  TRACEWELL_DLQ_REPLAY_BYTES_PER_SEC: '104857600',
  // Long enough for an exit's flush on a loaded machine; tests of the deadline set their own.
  TRACEWELL_SHUTDOWN_TIMEOUT_MS: '10000',
};

/**
 * A port nothing listens on, and nothing else in the suite will: taken below the kernel's
 * ephemeral range (32768-60999 on Linux), where `listen(0)` of other tests running at the same
 * time never lands. A port from `listen(0)` itself, closed again, was handed to another test's
 * server now and then, and a "dead" agent answered.
 */
export async function deadPort() {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const srv = createServer();
    const free = await new Promise((r) => {
      srv.once('error', () => r(false));
      srv.listen(port, '127.0.0.1', () => r(true));
    });
    if (!free) continue;
    await new Promise((r) => srv.close(r));
    return port;
  }
}

const made = [];
/** A fresh folder, removed when the test file ends (`cleanup()`). */
export function tempDir(prefix = 'tw-dlq-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
export function cleanup() {
  for (const d of made.splice(0)) {
    try {
      chmodSync(d, 0o700);
    } catch {}
    rmSync(d, { recursive: true, force: true });
  }
}

/** Files in a service's dead-letter folder. */
export function dlqFiles(dir, service) {
  try {
    return readdirSync(join(dir, service)).sort();
  } catch {
    return [];
  }
}

/** Records of every `.dlq` file of a service folder (decoded with the SDK's reader). */
export function dlqRecords(dir, service, { rejected = false } = {}) {
  const { scanRecords } = dist('delivery/dead-letter/framing.js');
  const out = [];
  for (const f of dlqFiles(dir, service)) {
    if (!f.endsWith('.dlq') || f.startsWith('rejected-') !== rejected) continue;
    const { records, skipped } = scanRecords(readFileSync(join(dir, service, f)));
    out.push(...records.map((r) => ({ ...r, file: f, skippedInFile: skipped })));
  }
  return out;
}

/**
 * Starts test/exporter/fixtures/emitter.cjs with the preload. Resolves once it is ready with
 * { child, pid, call(cmd, args), stderr(), stdout(), exited, waitEvent(name) }.
 */
export function startEmitter({ env = {}, uid, gid, via, timeoutMs = 120_000 } = {}) {
  const p = launch(join(here, 'fixtures', 'emitter.cjs'), {
    ipc: true,
    execArgv: ['--require', 'tracewell/register'],
    env: { PATH: process.env.PATH, DD_ENV: 'test', ...FAST, ...env },
    uid,
    gid,
    via,
  });
  const { child, exited } = p;
  const waitEvent = (name, ms = 30_000) => p.nextMessage((m) => m && m.event === name, ms, () => `no "${name}" from the emitter in ${ms} ms; stderr:\n${p.stderr()}`);
  const call = (cmd, args = {}, ms = 60_000) => {
    const reply = p.nextMessage((m) => m && m.reply === cmd, ms, () => `no reply to ${cmd} in ${ms} ms; stderr:\n${p.stderr()}`);
    child.send({ cmd, ...args });
    return reply;
  };
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`emitter did not start in ${timeoutMs} ms; stderr:\n${p.stderr()}`));
    }, timeoutMs);
    exited.then(({ code, signal }) => reject(new Error(`emitter exited (${code ?? signal}) before it was ready; stderr:\n${p.stderr()}`)));
    waitEvent('ready', timeoutMs).then((m) => {
      clearTimeout(t);
      resolve({
        child,
        pid: m.pid,
        call,
        waitEvent,
        exited,
        stderr: p.stderr,
        stdout: p.stdout,
        stats: async () => (await call('stats')).stats,
        kill: p.kill,
      });
    }, reject);
  });
}

/** Span names the agent received, with counts. */
export function namesSeen(agent, prefix) {
  const counts = new Map();
  for (const s of agent.allSpans()) if (s.name.startsWith(prefix)) counts.set(s.name, (counts.get(s.name) ?? 0) + 1);
  return counts;
}

/** Names the emitter makes for `n` traces of `prefix`. */
export function expectedNames(prefix, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(`${prefix}-${i}`, `${prefix}-${i}.child`);
  return out;
}

/**
 * Once the sender says it is done (`settled`: nothing pending, the backlog replayed), waits for
 * what the agent received to stay put: `total()` (e.g. every span it decoded) unchanged over
 * `quietMs`. A payload sent once more after the sender counted it (a replayed payload sent
 * twice, a retry after an acknowledgement) lands before that, and is counted. Resolves with the
 * last total.
 */
export async function afterBacklogSettles(total, settled, { quietMs = 1500, ms = 30_000, describe } = {}) {
  await until(settled, 'the backlog settled', ms, 40, describe);
  let last = total();
  let since = Date.now();
  await until(
    () => {
      const now = total();
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= quietMs;
    },
    `what the agent received to stay put for ${quietMs} ms`,
    ms,
    100,
  );
  return last;
}

/** Every span the agent decoded, on both its Datadog and OTLP listeners (what `afterBacklogSettles` watches). */
export const spansReceived = (agent) => () => agent.allSpans().length + agent.otlpSpans.length;

/**
 * Each span of `n` traces of `prefix` (as the emitter names them) counted once in `seen`
 * (name -> count, as `namesSeen` returns), none missing, none extra.
 */
export function assertEachOnce(seen, prefix, n) {
  const want = expectedNames(prefix, n);
  assert.deepEqual(want.filter((x) => !seen.has(x)).slice(0, 5), [], `${prefix}: spans never arrived`);
  assert.deepEqual([...seen].filter(([, c]) => c !== 1).slice(0, 5).map(([k, c]) => `${k} x${c}`), [], `${prefix}: spans arrived more than once`);
  assert.equal(seen.size, want.length, `${prefix}: spans that were never sent arrived`);
}

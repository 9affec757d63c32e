// `tracewell dlq ls|show|replay|purge`: the real bin in child processes, on dead-letter files
// written by real traced processes (a Datadog one killed in the middle of an append, an OTLP
// one, one still running), replayed to the real dev agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { agentPool } from '../helpers/apps.mjs';
import { cleanup, deadPort, dlqFiles, dlqRecords, namesSeen, startEmitter, tempDir } from '../exporter/helpers.mjs';
import { root, until } from '../helpers/common.mjs';

const pool = agentPool();
const bin = join(root, 'bin', 'tracewell.js');

/**
 * Runs the bin; resolves with its exit code and output (never rejects on a non-zero code). The
 * limit is for a hang: a replay to a dead agent (two retries) took more than 20 s on a loaded core.
 */
export function tracewell(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

let dir;
let dead;
let live;
const pids = {};

/**
 * A traced process of `service` that dead-letters `bursts` payloads of 5 traces (10 spans), then
 * is killed. Its circuit opens at the first failed send, so every payload goes to the one file
 * being written: with the default three failures, a first send slow enough to run past the
 * retry deadline (a loaded machine: process start, the first connection) left the circuit
 * closed, the flush then tried a replay, which seals the file being written, and the next burst
 * started a second file (two files of one record where the checks below read one of two).
 */
async function producer(service, bursts, env = {}, { tear = false, keep = false } = {}) {
  const app = await startEmitter({ env: { DD_SERVICE: service, DD_TRACE_AGENT_URL: dead, TRACEWELL_DLQ_DIR: dir, TRACEWELL_FLUSH_INTERVAL_MS: '600000', TRACEWELL_BREAKER_FAILURES: '1', ...env } });
  pids[service] = app.pid;
  for (let i = 0; i < bursts; i++) {
    await app.call('traces', { n: 5, prefix: `${service}${i}` });
    await app.call('flush');
  }
  await until(async () => (await app.stats()).deadLetter.payloadsWritten === bursts, `${service}: ${bursts} payloads dead-lettered`);
  if (tear) {
    await app.call('tear');
    await app.call('traces', { n: 5, prefix: `${service}-torn` });
    app.child.send({ cmd: 'flush' });
    await until(() => app.stderr().includes('EMITTER-TORN'), 'the append torn half way');
  }
  if (keep) return app;
  await app.kill('SIGKILL');
  return null;
}

before(async () => {
  dir = tempDir('tw-cli-dlq-');
  dead = `http://127.0.0.1:${await deadPort()}`;
  [, , live] = await Promise.all([
    producer('cli-dd', 3, {}, { tear: true }),
    producer('cli-otlp', 2, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: dead }),
    producer('cli-live', 1, {}, { keep: true }),
    producer('cli-purge', 2),
  ]);
});
after(async () => {
  await live?.kill();
  await pool.closeAll();
  cleanup();
});

const fileOf = (service) => dlqFiles(dir, service).find((f) => f.endsWith('.dlq') && !f.startsWith('rejected-'));

test('dlq ls: each file with its owner running or exited, pending records and spans, bytes, a torn tail', async () => {
  const { code, stdout } = await tracewell(['dlq', 'ls', dir]);
  assert.equal(code, 0, stdout);
  const line = (service) => stdout.split('\n').find((l) => l.includes(fileOf(service)));
  const dd = line('cli-dd');
  assert.match(dd, new RegExp(`datadog  pid ${pids['cli-dd']} exited  3 pending records \\(30 spans\\), 0 done, ${statSync(join(dir, 'cli-dd', fileOf('cli-dd'))).size} bytes, 1 damaged record \\(torn tail\\)`));
  assert.match(line('cli-otlp'), new RegExp(`otlp  pid ${pids['cli-otlp']} exited  2 pending records \\(20 spans\\)`));
  assert.match(line('cli-live'), new RegExp(`datadog  pid ${pids['cli-live']} running  1 pending record \\(10 spans\\)`));
  assert.ok(!line('cli-otlp').includes('damaged'));
  assert.match(stdout, /4 files, 8 pending records, 80 spans/);
  // One service's folder given directly, or --service.
  const one = await tracewell(['dlq', 'ls', join(dir, 'cli-otlp')]);
  assert.match(one.stdout, /1 file, 2 pending records, 20 spans/);
  const svc = await tracewell(['dlq', 'ls', '--service', 'cli-live'], { TRACEWELL_DLQ_DIR: dir });
  assert.match(svc.stdout, /1 file, 1 pending records, 10 spans/, 'the root from TRACEWELL_DLQ_DIR, like the SDK');
});

test('dlq show: records decoded as span trees, Datadog msgpack and OTLP protobuf', async () => {
  const { code, stdout } = await tracewell(['dlq', 'show', join(dir, 'cli-dd')]);
  assert.equal(code, 0, stdout);
  assert.match(stdout, /1 damaged record skipped/);
  assert.equal(stdout.match(/^record at \d+: pending, datadog v0\.4, 5 traces, 10 spans/gm).length, 3);
  for (let b = 0; b < 3; b++) for (let i = 0; i < 5; i++) assert.match(stdout, new RegExp(`cli-dd  cli-dd${b}-${i}  cli-dd${b}-${i}  [\\d.]+ ms\\n\\s+└─ cli-dd  cli-dd${b}-${i}\\.child`));
  assert.ok(!stdout.includes('torn'), 'the torn record is not shown');
  const otlp = await tracewell(['dlq', 'show', join(dir, 'cli-otlp')]);
  assert.equal(otlp.stdout.match(/^record at \d+: pending, otlp, 5 traces, 10 spans/gm).length, 2);
  assert.match(otlp.stdout, /cli-otlp  cli-otlp1-4  cli-otlp1-4/);
  const limited = await tracewell(['dlq', 'show', dir, '--limit', '2']);
  assert.equal(limited.stdout.match(/^record at/gm).length, 2);
  assert.match(limited.stdout, /6 more records not shown/);
});

test('dlq replay: nothing removed while the agent is down; then every record sent exactly once and the files removed, a running process left alone', async () => {
  const before = dlqRecords(dir, 'cli-dd').length;
  const down = await tracewell(['dlq', 'replay', dir, '--service', 'cli-dd', '--agent', dead]);
  assert.equal(down.code, 1, down.stdout);
  assert.match(down.stdout, /stopped: .*ECONNREFUSED.*what was not accepted stays in/);
  assert.equal(dlqRecords(dir, 'cli-dd').filter((r) => r.state === 0).length, before);

  const agent = await pool.newAgent({ otlpPort: 0 });
  // The agent and OTLP URLs from the environment, as the SDK reads them (--agent/--otlp override).
  const { code, stdout } = await tracewell(['dlq', 'replay', dir], { DD_TRACE_AGENT_URL: agent.url, OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl });
  assert.equal(code, 0, stdout);
  assert.ok(stdout.includes(`replaying cli-dd (datadog) to ${agent.url}\n  3 payloads (30 spans) accepted`), stdout);
  assert.ok(stdout.includes(`replaying cli-otlp (otlp) to ${agent.otlpUrl}/v1/traces\n  2 payloads (20 spans) accepted`), stdout);
  assert.match(stdout, /replaying cli-purge \(datadog\) .*\n\s+2 payloads \(20 spans\) accepted/);
  assert.match(stdout, new RegExp(`pid ${pids['cli-live']} is running and owns it; left to it`));
  for (let b = 0; b < 3; b++) {
    const seen = namesSeen(agent, `cli-dd${b}-`);
    assert.equal(seen.size, 10);
    assert.ok([...seen.values()].every((n) => n === 1), 'exactly once');
  }
  assert.equal(namesSeen(agent, 'cli-dd-torn').size, 0);
  assert.equal(namesSeen(agent, 'cli-live').size, 0);
  assert.equal(agent.otlpSpans.filter((s) => s.name.startsWith('cli-otlp')).length, 20);
  for (const s of ['cli-dd', 'cli-otlp', 'cli-purge']) assert.deepEqual(dlqFiles(dir, s).filter((f) => f.endsWith('.dlq')), [], s);
  assert.equal(dlqRecords(dir, 'cli-live').length, 1);
  // A second replay has nothing left to send.
  const again = await tracewell(['dlq', 'replay', dir, '--agent', agent.url]);
  assert.equal(again.code, 0);
  assert.ok(!again.stdout.includes('accepted'), again.stdout);
  assert.equal(agent.allSpans().length, 50);
});

test('dlq purge: lists without --yes, removes the files of exited processes with it, never those of a running one', async () => {
  const gone = await producer('cli-gone', 1);
  assert.equal(gone, null);
  const ask = await tracewell(['dlq', 'purge', dir]);
  assert.equal(ask.code, 2, ask.stdout);
  assert.match(ask.stdout, /would remove .*cli-gone.*\.dlq/);
  assert.match(ask.stdout, /1 file \(10 spans\) would be removed: run again with --yes/);
  assert.match(ask.stdout, new RegExp(`cli-live.*pid ${pids['cli-live']} is running and owns it; left alone`));
  assert.equal(dlqRecords(dir, 'cli-gone').length, 1, 'nothing removed without --yes');
  const yes = await tracewell(['dlq', 'purge', dir, '--yes']);
  assert.equal(yes.code, 0, yes.stdout);
  assert.match(yes.stdout, /removed 1 file \(10 spans\)/);
  assert.deepEqual(dlqFiles(dir, 'cli-gone'), [], 'the file and its exited owner file are gone');
  assert.equal(dlqRecords(dir, 'cli-live').length, 1);
  const ls = await tracewell(['dlq', 'ls', dir]);
  assert.match(ls.stdout, /1 file, 1 pending records, 10 spans/);
});

test('dlq: a bad subcommand or option is a usage error', async () => {
  const r = await tracewell(['dlq', 'list', dir]);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /unknown subcommand "list"\ntracewell dlq ls\|show\|replay\|purge/);
  const o = await tracewell(['dlq', 'ls', dir, '--bogus']);
  assert.equal(o.code, 2);
  assert.match(o.stdout, /unknown option --bogus/);
});

// The dead-letter scenarios, written once and run for each exporter (the Datadog Agent and an
// OTLP collector): the endpoint down for a whole run and then up, SIGTERM while it is down and
// the next process replaying, SIGKILL in the middle of an append. Every span counted at the
// endpoint after the backlog settled: each exactly once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { agentPool } from '../helpers/apps.mjs';
import { until } from '../helpers/common.mjs';
import { afterBacklogSettles, assertEachOnce, cleanup, deadPort, dlqFiles, dlqRecords, namesSeen, spansReceived, startEmitter, tempDir } from './helpers.mjs';

const pool = agentPool();
after(() => Promise.all([pool.closeAll(), Promise.resolve(cleanup())]));

/** Span names an agent's OTLP listener received, with counts. */
function otlpSeen(agent, prefix) {
  const counts = new Map();
  for (const s of agent.otlpSpans) if (s.name.startsWith(prefix)) counts.set(s.name, (counts.get(s.name) ?? 0) + 1);
  return counts;
}

const EXPORTERS = [
  {
    name: 'Datadog Agent',
    file: /^dd-\d{13}-\d+-[0-9a-f]{8}-\d{6}\.dlq$/,
    recordKind: 1,
    env: (port) => ({ DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}` }),
    up: (port) => pool.newAgent({ port }),
    seen: namesSeen,
  },
  {
    name: 'OTLP collector',
    file: /^otlp-\d{13}-\d+-[0-9a-f]{8}-\d{6}\.dlq$/,
    recordKind: 2,
    env: (port) => ({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '10000' }),
    up: (port) => pool.newAgent({ port: 0, otlpPort: port }),
    seen: otlpSeen,
  },
];

/** Once the backlog settled and nothing more arrives, each expected span exactly once. */
async function assertExactlyOnce(ex, agent, prefixes, settled) {
  await afterBacklogSettles(spansReceived(agent), settled);
  for (const [prefix, n] of prefixes) assertEachOnce(ex.seen(agent, prefix + '-'), prefix, n);
}

for (const ex of EXPORTERS) {
  test(`${ex.name} down for the whole run, then up: every span arrives exactly once, live data first, the files removed`, async () => {
    const dir = tempDir();
    const port = await deadPort();
    const service = `down-up-${ex.recordKind}`;
    const app = await startEmitter({ env: { ...ex.env(port), DD_SERVICE: service, TRACEWELL_DLQ_DIR: dir, TRACEWELL_DLQ_REPLAY_BYTES_PER_SEC: '100000' } });
    try {
      for (let burst = 0; burst < 3; burst++) {
        await app.call('traces', { n: 100, prefix: `b${burst}` });
        await app.call('flush');
      }
      const s = await until(async () => {
        const st = await app.stats();
        return st.deadLetter.spansWritten === 600 && st.circuit !== 'closed' && st;
      }, 'all 600 spans dead-lettered and the circuit open');
      assert.equal(s.spansSent, 0);
      assert.equal(s.spansPending, 0);
      assert.equal(s.dropped.sendFailed + s.dropped.deadLetterFailed + s.dropped.bufferFull, 0);
      const files = dlqFiles(dir, service).filter((f) => f.endsWith('.dlq'));
      assert.ok(files.length > 0 && files.every((f) => ex.file.test(f)), files.join());
      for (const f of files) assert.equal(statSync(join(dir, service, f)).mode & 0o777, 0o600, f);
      assert.equal(statSync(join(dir, service)).mode & 0o777, 0o700);
      assert.ok(dlqRecords(dir, service).every((r) => r.kind === ex.recordKind));

      // The endpoint comes up on that port: the probe finds it, the backlog is replayed in the
      // background (throttled to ~100 KB/s), and live data made meanwhile goes first.
      const agent = await ex.up(port);
      await until(async () => (await app.stats()).circuit === 'closed', 'the circuit closed by a probe');
      await app.call('traces', { n: 10, prefix: 'live' });
      await app.call('flush');
      await assertExactlyOnce(ex, agent, [['b0', 100], ['b1', 100], ['b2', 100], ['live', 10]], async () => {
        const st = await app.stats();
        return st.deadLetter.spansReplayed === 600 && st.deadLetter.bytesOnDisk === 0 && st.spansPending === 0;
      });
      if (ex.recordKind === 1) {
        const order = agent.allSpans().map((x) => x.name);
        const firstLive = order.findIndex((n) => n.startsWith('live-'));
        const lastBacklog = order.findLastIndex((n) => /^b\d-/.test(n));
        assert.ok(firstLive < lastBacklog, `live spans (from ${firstLive}) waited for the backlog (to ${lastBacklog})`);
      }
      const done = await app.stats();
      assert.equal(done.circuit, 'closed');
      assert.equal(done.spansSent, 620);
      assert.equal(done.deadLetter.payloadsReplayed, done.deadLetter.payloadsWritten);
      assert.deepEqual(dlqFiles(dir, service).filter((f) => f.endsWith('.dlq')), []);
    } finally {
      await app.kill();
    }
  });

  test(`${ex.name}: SIGTERM while it is down ends the process as it would have; the next process replays everything, once`, async () => {
    const dir = tempDir();
    const port = await deadPort();
    const service = `sigterm-${ex.recordKind}`;
    const env = { ...ex.env(port), DD_SERVICE: service, TRACEWELL_DLQ_DIR: dir, TRACEWELL_FLUSH_INTERVAL_MS: '600000' };
    const first = await startEmitter({ env });
    await first.call('traces', { n: 50, prefix: 'term' });
    first.child.kill('SIGTERM');
    const { code, signal } = await first.exited;
    assert.equal(signal, 'SIGTERM', `exit code ${code}: the default SIGTERM behaviour must be kept`);
    assert.equal(dlqRecords(dir, service).reduce((a, r) => a + r.items, 0), 100, first.stderr());

    const agent = await ex.up(port);
    const second = await startEmitter({ env });
    try {
      await assertExactlyOnce(ex, agent, [['term', 50]], async () => (await second.stats()).deadLetter.spansReplayed === 100 && dlqFiles(dir, service).filter((f) => f.endsWith('.dlq')).length === 0);
    } finally {
      await second.kill();
    }
  });

  test(`${ex.name}: SIGKILL in the middle of an append: the torn record is skipped, every earlier record is replayed once`, async () => {
    const dir = tempDir();
    const port = await deadPort();
    const service = `torn-${ex.recordKind}`;
    const env = { ...ex.env(port), DD_SERVICE: service, TRACEWELL_DLQ_DIR: dir, TRACEWELL_FLUSH_INTERVAL_MS: '600000' };
    // Its circuit opens at the first failure, so every record goes to the one file being written
    // (with three, a first send slow enough to pass the retry deadline left the circuit closed; a
    // replay then sealed the file and the torn record was in a second one).
    const first = await startEmitter({ env: { ...env, TRACEWELL_BREAKER_FAILURES: '1' } });
    for (let i = 0; i < 4; i++) {
      await first.call('traces', { n: 10, prefix: `kept${i}` });
      await first.call('flush');
    }
    await until(async () => (await first.stats()).deadLetter.payloadsWritten === 4, 'four records written');
    await first.call('tear');
    await first.call('traces', { n: 10, prefix: 'torn' });
    first.child.send({ cmd: 'flush' });
    await until(() => first.stderr().includes('EMITTER-TORN'), 'the append torn half way');
    await first.kill('SIGKILL');
    const onDisk = dlqRecords(dir, service);
    assert.equal(onDisk.length, 4, 'four whole records before the torn one');
    assert.equal(onDisk[0].skippedInFile, 1, 'the torn tail is detected');

    const agent = await ex.up(port);
    const second = await startEmitter({ env });
    try {
      await assertExactlyOnce(
        ex,
        agent,
        [0, 1, 2, 3].map((i) => [`kept${i}`, 10]),
        async () => {
          const st = await second.stats();
          return st.deadLetter.recordsSkipped === 1 && st.deadLetter.spansReplayed === 80;
        },
      );
      assert.equal(ex.seen(agent, 'torn-').size, 0);
      assert.match(second.stderr(), /TW_DLQ_DAMAGED.*skipped 1 damaged record/);
    } finally {
      await second.kill();
    }
  });
}

// Export that never fails the service: real child processes, the real dev agent, real files.
// Flapping, slow, 500/503/429/413/400, an app's own SIGTERM handler, a read-only or full
// dead-letter folder, and what the log says during an outage. (The agent down then up,
// SIGTERM and SIGKILL while it is down: dead-letter-scenarios.test.mjs, for each exporter.)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { agentPool } from '../helpers/apps.mjs';
import { afterBacklogSettles, assertEachOnce, cleanup, deadPort, dlqFiles, dlqRecords, namesSeen, spansReceived, startEmitter, tempDir } from './helpers.mjs';
import { until } from '../helpers/common.mjs';

const pool = agentPool();
after(() => Promise.all([pool.closeAll(), Promise.resolve(cleanup())]));

test('flapping, slow, 500, 503, 429 with Retry-After, 413 and 400: nothing lost but the 400 payload, which is in the rejected file', async () => {
  const dir = tempDir();
  const agent = await pool.newAgent();
  const app = await startEmitter({
    env: {
      DD_SERVICE: 'rough-agent',
      DD_TRACE_AGENT_URL: agent.url,
      TRACEWELL_DLQ_DIR: dir,
      // Long enough that a loaded agent's normal answer is not retried; the slow answer below is far later.
      TRACEWELL_EXPORT_TIMEOUT_MS: '1500',
      TRACEWELL_FLUSH_INTERVAL_MS: '600000',
      TRACEWELL_BREAKER_FAILURES: '50',
    },
  });
  const script = [];
  const seen = [];
  agent.setResponder(({ path }) => {
    if (!/^\/v0\.[45]\/traces$/.test(path)) return null;
    const next = script.shift();
    seen.push(next ? JSON.stringify(next) : 'normal');
    return next ?? null;
  });
  // One scripted case at a time: a round ends when its spans are in (or in the rejected
  // file) and nothing waits for replay, so no answer meant for one case is used by another.
  const round = async (prefix, answers, { rejected = false } = {}) => {
    script.push(...answers);
    await app.call('traces', { n: 5, prefix });
    await app.call('flush');
    await until(async () => {
      const st = await app.stats();
      const settled = st.deadLetter.spansWritten === st.deadLetter.spansReplayed && st.spansPending === 0;
      return settled && (rejected || namesSeen(agent, prefix + '-').size >= 10);
    }, `round ${prefix} settled`);
    assert.equal(script.length, 0, `round ${prefix} used every scripted answer`);
  };
  try {
    // Flapping: connections dropped, then an answer.
    await round('flap', [{ destroy: true }, { destroy: true }]);
    // Slow past the timeout (then the agent drops the connection: it never takes that attempt).
    await round('slow', [{ delayMs: 10_000, destroy: true }]);
    await round('e500', [{ status: 500 }]);
    await round('e503', [{ status: 503 }, { status: 503 }]);
    await round('e429', [{ status: 429, headers: { 'retry-after': '1' } }]);
    await round('e413', [{ status: 413 }]);
    await round('e400', [{ status: 400, body: '{"error":"decode traces: bad"}' }], { rejected: true });
    const at429 = agent.requests.findIndex((r) => r.status === 429);
    const after429 = agent.requests.slice(at429 + 1).find((r) => /^\/v0\.[45]\/traces$/.test(r.path) && r.status !== 0);
    assert.ok(after429.time - agent.requests[at429].time >= 950, `retried ${after429.time - agent.requests[at429].time} ms after a Retry-After of 1 s`);

    // The 500 payload was not hammered: it went to the dead-letter file and comes back by replay.
    // Counted once the backlog settled and the agent's total stayed put: each span exactly once.
    let s;
    await afterBacklogSettles(spansReceived(agent), async () => {
      s = await app.stats();
      return s.deadLetter.spansReplayed >= 10 && s.deadLetter.spansReplayed === s.deadLetter.spansWritten && s.spansPending === 0;
    });
    for (const p of ['flap', 'slow', 'e500', 'e503', 'e429', 'e413']) assertEachOnce(namesSeen(agent, p + '-'), p, 5);
    assert.equal(namesSeen(agent, 'e400-').size, 0, 'the 400 payload is never sent again');
    assert.equal(s.dropped.rejected, 10);
    assert.equal(s.deadLetter.spansRejected, 10);
    assert.ok(s.retries >= 5, `retries: ${s.retries}`);
    assert.equal(s.dropped.sendFailed + s.dropped.deadLetterFailed + s.dropped.bufferFull + s.dropped.encodeFailed, 0);
    // 413: split in halves, each accepted.
    const halves = agent.requests.filter((r) => /^\/v0\.[45]\/traces$/.test(r.path) && r.status === 200 && r.headers['x-datadog-trace-count'] !== '5');
    assert.ok(halves.length >= 2, 'the 413 payload was sent again in parts');
    // The rejected file holds exactly the 400 payload.
    const rejected = dlqRecords(dir, 'rough-agent', { rejected: true });
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0].items, 10);
    const { decodeTraces } = (await import('../helpers/apps.mjs')).devAgentModule();
    assert.deepEqual(decodeTraces(rejected[0].body).flat().map((x) => x.name).filter((n) => !n.endsWith('.child')).sort(), ['e400-0', 'e400-1', 'e400-2', 'e400-3', 'e400-4']);
    assert.match(app.stderr(), /TW_EXPORT_REJECTED.*400/);
    assert.ok(!/\n\s+at /.test(app.stderr()), app.stderr());
  } finally {
    agent.setResponder(null);
    await app.kill();
  }
});

test("an app's own SIGTERM handler still decides: the process is not ended by the SDK, spans are flushed", async () => {
  const agent = await pool.newAgent();
  const app = await startEmitter({ env: { DD_SERVICE: 'own-handler', DD_TRACE_AGENT_URL: agent.url, APP_SIGTERM: '1', TRACEWELL_FLUSH_INTERVAL_MS: '600000', TRACEWELL_SHUTDOWN_TIMEOUT_MS: '60000', TRACEWELL_DLQ_DIR: tempDir() } });
  try {
    await app.call('traces', { n: 3, prefix: 'handled' });
    const got = app.waitEvent('app-sigterm');
    app.child.kill('SIGTERM');
    await got;
    await agent.waitFor(() => namesSeen(agent, 'handled-').size === 6, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(app.child.exitCode, null, 'still running');
    assert.equal(app.child.signalCode, null);
    assert.equal((await app.stats()).spansSent, 6);
  } finally {
    await app.kill();
  }
});

test('a read-only dead-letter folder: no crash, drops counted, one warning', async () => {
  const dir = tempDir();
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  chmodSync(ro, 0o555);
  // root writes anywhere: the app runs as nobody then, for whom the folder is read-only.
  const asRoot = process.getuid?.() === 0;
  const port = await deadPort();
  const app = await startEmitter({
    env: { DD_SERVICE: 'ro-svc', DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}`, TRACEWELL_DLQ_DIR: ro },
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  try {
    for (let i = 0; i < 5; i++) {
      await app.call('traces', { n: 10, prefix: `ro${i}` });
      await app.call('flush');
    }
    const s = await until(async () => {
      const st = await app.stats();
      return st.dropped.deadLetterFailed === 100 && st;
    }, 'every span counted as not written');
    assert.equal(s.deadLetter.spansWritten, 0);
    const lines = app.stderr().trim().split('\n');
    assert.equal(lines.filter((l) => l.includes('TW_DLQ_UNWRITABLE')).length, 1, app.stderr());
    assert.match(app.stderr(), /TW_DLQ_UNWRITABLE.*(EACCES|EROFS|EPERM)/);
    assert.ok(!/\n\s+at /.test(app.stderr()));
    assert.equal(app.child.exitCode, null);
  } finally {
    await app.kill();
  }
});

test('the size limit: the oldest payloads are evicted and counted, one bigger than the limit is dropped, one warning each', async () => {
  const dir = tempDir();
  const port = await deadPort();
  const app = await startEmitter({
    env: { DD_SERVICE: 'capped', DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}`, TRACEWELL_DLQ_DIR: dir, TRACEWELL_DLQ_MAX_BYTES: '6000', TRACEWELL_FLUSH_INTERVAL_MS: '600000' },
  });
  try {
    for (let i = 0; i < 12; i++) {
      await app.call('traces', { n: 20, prefix: `cap${i}` });
      await app.call('flush');
    }
    const s = await until(async () => {
      const st = await app.stats();
      return st.deadLetter.spansWritten === 480 && st;
    }, 'everything written');
    assert.ok(s.dropped.evicted > 0, 'some were evicted');
    assert.ok(s.deadLetter.bytesOnDisk <= 6000, `${s.deadLetter.bytesOnDisk} bytes on disk`);
    const left = dlqRecords(dir, 'capped').reduce((a, r) => a + r.items, 0);
    assert.equal(left + s.dropped.evicted, 480, 'what is on disk plus what was evicted is everything');
    // The newest are kept: the last payload is on disk.
    const { decodeTraces } = (await import('../helpers/apps.mjs')).devAgentModule();
    const names = dlqRecords(dir, 'capped').flatMap((r) => decodeTraces(r.body).flat().map((x) => x.name));
    assert.ok(names.includes('cap11-19'));
    assert.ok(!names.includes('cap0-0'));
    // A payload larger than the whole limit cannot be kept (600 spans, about 200 KB: one
    // payload, below the 256 KiB a payload is sealed at).
    await app.call('traces', { n: 300, prefix: 'huge' });
    await app.call('flush');
    const s2 = await until(async () => {
      const st = await app.stats();
      return st.dropped.deadLetterFailed === 600 && st;
    }, 'the oversized payload dropped');
    assert.equal(s2.deadLetter.spansWritten, 480);
    const err = app.stderr();
    assert.equal(err.split('\n').filter((l) => l.includes('evicted')).length, 1, err);
    assert.equal(err.split('\n').filter((l) => /TW_DLQ_FULL.*larger than the limit/.test(l)).length, 1, err);
    assert.equal(app.child.exitCode, null);
  } finally {
    await app.kill();
  }
});

test('log output during an outage: one warning, summaries with counts, one line when it ends, no stack trace', async () => {
  const dir = tempDir();
  const port = await deadPort();
  const app = await startEmitter({
    env: { DD_SERVICE: 'noisy', DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}`, TRACEWELL_DLQ_DIR: dir, TRACEWELL_OUTAGE_SUMMARY_INTERVAL_MS: '500' },
  });
  try {
    // A long outage made short: summaries every 500 ms instead of every minute. Spans keep
    // coming until three summaries are out (however slow the machine), then the agent comes up.
    const SUMMARY = /still unreachable after \d+ s: \d+ spans dead-lettered, 0 dropped, \d+ retries/;
    const summariesSoFar = () => app.stderr().split('\n').filter((l) => SUMMARY.test(l)).length;
    const started = Date.now();
    let i = 0;
    while (summariesSoFar() < 3) {
      if (Date.now() - started > 60_000) assert.fail(`fewer than 3 summaries in 60 s at one per 500 ms:\n${app.stderr()}`);
      await app.call('traces', { n: 5, prefix: `o${i++}` });
      await new Promise((r) => setTimeout(r, 100));
    }
    const agent = await pool.newAgent({ port });
    await until(() => / answers again after /.test(app.stderr()), 'the end of the outage logged', 30_000);
    await agent.waitFor(() => namesSeen(agent, 'o').size === i * 10, 30_000);
    const lines = app.stderr().trim().split('\n');
    const starts = lines.filter((l) => l.includes('TW_EXPORT_FAILED'));
    assert.equal(starts.length, 1, app.stderr());
    assert.match(starts[0], new RegExp(`cannot send traces to http://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\); spans are written to the dead-letter file in .*noisy`));
    const summaries = lines.filter((l) => SUMMARY.test(l));
    assert.ok(summaries.length >= 3, app.stderr());
    // One per 500 ms: the k-th says "after" at least k/2 s, rounded (a loaded machine only
    // makes them later, and fewer). Read from the lines themselves, not from this test's clock.
    for (const [k, l] of summaries.entries()) {
      const after = Number(/still unreachable after (\d+) s/.exec(l)[1]);
      assert.ok(after >= Math.round((k + 1) / 2) - 1, `summary ${k + 1} came after ${after} s, at one per 500 ms:\n${app.stderr()}`);
    }
    assert.equal(lines.filter((l) => / answers again after /.test(l)).length, 1, app.stderr());
    assert.equal(lines.length, starts.length + summaries.length + 1, app.stderr());
    assert.ok(!/\n\s+at /.test(app.stderr()), 'no stack trace');
  } finally {
    await app.kill();
  }
});

const dnsAnswer = await new Promise((r) => import('node:dns').then((dns) => dns.lookup('no-such-agent.invalid', (e) => r(e?.code))));
test('an unknown agent host is a configuration error with its own message', { skip: dnsAnswer !== 'ENOTFOUND' && `this machine's resolver answers ${dnsAnswer}, not ENOTFOUND, for a .invalid name` }, async () => {
  const dir = tempDir();
  const app = await startEmitter({ env: { DD_SERVICE: 'nohost', DD_TRACE_AGENT_URL: 'http://no-such-agent.invalid:8126', TRACEWELL_DLQ_DIR: dir } });
  try {
    await app.call('traces', { n: 3, prefix: 'nh' });
    await app.call('flush');
    await until(async () => (await app.stats()).deadLetter.spansWritten === 6, 'spans dead-lettered');
    const err = app.stderr();
    assert.match(err, /TW_AGENT_HOST_UNKNOWN.*"no-such-agent\.invalid".*does not resolve.*configuration error.*DD_AGENT_HOST/);
    assert.ok(!err.includes('TW_EXPORT_FAILED'), err);
    assert.equal(err.trim().split('\n').length, 1, err);
  } finally {
    await app.kill();
  }
});

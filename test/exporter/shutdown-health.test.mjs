// shutdown() against an agent that never answers: back within the deadline, every span in the
// dead-letter file. SIGINT and process.exit() leave the spans on disk for the next process.
// Tracer health metrics: the export counters arrive at a real UDP listener
// as DogStatsD lines.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { agentPool } from '../helpers/apps.mjs';
import { afterBacklogSettles, assertEachOnce, cleanup, deadPort, dlqRecords, namesSeen, spansReceived, startEmitter, tempDir } from './helpers.mjs';
import { until } from '../helpers/common.mjs';

const pool = agentPool();
after(() => Promise.all([pool.closeAll(), Promise.resolve(cleanup())]));

test('shutdown() while the agent hangs: it returns within the deadline and what was not acknowledged is in the dead-letter file', async () => {
  const dir = tempDir();
  // An agent that takes connections and never answers, and request and retry timeouts of ten
  // minutes: only the shutdown deadline (800 ms) can end the wait, and a shutdown that ignored
  // it would still be running at the generous outer limit below, however loaded the machine is.
  const silent = createServer(() => {});
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  let connections = 0;
  silent.on('connection', () => connections++);
  const app = await startEmitter({
    env: {
      DD_SERVICE: 'hang-svc',
      DD_TRACE_AGENT_URL: `http://127.0.0.1:${silent.address().port}`,
      TRACEWELL_DLQ_DIR: dir,
      TRACEWELL_FLUSH_INTERVAL_MS: '600000',
      TRACEWELL_EXPORT_TIMEOUT_MS: '600000',
      TRACEWELL_EXPORT_RETRY_DEADLINE_MS: '600000',
      TRACEWELL_SHUTDOWN_TIMEOUT_MS: '800',
    },
  });
  try {
    await app.call('traces', { n: 20, prefix: 'hang' });
    const started = Date.now();
    const { stats } = await app.call('shutdown', {}, 60_000);
    const took = Date.now() - started;
    assert.ok(took >= 700, `shutdown took ${took} ms: it did not wait for the request in flight (deadline 800 ms)`);
    assert.ok(connections > 0, 'the payload was in flight when the deadline passed');
    assert.equal(stats.spansPending, 0);
    assert.equal(stats.spansSent, 0);
    assert.equal(stats.deadLetter.spansWritten, 40);
    assert.equal(stats.dropped.shutdown + stats.dropped.sendFailed + stats.dropped.deadLetterFailed, 0);
    assert.equal(dlqRecords(dir, 'hang-svc').reduce((a, r) => a + r.items, 0), 40);
    assert.ok(!/\n\s+at /.test(app.stderr()), app.stderr());
  } finally {
    await app.kill();
    silent.close();
  }
});

test('health metrics: the export counters go to DogStatsD, tagged with the service', async () => {
  const udp = createSocket('udp4');
  const lines = [];
  udp.on('message', (m) => lines.push(...m.toString('utf8').split('\n')));
  await new Promise((r) => udp.bind(0, '127.0.0.1', r));
  const agent = await pool.newAgent();
  let failures = 1;
  agent.setResponder(({ path }) => (/^\/v0\.[45]\/traces$/.test(path) && failures-- > 0 ? { status: 503 } : null));
  const app = await startEmitter({
    env: { DD_SERVICE: 'health-svc', DD_ENV: 'qa', DD_VERSION: '2.0.0', DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: tempDir(), TRACEWELL_HEALTH_METRICS: 'true', TRACEWELL_DOGSTATSD_URL: `udp://127.0.0.1:${udp.address().port}` },
  });
  try {
    await app.call('traces', { n: 3, prefix: 'hm' });
    await app.call('flush');
    await agent.waitFor(() => namesSeen(agent, 'hm-').size === 6);
    // shutdown() sends the last counts at once (the interval is 10 s).
    await app.call('shutdown');
    await until(() => lines.some((l) => l.startsWith('tracewell.exporter.spans.sent:')), 'the metrics datagram');
    const tags = '#service:health-svc,lang:nodejs,env:qa,version:2.0.0';
    assert.ok(lines.includes(`tracewell.exporter.spans.sent:6|c|${tags}`), lines.join('\n'));
    assert.ok(lines.includes(`tracewell.exporter.payloads.sent:1|c|${tags}`));
    assert.ok(lines.includes(`tracewell.exporter.retries:1|c|${tags}`));
    assert.ok(lines.includes(`tracewell.exporter.spans.pending:0|g|${tags}`));
    assert.ok(lines.includes(`tracewell.exporter.circuit.open:0|g|${tags}`));
    assert.ok(lines.some((l) => l.startsWith('tracewell.exporter.dead_letter.bytes:0|g|')));
    assert.ok(!lines.some((l) => l.startsWith('tracewell.exporter.spans.dropped:')), 'nothing dropped, no drop line');
  } finally {
    agent.setResponder(null);
    await app.kill();
    udp.close();
  }
});

test('SIGINT, and process.exit() from the app, while the agent is down: the spans are on disk and the next process replays them, once', async () => {
  const dir = tempDir();
  const port = await deadPort();
  const env = { DD_SERVICE: 'exit-paths', DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}`, TRACEWELL_DLQ_DIR: dir, TRACEWELL_FLUSH_INTERVAL_MS: '600000' };
  const [interrupted, exiting] = await Promise.all([startEmitter({ env }), startEmitter({ env })]);
  await interrupted.call('traces', { n: 10, prefix: 'int' });
  interrupted.child.kill('SIGINT');
  assert.deepEqual(await interrupted.exited, { code: null, signal: 'SIGINT' }, 'ended by SIGINT, as without the SDK');
  await exiting.call('traces', { n: 10, prefix: 'exit' });
  exiting.child.send({ cmd: 'exit', code: 3 });
  assert.deepEqual(await exiting.exited, { code: 3, signal: null }, "the app's exit code is kept");
  assert.equal(dlqRecords(dir, 'exit-paths').reduce((a, r) => a + r.items, 0), 40);

  const agent = await pool.newAgent({ port });
  const next = await startEmitter({ env });
  try {
    // Counted once the next process replayed both and what the agent received stayed put.
    let s;
    await afterBacklogSettles(spansReceived(agent), async () => {
      s = await next.stats();
      return s.deadLetter.spansReplayed === 40;
    });
    assertEachOnce(namesSeen(agent, 'int-'), 'int', 10);
    assertEachOnce(namesSeen(agent, 'exit-'), 'exit', 10);
    assert.equal(s.spansSent, 40);
  } finally {
    await next.kill();
  }
});

// Under steady load, payloads are sealed in the middle of an encode batch (every
// TRACEWELL_MAX_PAYLOAD_BYTES, or 1 MiB): each span must still reach the agent exactly once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { agentPool } from '../helpers/apps.mjs';
import { afterBacklogSettles, assertEachOnce, cleanup, namesSeen, spansReceived, startEmitter, tempDir } from './helpers.mjs';
import { until } from '../helpers/common.mjs';

const pool = agentPool();
after(() => Promise.all([pool.closeAll(), Promise.resolve(cleanup())]));

test('many payloads sealed mid-batch: every span arrives exactly once', async () => {
  const agent = await pool.newAgent();
  const app = await startEmitter({ env: { DD_SERVICE: 'exactly-once', DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: tempDir(), TRACEWELL_MAX_PAYLOAD_BYTES: '65536' } });
  try {
    const n = 4000;
    await app.call('traces', { n, prefix: 'eo' });
    await app.call('traces', { n, prefix: 'ef' });
    await app.call('flush');
    // A burst bigger than the in-memory bound goes to the dead-letter file and is replayed
    // right after, from the same process: either way each span arrives once.
    let st;
    await afterBacklogSettles(
      spansReceived(agent),
      async () => {
        st = await app.stats();
        return st.spansPending === 0 && st.deadLetter.bytesOnDisk === 0 && st.spansSent >= 4 * n;
      },
      { describe: async () => JSON.stringify(await app.stats()) },
    );
    const payloads = agent.requests.filter((r) => /^\/v0\.[45]\/traces$/.test(r.path)).length;
    assert.ok(payloads >= 10, `the spans went out in ${payloads} payloads; the test needs many`);
    for (const prefix of ['eo', 'ef']) assertEachOnce(namesSeen(agent, prefix + '-'), prefix, n);
    assert.equal(st.spansSent, 4 * n);
    assert.equal(st.deadLetter.spansReplayed, st.deadLetter.spansWritten);
  } finally {
    await app.kill();
  }
});

test('a burst far past maxPendingSpans goes to the dead-letter file, not to the bin', async () => {
  // Pending spans are bounded in number as well as bytes: with /v0.5 a MiB holds ~12k spans, so
  // a byte bound alone let pending spans reach maxPendingSpans and drop a burst.
  const agent = await pool.newAgent();
  const app = await startEmitter({ env: { DD_SERVICE: 'burst', DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: tempDir(), TRACEWELL_MAX_PENDING_SPANS: '2000' } });
  try {
    // Let /info answer first, so the burst is encoded in /v0.5.
    await app.call('traces', { n: 1, prefix: 'first' });
    await app.call('flush');
    await agent.waitFor(() => agent.requests.some((r) => r.path === '/info'));
    const n = 10_000;
    await app.call('traces', { n, prefix: 'bu' });
    await app.call('flush');
    let st;
    await afterBacklogSettles(
      spansReceived(agent),
      async () => {
        st = await app.stats();
        return st.spansPending === 0 && st.deadLetter.bytesOnDisk === 0 && st.spansSent >= 2 * n + 2;
      },
      { describe: async () => JSON.stringify(await app.stats()) },
    );
    assert.equal(st.dropped.bufferFull, 0, JSON.stringify(st.dropped));
    assert.ok(st.deadLetter.spansWritten > 0, 'the burst did not reach the dead-letter file: the test needs it to');
    assert.equal(st.deadLetter.spansReplayed, st.deadLetter.spansWritten);
    assertEachOnce(namesSeen(agent, 'bu-'), 'bu', n);
    assert.ok(agent.requests.some((r) => r.path === '/v0.5/traces'));
  } finally {
    await app.kill();
  }
});

test('a child that starts after its root ended goes out once, as a chunk of its own', async () => {
  const agent = await pool.newAgent();
  const app = await startEmitter({ env: { DD_SERVICE: 'late-child', DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: tempDir() } });
  try {
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await app.call('late', { prefix: `late${i}` }));
    await app.call('flush');
    await until(() => namesSeen(agent, 'late').size === 40, 'every root and late child');
    // Settled: nothing more arrives, then each span was received once.
    await app.call('flush');
    await afterBacklogSettles(spansReceived(agent), async () => (await app.stats()).spansPending === 0);
    const seen = namesSeen(agent, 'late');
    assert.deepEqual([...seen].filter(([, c]) => c !== 1), [], 'each span once');
    for (const [i, id] of ids.entries()) {
      const child = agent.allSpans().find((s) => s.name === `late${i}-late`);
      assert.equal(child.parent_id.toString(16).padStart(16, '0'), id.root);
    }
  } finally {
    await app.kill();
  }
});

// Under steady load, payloads are sealed in the middle of an encode batch (every
// TRACEWELL_MAX_PAYLOAD_BYTES, or 1 MiB): each span must still reach the agent exactly once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { agentPool } from '../helpers/apps.mjs';
import { cleanup, expectedNames, namesSeen, startEmitter, tempDir } from './helpers.mjs';
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
    const st = await until(
      async () => {
        const s = await app.stats();
        return s.spansPending === 0 && s.deadLetter.bytesOnDisk === 0 && s.spansSent >= 4 * n && s;
      },
      'every span sent',
      15_000,
      50,
      async () => JSON.stringify(await app.stats()),
    );
    const payloads = agent.requests.filter((r) => /^\/v0\.[45]\/traces$/.test(r.path)).length;
    assert.ok(payloads >= 10, `the spans went out in ${payloads} payloads; the test needs many`);
    for (const prefix of ['eo', 'ef']) {
      const seen = namesSeen(agent, prefix + '-');
      const want = expectedNames(prefix, n);
      assert.equal(want.filter((x) => !seen.has(x)).length, 0, 'spans never arrived');
      const twice = [...seen].filter(([, c]) => c > 1);
      assert.equal(twice.length, 0, `${twice.length} spans arrived more than once, e.g. ${twice.slice(0, 3).map(([k, c]) => `${k} x${c}`).join(', ')}`);
    }
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
    const st = await until(
      async () => {
        const s = await app.stats();
        return s.spansPending === 0 && s.deadLetter.bytesOnDisk === 0 && s.spansSent >= 2 * n + 2 && s;
      },
      'every span sent',
      20_000,
      50,
      async () => JSON.stringify(await app.stats()),
    );
    assert.equal(st.dropped.bufferFull, 0, JSON.stringify(st.dropped));
    assert.ok(st.deadLetter.spansWritten > 0, 'the burst did not reach the dead-letter file: the test needs it to');
    assert.equal(st.deadLetter.spansReplayed, st.deadLetter.spansWritten);
    const seen = namesSeen(agent, 'bu-');
    const want = expectedNames('bu', n);
    assert.equal(want.filter((x) => !seen.has(x)).length, 0, 'spans never arrived');
    assert.equal([...seen].filter(([, c]) => c > 1).length, 0, 'spans arrived twice');
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
    await until(async () => (await app.stats()).spansPending === 0, 'nothing pending');
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

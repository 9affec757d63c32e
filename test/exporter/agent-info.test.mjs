// The agent's /info: read when sending starts; its max_request_bytes bounds the payloads, and an
// agent that does not list /v0.4/traces is reported. A real traced process, the real dev agent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { agentPool } from '../helpers/apps.mjs';
import { afterBacklogSettles, assertEachOnce, cleanup, namesSeen, spansReceived, startEmitter, tempDir } from './helpers.mjs';
import { until } from '../helpers/common.mjs';

const pool = agentPool();
after(() => Promise.all([pool.closeAll(), Promise.resolve(cleanup())]));

const info = (body) => ({ path, method }) => (method === 'GET' && path === '/info' ? { status: 200, body: JSON.stringify(body) } : null);

test("the agent's max_request_bytes from /info bounds every payload", async () => {
  const agent = await pool.newAgent();
  agent.setResponder(info({ version: '7.58.0', endpoints: ['/v0.4/traces', '/v0.5/traces', '/info'], config: { max_request_bytes: 40_000 } }));
  const app = await startEmitter({ env: { DD_SERVICE: 'limits', DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: tempDir(), TRACEWELL_FLUSH_INTERVAL_MS: '600000' } });
  try {
    await app.call('traces', { n: 2, prefix: 'first' });
    await app.call('flush');
    await agent.waitFor(() => agent.requests.some((r) => r.path === '/info'));
    // 300 traces of ~700 bytes in /v0.4 (~210 in /v0.5, which this agent lists): one payload of
    // 60-200 KB unless the limit is applied (sealed at half of it: 20 KB).
    await app.call('traces', { n: 300, prefix: 'big' });
    await app.call('flush');
    await afterBacklogSettles(spansReceived(agent), async () => namesSeen(agent, 'big-').size === 600 && (await app.stats()).spansPending === 0);
    const sends = agent.requests.filter((r) => /^\/v0\.[45]\/traces$/.test(r.path));
    assert.ok(sends.every((r) => r.status === 200 && r.bytes <= 40_000), sends.map((r) => `${r.status}:${r.bytes}`).join(' '));
    assert.ok(sends.length >= 4, `${sends.length} payloads: ${sends.map((r) => `${r.path} ${r.bytes}`).join(', ')}`);
    // Sealed in the middle of a batch of traces: each still sent exactly once.
    assertEachOnce(namesSeen(agent, 'big-'), 'big', 300);
    const s = await app.stats();
    assert.equal(s.spansSent, 604);
    assert.equal(s.retries, 0, 'nothing was refused for its size');
    assert.equal(app.stderr(), '');
  } finally {
    await app.kill();
  }
});

test('an agent whose /info does not list /v0.4/traces is reported once, with its version', async () => {
  const agent = await pool.newAgent();
  agent.setResponder(info({ version: '6.9.0', endpoints: ['/v0.3/traces', '/info'] }));
  const app = await startEmitter({ env: { DD_SERVICE: 'old-agent', DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: tempDir() } });
  try {
    for (let i = 0; i < 3; i++) {
      await app.call('traces', { n: 2, prefix: `o${i}` });
      await app.call('flush');
    }
    await until(() => app.stderr().includes('does not list'), 'the warning');
    const lines = app.stderr().trim().split('\n');
    assert.equal(lines.length, 1, app.stderr());
    assert.match(lines[0], new RegExp(`the agent at ${agent.url.replace(/[.]/g, '\\.')} \\(version 6\\.9\\.0\\) does not list /v0\\.4/traces among its endpoints`));
  } finally {
    await app.kill();
  }
});

// Sampling: configured rate, rate limit, the agent's rate_by_service, and the priority
// propagated downstream.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, agentPool } from '../helpers/apps.mjs';

const pool = agentPool();
after(() => pool.closeAll());
const newAgent = pool.newAgent;

const servers = (agent, service) => agent.allSpans().filter((s) => s.service === service && s.meta['span.kind'] === 'server');

test('DD_TRACE_SAMPLE_RATE=0 rejects new traces but still reports them to the agent', async () => {
  const agent = await newAgent();
  const app = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: 's0', DD_TRACE_SAMPLE_RATE: '0' } });
  try {
    for (let i = 0; i < 5; i++) await (await fetch(app.url + '/status/200')).text();
    await agent.waitFor(() => servers(agent, 's0').length === 5);
    for (const s of servers(agent, 's0')) {
      assert.equal(s.metrics._sampling_priority_v1, -1);
      assert.equal(s.metrics['_dd.rule_psr'], 0);
    }
  } finally {
    await app.stop();
  }
});

test('the rate limit caps kept traces per second and reports _dd.limit_psr', async () => {
  const agent = await newAgent();
  const app = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: 'lim', DD_TRACE_SAMPLE_RATE: '1', DD_TRACE_RATE_LIMIT: '3' } });
  try {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 30 }, () => fetch(app.url + '/status/200').then((r) => r.text())));
    const seconds = (performance.now() - t0) / 1000;
    await agent.waitFor(() => servers(agent, 'lim').length === 30);
    const spans = servers(agent, 'lim');
    const kept = spans.filter((s) => s.metrics._sampling_priority_v1 === 2).length;
    const rejected = spans.filter((s) => s.metrics._sampling_priority_v1 === -1).length;
    // A full bucket of 3, refilled at 3/s for as long as the 30 requests took (on a busy
    // machine that can be more than a second), plus one for rounding.
    const most = 3 + Math.ceil(3 * seconds) + 1;
    assert.ok(kept >= 3 && kept <= most, `kept ${kept} of 30 in ${seconds.toFixed(2)} s with a limit of 3/s (at most ${most})`);
    assert.equal(kept + rejected, 30);
    assert.ok(spans.some((s) => s.metrics['_dd.limit_psr'] < 1));
    assert.ok(spans.filter((s) => s.metrics._sampling_priority_v1 === 2).every((s) => s.meta['_dd.p.dm'] === '-3'));
  } finally {
    await app.stop();
  }
});

test("the agent's rate_by_service answer is applied to later traces", async () => {
  const agent = await newAgent({ rateByService: { 'service:rbs,env:test': 0 } });
  const app = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: 'rbs' } });
  try {
    await (await fetch(app.url + '/status/200')).text();
    await agent.waitFor(() => servers(agent, 'rbs').length === 1);
    const first = servers(agent, 'rbs')[0];
    assert.equal(first.metrics._sampling_priority_v1, 1, 'before the agent answered: keep');
    assert.equal(first.metrics['_dd.agent_psr'], 1);
    for (let i = 0; i < 5; i++) await (await fetch(app.url + '/status/200')).text();
    await agent.waitFor(() => servers(agent, 'rbs').length === 6);
    for (const s of servers(agent, 'rbs').slice(1)) {
      assert.equal(s.metrics._sampling_priority_v1, 0);
      assert.equal(s.metrics['_dd.agent_psr'], 0);
    }
  } finally {
    await app.stop();
  }
});

for (const [priority, flag] of [
  ['2', '01'],
  ['0', '00'],
  ['-1', '00'],
]) {
  test(`an incoming sampling priority ${priority} is kept and passed downstream`, async () => {
    const agent = await newAgent();
    const back = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: `down${priority}` } });
    const front = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: `up${priority}`, DOWNSTREAM: back.url, CLIENT: 'http' } });
    try {
      const res = await fetch(front.url + '/users/5', { headers: { 'x-datadog-trace-id': '1234567890123', 'x-datadog-parent-id': '987654321', 'x-datadog-sampling-priority': priority } });
      const body = await res.json();
      assert.equal(body.downstreamHeaders['x-datadog-sampling-priority'], priority);
      assert.equal(body.downstreamHeaders['x-datadog-trace-id'], '1234567890123');
      assert.ok(body.downstreamHeaders.traceparent.endsWith('-' + flag), body.downstreamHeaders.traceparent);
      await agent.waitFor(() => servers(agent, `down${priority}`).length === 1 && servers(agent, `up${priority}`).length === 1);
      for (const s of [...servers(agent, `down${priority}`), ...servers(agent, `up${priority}`)]) {
        assert.equal(s.trace_id, 1234567890123n);
        assert.equal(s.metrics._sampling_priority_v1, Number(priority));
      }
    } finally {
      await Promise.all([front.stop(), back.stop()]);
    }
  });
}

// Log correlation: records written inside a request's span carry its ids, in both forms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';

let agent;
before(async () => {
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
});
after(() => agent?.close());

const hex = (v) => v.toString(16).padStart(16, '0');

for (const [file, logger] of [
  ['apps/logs.cjs', 'pino'],
  ['apps/logs.cjs', 'winston'],
  ['apps/logs.mjs', 'pino'],
]) {
  test(`${logger} records (${file.endsWith('.mjs') ? 'ESM' : 'CJS'}) carry the active span's ids`, async () => {
    const service = `logs-${logger}-${file.endsWith('.mjs') ? 'esm' : 'cjs'}`;
    const app = await startService(file, { agentUrl: agent.url, env: { LOGGER: logger, DD_SERVICE: service, DD_VERSION: '9.9.9' } });
    try {
      await (await fetch(app.url + '/x')).text();
      await agent.waitFor(() => agent.allSpans().some((s) => s.service === service));
      await app.stop();
      const records = app
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      const inside = records.find((r) => (r.msg ?? r.message) === 'inside the request');
      assert.ok(inside, `no record from inside the request in: ${app.stdout()}`);
      const span = agent.allSpans().find((s) => s.service === service);
      assert.equal(inside.dd.trace_id, span.trace_id.toString());
      assert.equal(inside.dd.span_id, span.span_id.toString());
      assert.equal(inside.dd.service, service);
      assert.equal(inside.dd.env, 'test');
      assert.equal(inside.dd.version, '9.9.9');
      assert.equal(inside.trace_id, span.meta['_dd.p.tid'] + hex(span.trace_id));
      assert.equal(inside.span_id, hex(span.span_id));
      const outside = records.find((r) => (r.msg ?? r.message) === 'outside any span');
      assert.ok(outside, `no record from outside any span in: ${app.stdout()}`);
      assert.equal(outside.trace_id, undefined, 'no ids outside a span');
      assert.equal(outside.dd, undefined, 'no ids outside a span');
      // The app's own fields are kept beside the ids.
      assert.equal(inside.where, 'handler');
    } finally {
      await app.stop();
    }
  });
}

test('DD_LOGS_INJECTION=false leaves records alone', async () => {
  const app = await startService('apps/logs.cjs', { agentUrl: agent.url, env: { LOGGER: 'pino', DD_SERVICE: 'logs-off', DD_LOGS_INJECTION: 'false' } });
  try {
    await (await fetch(app.url + '/x')).text();
    await app.stop();
    const inside = app
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((r) => r.msg === 'inside the request');
    assert.ok(inside);
    assert.equal(inside.trace_id, undefined);
    assert.equal(inside.dd, undefined);
  } finally {
    await app.stop();
  }
});

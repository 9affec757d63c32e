// Requests left out (TRACEWELL_HTTP_IGNORE_PATHS, TRACEWELL_HTTP_CLIENT_IGNORE_URLS) and header
// tags (DD_TRACE_HEADER_TAGS) on real servers and clients, HTTP and gRPC, checked on what the
// dev agent decoded.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, agentPool } from '../helpers/apps.mjs';
import { dist } from '../helpers/common.mjs';

const pool = agentPool();
after(() => pool.closeAll());

const spansOf = (agent, service, kind) => agent.allSpans().filter((s) => s.service === service && (kind === undefined || s.meta['span.kind'] === kind));

for (const framework of ['fastify', 'express', 'http']) {
  test(`${framework}: /healthz is left out (no span, nothing propagated from it, counted) while the other routes are traced`, async () => {
    const agent = await pool.newAgent();
    const back = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: `ign-back-${framework}` } });
    const app = await startService('apps/service.cjs', {
      agentUrl: agent.url,
      env: { FRAMEWORK: framework, DD_SERVICE: `ign-${framework}`, DOWNSTREAM: back.url, TRACEWELL_HTTP_IGNORE_PATHS: '/healthz,/readyz,/internal/*' },
    });
    try {
      const health = await (await fetch(app.url + '/healthz?probe=k8s', { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } })).json();
      assert.equal(health.downstream, 200);
      assert.deepEqual(health.downstreamHeaders, {}, 'the call the health check made carried no trace context');
      await (await fetch(app.url + '/users/1')).text();
      await (await fetch(app.url + '/healthz')).text();
      await app.flush();
      await agent.waitFor(() => spansOf(agent, `ign-${framework}`, 'server').length >= 1 && spansOf(agent, `ign-back-${framework}`, 'server').length >= 3);
      await new Promise((r) => setTimeout(r, 200));
      const front = spansOf(agent, `ign-${framework}`);
      assert.deepEqual(front.filter((s) => s.meta['span.kind'] === 'server').map((s) => s.meta['http.url'].replace(/^http:\/\/[^/]+/, '')), ['/users/1']);
      assert.equal(front.filter((s) => s.meta['span.kind'] === 'client').length, 1, 'only /users/1 made a client span');
      // The back end traced the calls from /healthz as traces of their own (nothing came with them).
      const backSpans = spansOf(agent, `ign-back-${framework}`, 'server');
      const fromHealth = backSpans.filter((s) => s.meta['http.url'].endsWith('/users/health'));
      assert.equal(fromHealth.length, 2);
      for (const s of fromHealth) assert.equal(s.parent_id, 0n, 'a root: no parent came from the ignored request');
      const stats = await app.stats();
      assert.equal(stats.ignored.inbound, 2);
      assert.equal(stats.ignored.outbound, 0);
    } finally {
      await Promise.all([app.stop(), back.stop()]);
    }
  });
}

for (const client of ['fetch', 'http']) {
  test(`outbound URLs left out (${client}): no client span, no propagation headers, counted`, async () => {
    const agent = await pool.newAgent();
    const back = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: `ign-out-back-${client}` } });
    const app = await startService('apps/service.cjs', {
      agentUrl: agent.url,
      env: { FRAMEWORK: 'fastify', DD_SERVICE: `ign-out-${client}`, DOWNSTREAM: back.url, CLIENT: client, TRACEWELL_HTTP_CLIENT_IGNORE_URLS: `http://127.0.0.1:${new URL(back.url).port}/users/*` },
    });
    try {
      const body = await (await fetch(app.url + '/users/5')).json();
      assert.deepEqual(body.downstreamHeaders, {}, 'no propagation headers on the ignored call');
      await agent.waitFor(() => spansOf(agent, `ign-out-${client}`, 'server').length === 1);
      assert.equal(spansOf(agent, `ign-out-${client}`, 'client').length, 0);
      const stats = await app.stats();
      assert.equal(stats.ignored.outbound, 1);
    } finally {
      await Promise.all([app.stop(), back.stop()]);
    }
  });
}

const HEADER_TAGS = 'x-tenant-id:tenant,Authorization,x-served-by,set-cookie,x-client-version:client.version';

for (const [framework, client] of [
  ['fastify', 'fetch'],
  ['express', 'http'],
  ['http', 'fetch'],
]) {
  test(`header tags (${framework} server, ${client} client): request and response headers on both spans, secrets redacted`, async () => {
    const agent = await pool.newAgent();
    const back = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: `ht-back-${framework}`, RESPONSE_HEADERS: '1' } });
    const app = await startService('apps/service.cjs', {
      agentUrl: agent.url,
      env: { FRAMEWORK: framework, DD_SERVICE: `ht-${framework}`, DOWNSTREAM: back.url, CLIENT: client, RESPONSE_HEADERS: '1', DD_TRACE_HEADER_TAGS: HEADER_TAGS },
    });
    try {
      await (await fetch(app.url + '/users/2', { headers: { 'x-tenant-id': 'acme', authorization: 'Bearer top-secret' } })).text();
      await agent.waitFor(() => spansOf(agent, `ht-${framework}`).length === 2);
      const server = spansOf(agent, `ht-${framework}`, 'server')[0];
      assert.equal(server.meta.tenant, 'acme');
      assert.equal(server.meta['http.request.headers.authorization'], '[redacted]');
      assert.equal(server.meta['http.response.headers.x-served-by'], 'fixture');
      assert.equal(server.meta['http.response.headers.set-cookie'], '[redacted]');
      assert.ok(!JSON.stringify(server.meta).includes('top-secret') && !JSON.stringify(server.meta).includes('abc123'));
      const clientSpan = spansOf(agent, `ht-${framework}`, 'client')[0];
      assert.equal(clientSpan.meta['client.version'], '7.1', 'a request header the client sent');
      assert.equal(clientSpan.meta['http.response.headers.x-served-by'], 'fixture', 'a response header the client got');
      assert.equal(clientSpan.meta['http.response.headers.set-cookie'], '[redacted]');
      assert.equal(clientSpan.meta.tenant, undefined);
    } finally {
      await Promise.all([app.stop(), back.stop()]);
    }
  });
}

test('header tags on gRPC: request metadata on both spans, response metadata and trailers, secrets redacted', async () => {
  const agent = await pool.newAgent();
  const env = { DD_TRACE_HEADER_TAGS: 'x-tenant-id:tenant,x-served-by,x-api-key' };
  const server = await startService('grpc/member.cjs', { agentUrl: agent.url, env: { ...env, ROLE: 'server', DD_SERVICE: 'ht-member' } });
  const caller = await startService('grpc/member.cjs', { agentUrl: agent.url, env: { ...env, ROLE: 'caller', DD_SERVICE: 'ht-caller', GRPC_TARGET: `127.0.0.1:${server.grpcPort ?? server.port}` } });
  try {
    const out = await (await fetch(`${caller.url}/call`, { method: 'POST', body: JSON.stringify({ kind: 'unary', member_no: 'headers', metadata: { 'x-tenant-id': 'acme' } }) })).json();
    assert.equal(out.value.name, 'Ada');
    await agent.waitFor(() => spansOf(agent, 'ht-member').some((s) => s.name === 'grpc.server') && spansOf(agent, 'ht-caller').some((s) => s.name === 'grpc.client'));
    const s = spansOf(agent, 'ht-member').find((x) => x.name === 'grpc.server');
    const c = spansOf(agent, 'ht-caller').find((x) => x.name === 'grpc.client');
    for (const span of [s, c]) {
      assert.equal(span.meta.tenant, 'acme');
      assert.equal(span.meta['grpc.response.metadata.x-served-by'], 'member');
      assert.equal(span.meta['grpc.response.metadata.x-api-key'], '[redacted]', 'a trailer named like a secret');
    }
  } finally {
    await Promise.all([caller.stop(), server.stop()]);
  }
});

test('header tags and ignore lists: bad values are reported like the others', () => {
  const { resolveConfig } = dist('config/resolve.js');
  const bad = resolveConfig({}, { DD_TRACE_HEADER_TAGS: 'x-ok:tag,bad header:t' });
  assert.equal(bad.problems.length, 1);
  assert.equal(bad.problems[0].variable, 'DD_TRACE_HEADER_TAGS');
  assert.deepEqual(bad.config.headerTags, {});
  assert.equal(resolveConfig({}, { DD_TRACE_HEADER_TAGS: 'x-a:' }).problems.length, 1, 'a colon without a tag name');
  const good = resolveConfig({}, { DD_TRACE_HEADER_TAGS: 'X-Tenant-Id:tenant, user-agent ' });
  assert.deepEqual(good.config.headerTags, { 'x-tenant-id': 'tenant', 'user-agent': '' });
  const code = resolveConfig({ headerTags: { 'bad header': 'x' } }, {});
  assert.equal(code.problems[0].variable, 'init({ headerTags })');
  assert.deepEqual(resolveConfig({}, { TRACEWELL_HTTP_IGNORE_PATHS: '/healthz, /readyz' }).config.httpIgnorePaths, ['/healthz', '/readyz']);
});

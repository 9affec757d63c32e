// End to end: real services in separate processes (ESM and CJS), real HTTP, the dev agent
// decoding and type-checking every payload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule, byTrace } from '../helpers/apps.mjs';

let agent;
before(async () => {
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
});
after(async () => {
  await agent?.close();
});

const U64 = (v) => typeof v === 'bigint' && v >= 0n && v < 2n ** 64n;

/** Every field of a decoded span has the type the agent's protocol requires. */
function assertSpanTypes(s) {
  assert.ok(U64(s.trace_id) && s.trace_id !== 0n, 'trace_id uint64');
  assert.ok(U64(s.span_id) && s.span_id !== 0n, 'span_id uint64');
  assert.ok(U64(s.parent_id), 'parent_id uint64');
  assert.equal(typeof s.start, 'bigint');
  assert.ok(s.start > 1_600_000_000_000_000_000n, 'start is ns since epoch');
  assert.equal(typeof s.duration, 'bigint');
  assert.ok(s.duration >= 0n);
  assert.ok(s.error === 0 || s.error === 1);
  for (const k of ['name', 'service', 'resource', 'type']) assert.equal(typeof s[k], 'string', k);
  for (const [k, v] of Object.entries(s.meta)) assert.equal(typeof v, 'string', `meta ${k}`);
  for (const [k, v] of Object.entries(s.metrics)) assert.equal(typeof v, 'number', `metrics ${k}`);
}

async function waitTrace(predicate, what, timeoutMs = 8000) {
  let found;
  await agent.waitFor(() => {
    for (const spans of byTrace(agent.allSpans()).values()) {
      if (predicate(spans)) {
        found = spans;
        return true;
      }
    }
    return false;
  }, timeoutMs).catch(() => {
    throw new Error(`no trace ${what}; spans seen: ${agent.allSpans().map((s) => `${s.service}:${s.resource}`).join(', ')}`);
  });
  return found;
}

test('a request through two services (ESM Fastify -> CJS Express) is one trace with correct parents', async () => {
  const back = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'express', DD_SERVICE: 'back-cjs' } });
  const front = await startService('apps/service.mjs', {
    agentUrl: agent.url,
    env: { FRAMEWORK: 'fastify', DD_SERVICE: 'front-esm', DD_VERSION: '2.3.4', DOWNSTREAM: back.url, DD_TAGS: 'team:core,region:eu' },
  });
  try {
    const res = await fetch(`${front.url}/users/7?token=secret`, { headers: { 'user-agent': 'e2e-test' } });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.downstream, 200);

    const spans = await waitTrace((t) => t.some((s) => s.service === 'back-cjs') && t.some((s) => s.service === 'front-esm' && s.name === 'web.request'), 'spanning both services');
    for (const s of spans) assertSpanTypes(s);
    assert.equal(spans.length, 3, spans.map((s) => s.resource).join());
    const frontServer = spans.find((s) => s.service === 'front-esm' && s.meta['span.kind'] === 'server');
    const client = spans.find((s) => s.meta['span.kind'] === 'client');
    const backServer = spans.find((s) => s.service === 'back-cjs');

    assert.equal(frontServer.parent_id, 0n);
    assert.equal(client.parent_id, frontServer.span_id);
    assert.equal(backServer.parent_id, client.span_id);
    assert.equal(client.service, 'front-esm');

    assert.equal(frontServer.resource, 'GET /users/:id');
    assert.equal(frontServer.name, 'web.request');
    assert.equal(frontServer.type, 'web');
    assert.equal(frontServer.meta['http.route'], '/users/:id');
    assert.equal(frontServer.meta['http.method'], 'GET');
    assert.equal(frontServer.meta['http.status_code'], '200');
    assert.equal(frontServer.meta['http.url'], `${front.url}/users/7`, 'query string kept out of http.url');
    assert.equal(frontServer.meta['http.useragent'], 'e2e-test');
    assert.equal(frontServer.meta['http.client_ip'], '127.0.0.1');
    assert.equal(frontServer.meta.component, 'fastify');
    assert.equal(frontServer.meta.env, 'test');
    assert.equal(frontServer.meta.version, '2.3.4');
    assert.equal(frontServer.meta.team, 'core');
    assert.equal(frontServer.meta.region, 'eu');
    assert.equal(frontServer.meta.language, 'javascript');
    assert.match(frontServer.meta['runtime-id'], /^[0-9a-f-]{36}$/);
    assert.match(frontServer.meta['_dd.p.tid'], /^[0-9a-f]{16}$/);
    assert.equal(frontServer.metrics['_dd.measured'], 1);
    assert.equal(frontServer.metrics._sampling_priority_v1, 1);
    assert.equal(frontServer.metrics.process_id, front.child.pid);

    assert.equal(client.resource, 'GET');
    assert.equal(client.name, 'http.request');
    assert.equal(client.meta['http.url'], `${back.url}/users/7`);
    assert.equal(client.meta['out.host'], '127.0.0.1');
    assert.equal(client.metrics['network.destination.port'], back.port);
    assert.equal(client.meta['http.status_code'], '200');

    assert.equal(backServer.resource, 'GET /users/:id');
    assert.equal(backServer.meta.component, 'express');
    // The 128-bit trace id is the same on both sides.
    assert.equal(backServer.meta['_dd.p.tid'], frontServer.meta['_dd.p.tid']);
    // What arrived downstream: Datadog and W3C headers for the client span (flags 03: sampled,
    // and random, as the trace started in the front service).
    const hex = (v) => v.toString(16).padStart(16, '0');
    assert.equal(body.downstreamHeaders['x-datadog-trace-id'], frontServer.trace_id.toString());
    assert.equal(body.downstreamHeaders['x-datadog-parent-id'], client.span_id.toString());
    assert.equal(body.downstreamHeaders.traceparent, `00-${frontServer.meta['_dd.p.tid']}${hex(frontServer.trace_id)}-${hex(client.span_id)}-03`);
  } finally {
    await Promise.all([front.stop(), back.stop()]);
  }
});

for (const framework of ['fastify', 'fastify4', 'express', 'express4', 'http']) {
  for (const esm of [true, false]) {
    test(`${framework} (${esm ? 'ESM' : 'CJS'}): route templates, statuses and errors`, async () => {
      const service = `rt-${framework}-${esm ? 'esm' : 'cjs'}`;
      const app = await startService(esm ? 'apps/service.mjs' : 'apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: framework, DD_SERVICE: service } });
      try {
        const paths = ['/users/12', '/api/v1/items/99', '/status/404', '/status/503', '/boom'];
        for (const p of paths) await (await fetch(app.url + p)).arrayBuffer();
        const expectedCount = framework === 'http' ? paths.length : paths.length;
        await agent.waitFor(() => agent.allSpans().filter((s) => s.service === service && s.meta['span.kind'] === 'server').length >= expectedCount);
        const servers = agent.allSpans().filter((s) => s.service === service && s.meta['span.kind'] === 'server');
        for (const s of servers) assertSpanTypes(s);
        const byUrl = (p) => servers.find((s) => s.meta['http.url'] === app.url + p);

        const routed = framework !== 'http';
        assert.equal(byUrl('/users/12').resource, routed ? 'GET /users/:id' : 'GET');
        assert.equal(byUrl('/api/v1/items/99').resource, routed ? 'GET /api/v1/items/:itemId' : 'GET');
        assert.equal(byUrl('/status/404').meta['http.status_code'], '404');
        assert.equal(byUrl('/status/404').error, 0, '4xx is not a server error');
        assert.equal(byUrl('/status/503').error, 1, '5xx is a server error');
        assert.equal(byUrl('/status/503').meta['http.status_code'], '503');
        const boom = byUrl('/boom');
        if (routed) {
          assert.equal(boom.error, 1);
          assert.equal(boom.meta['http.status_code'], '500');
          assert.equal(boom.meta['error.type'], 'TypeError');
          assert.equal(boom.meta['error.message'], 'fixture exploded');
          assert.match(boom.meta['error.stack'], /fixture exploded\n\s+at /);
          assert.equal(boom.resource, 'GET /boom');
        } else {
          assert.equal(boom.meta['http.status_code'], '404');
        }
      } finally {
        await app.stop();
      }
    });
  }
}

for (const framework of ['express', 'express4']) {
  test(`${framework}: one router mounted at two paths, one route with two methods: each request named after its own mount path and method`, async () => {
    const service = `mounts-${framework}`;
    const app = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: framework, DD_SERVICE: service } });
    try {
      // Alternating, so a name kept from the request before would show.
      const requests = [
        ['GET', '/api/v1/things/1', 'GET /api/v1/things/:thingId'],
        ['GET', '/api/v2/things/2', 'GET /api/v2/things/:thingId'],
        ['POST', '/api/v2/things/3', 'POST /api/v2/things/:thingId'],
        ['GET', '/api/v2/things/4', 'GET /api/v2/things/:thingId'],
        ['POST', '/api/v1/things/5', 'POST /api/v1/things/:thingId'],
        ['GET', '/api/v1/things/6', 'GET /api/v1/things/:thingId'],
        ['GET', '/api/v2/items/7', 'GET /api/v2/items/:itemId'],
        ['GET', '/api/v1/items/8', 'GET /api/v1/items/:itemId'],
      ];
      for (const [method, path] of requests) {
        const res = await fetch(app.url + path, { method });
        await res.arrayBuffer();
        assert.equal(res.status, method === 'POST' ? 201 : 200, `${method} ${path}`);
      }
      await agent.waitFor(() => agent.allSpans().filter((s) => s.service === service).length >= requests.length);
      const servers = agent.allSpans().filter((s) => s.service === service);
      for (const [method, path, resource] of requests) {
        const span = servers.find((s) => s.meta['http.url'] === app.url + path);
        assert.ok(span, `a span for ${method} ${path}`);
        assert.equal(span.resource, resource, `${method} ${path}`);
        assert.equal(span.meta['http.route'], resource.slice(resource.indexOf(' ') + 1));
        assert.equal(span.meta['http.method'], method);
        assert.equal(span.meta.component, 'express');
      }
    } finally {
      await app.stop();
    }
  });
}

test('an incoming traceparent is continued, and the query string never reaches the span', async () => {
  const app = await startService('apps/service.mjs', { agentUrl: agent.url, env: { FRAMEWORK: 'fastify', DD_SERVICE: 'w3c-in' } });
  try {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    await (await fetch(`${app.url}/users/1?password=hunter2`, { headers: { traceparent: `00-${traceId}-${parent}-01`, tracestate: 'congo=t61rcWkgMzE' } })).text();
    const [span] = await waitTrace((t) => t.some((s) => s.service === 'w3c-in'), 'from w3c-in');
    assert.equal(span.trace_id, BigInt('0x' + traceId.slice(16)));
    assert.equal(span.meta['_dd.p.tid'], traceId.slice(0, 16));
    assert.equal(span.parent_id, BigInt('0x' + parent));
    assert.equal(span.metrics._sampling_priority_v1, 1);
    assert.ok(!JSON.stringify(span, (k, v) => (typeof v === 'bigint' ? String(v) : v)).includes('hunter2'));
  } finally {
    await app.stop();
  }
});

test('manual spans through the OpenTelemetry API join the request trace', async () => {
  const app = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'express', DD_SERVICE: 'otel-api' } });
  try {
    await (await fetch(`${app.url}/manual`)).text();
    const spans = await waitTrace((t) => t.some((s) => s.service === 'otel-api' && s.name === 'manual.child'), 'with manual spans');
    const server = spans.find((s) => s.name === 'web.request');
    const work = spans.find((s) => s.name === 'manual.work');
    const child = spans.find((s) => s.name === 'manual.child');
    assert.equal(work.parent_id, server.span_id);
    assert.equal(child.parent_id, work.span_id);
    assert.equal(work.resource, 'manual.work');
    assert.equal(work.meta['span.kind'], 'internal');
    assert.equal(work.meta['work.kind'], 'batch');
    assert.equal(work.meta['work.ok'], 'true');
    assert.equal(work.metrics['work.items'], 3);
  } finally {
    await app.stop();
  }
});

test('a request whose client goes away still ends its span, marked aborted', async () => {
  const app = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: 'aborted' } });
  try {
    const { request } = await import('node:http');
    await new Promise((resolve) => {
      // The handler would answer after ten minutes: the span can only arrive (within the
      // generous outer limit below) if it ends when the client leaves. The client leaves once
      // the server has sent the status line (head=1), so the request has surely arrived: on a
      // loaded machine a client that left after a fixed 50 ms could leave before that.
      const req = request(`${app.url}/slow?ms=600000&head=1`, () => req.destroy());
      req.on('error', resolve);
      req.on('close', resolve);
      req.end();
    });
    const [span] = await waitTrace((t) => t.some((s) => s.service === 'aborted'), 'from the aborted request (ended when the client left, not when the handler answered)', 60_000);
    assert.equal(span.meta['http.aborted'], 'true');
    assert.ok(Number(span.duration) / 1e6 < 600_000, 'ended when the client left, not when the handler answered');
    // The next request on a new connection is traced as usual.
    await (await fetch(`${app.url}/status/201`)).text();
    await waitTrace((t) => t.some((s) => s.service === 'aborted' && s.meta['http.status_code'] === '201'), 'after the abort');
  } finally {
    await app.stop();
  }
});

// The preload does not load node:https (start-up time): it patches https servers when the first
// one listens, whether the app required or imported node:https.
for (const [fixture, service] of [
  ['apps/https.cjs', 'tls'],
  ['apps/https-esm.mjs', 'tls-esm'],
])
test(`https servers and clients are traced like http (${fixture})`, async () => {
  const app = await startService(fixture, { agentUrl: agent.url, env: { DD_SERVICE: service } });
  try {
    const { request } = await import('node:https');
    const { readFileSync } = await import('node:fs');
    const ca = readFileSync(new URL('../fixtures/tls/cert.pem', import.meta.url));
    const body = await new Promise((resolve, reject) => {
      request(`https://127.0.0.1:${app.port}/out`, { ca }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(JSON.parse(b)));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(body.inner, 200);
    const spans = await waitTrace((t) => t.filter((s) => s.service === service).length === 3, 'of 3 https spans');
    const outer = spans.find((s) => s.meta['http.url'] === `https://127.0.0.1:${app.port}/out`);
    const client = spans.find((s) => s.name === 'http.request');
    const inner = spans.find((s) => s.meta['http.url'] === `https://127.0.0.1:${app.port}/in`);
    assert.equal(client.parent_id, outer.span_id);
    assert.equal(inner.parent_id, client.span_id);
    assert.equal(client.meta['http.url'], `https://127.0.0.1:${app.port}/in`);
    assert.equal(client.metrics['network.destination.port'], app.port);
  } finally {
    await app.stop();
  }
});

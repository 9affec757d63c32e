// The /v0.5/traces string-table encoding: the same spans decode to the same fields as with
// /v0.4 (every kind of field, every width of string index), a v0.5 payload splits into two
// valid smaller ones, and a service switches to v0.5 once the agent's /info lists it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { encode } from '@msgpack/msgpack';
import { startService, agentPool } from '../helpers/apps.mjs';
import { root } from '../helpers/common.mjs';

const require = createRequire(import.meta.url);
const dist = (p) => require(`${root}/dist/cjs/${p}`);
const { resolveConfig } = dist('config/resolve.js');
const { DatadogEncoder } = dist('exporter/encoders/datadog-v04.js');
const { DatadogV05Encoder } = dist('exporter/encoders/datadog-v05.js');
const { isV05 } = dist('exporter/encoders/datadog-common.js');
const { splitDatadog } = dist('exporter/encoders/split.js');
const { decodeTraces } = dist('dev-agent/decode-traces.js');
const { TracerCore } = dist('tracer/tracer.js');
const { ROOT_CONTEXT, SpanKind } = require('@opentelemetry/api');

const pool = agentPool();
after(() => pool.closeAll());

const { config } = resolveConfig({ service: 'enc-svc', env: 'test', version: '2.0', tags: { team: 'core' } }, {});
const info = { runtimeId: 'rt-1', headMeta: { 'git.commit.sha': 'abc' } };

/** A tracer core whose finished traces are kept, not exported. */
function core() {
  const traces = [];
  const c = new TracerCore(config);
  c.setSink({ enqueue: (spans) => traces.push(spans) });
  return { c, traces };
}

/** Ends `root`; with `failing`, after a child whose attribute no encoder can write (JSON has no BigInt), so the chunk fails to encode. */
function endChunk(c, root, failing) {
  if (failing) {
    const bad = c.startSpan('child', SpanKind.INTERNAL, root, undefined, performance.now());
    bad.setAttribute('bad', [1n]);
    bad.end();
  }
  root.end();
}

/** Appends each trace to both encoders, which must agree on whether it could be encoded; their outcomes. */
function appendBoth(e5, e4, traces) {
  return traces.map((t) => {
    const ok = e5.append(t);
    assert.equal(e4.append(t), ok);
    return ok;
  });
}

/** Traces with every field the encoders write. */
function sampleTraces() {
  const { c, traces } = core();
  const remote = { t0: 0x1234abcd, t1: 0x5678, t2: 7, t3: 9, spanHi: 0, spanLo: 42, priority: 2, origin: 'synthetics', ptags: '_dd.p.dm=-4,_dd.p.usr=x', tracestate: '', baggage: '' };
  const server = c.startSpan('web.request', SpanKind.SERVER, ROOT_CONTEXT, remote, performance.now());
  Object.assign(server, { component: 'fastify', httpMethod: 'GET', httpRoute: '/users/:id', resource: 'GET /users/:id', httpUrl: 'http://x/users/1', httpStatus: 500, clientIp: '10.0.0.1', userAgent: 'curl/8', error: 1, errorType: 'TypeError', errorMessage: 'boom é', errorStack: 'TypeError: boom\n    at f (x.js:1:1)' });
  server.setAttributes({ 'app.flag': true, 'app.list': [1, 2], 'app.count': 3.5, 'app.name': 'ünïcode ✓', 'service.name': 'other-svc' });
  server.addEvent('retry', { attempt: 2 });
  const client = c.startSpan('http.request', SpanKind.CLIENT, server, undefined, performance.now());
  Object.assign(client, { component: 'http', httpMethod: 'POST', peerHost: 'db.internal', peerPort: 5432, httpUrl: 'http://db.internal:5432/q', httpStatus: 200 });
  client.setAttribute('resource.name', 'POST /q');
  client.end();
  server.end();
  const manual = c.startSpan('job', SpanKind.INTERNAL, ROOT_CONTEXT, undefined, performance.now());
  manual.setAttributes({ 'span.type': 'worker', 'operation.name': 'job.run', n: 1 });
  manual.end();
  return traces;
}

function encodeWith(Encoder, traces) {
  const e = new Encoder(config, info);
  for (const t of traces) assert.equal(e.append(t), true);
  return e.seal();
}

test('v0.5 decodes to exactly the spans v0.4 does, every field and type', () => {
  const traces = sampleTraces();
  const v04 = encodeWith(DatadogEncoder, traces);
  const v05 = encodeWith(DatadogV05Encoder, traces);
  assert.equal(isV05(v05.body), true);
  assert.equal(isV05(v04.body), false);
  assert.equal(v05.spans, 3);
  assert.equal(v05.traces, 2);
  const a = decodeTraces(v04.body, '0.4');
  const b = decodeTraces(v05.body, '0.5');
  assert.deepEqual(b, a);
  // Spot checks of what the decoded spans hold (so the comparison is not of two empty lists).
  const [server, client] = b[0];
  assert.equal(server.service, 'other-svc');
  assert.equal(server.resource, 'GET /users/:id');
  assert.equal(server.meta['error.message'], 'boom é');
  assert.equal(server.meta['app.name'], 'ünïcode ✓');
  assert.equal(server.meta['_dd.p.tid'], '1234abcd00005678');
  assert.equal(server.meta['_dd.origin'], 'synthetics');
  assert.equal(server.meta['_dd.p.usr'], 'x');
  assert.equal(server.meta.team, 'core');
  assert.equal(server.meta['git.commit.sha'], 'abc');
  assert.equal(server.metrics['app.count'], 3.5);
  assert.equal(server.metrics._sampling_priority_v1, 2);
  assert.equal(server.error, 1);
  assert.equal(server.parent_id, 42n);
  assert.equal(client.resource, 'POST /q');
  assert.equal(client.metrics['network.destination.port'], 5432);
  assert.equal(client.meta['out.host'], 'db.internal');
  assert.equal(b[1][0].type, 'worker');
  assert.equal(b[1][0].name, 'job.run');
  assert.ok(v05.body.length < v04.body.length * 0.75, `v0.5 ${v05.body.length} B vs v0.4 ${v04.body.length} B`);
});

test('v0.5 string indices of every width (fixint, uint8, uint16, uint32) decode', () => {
  const { c, traces } = core();
  // 70k distinct values: indices past 127, 255 and 65535.
  for (let i = 0; i < 7000; i++) {
    const s = c.startSpan('op', SpanKind.INTERNAL, ROOT_CONTEXT, undefined, performance.now());
    for (let k = 0; k < 10; k++) s.setAttribute(`k${k}`, `v${i}-${k}`);
    s.end();
  }
  const v05 = encodeWith(DatadogV05Encoder, traces);
  const decoded = decodeTraces(v05.body, '0.5');
  assert.equal(decoded.length, 7000);
  assert.equal(decoded[6999][0].meta.k9, 'v6999-9');
  assert.equal(decoded[0][0].meta.k0, 'v0-0');
  assert.deepEqual(decoded, decodeTraces(encodeWith(DatadogEncoder, traces).body, '0.4'));
});

test('a v0.5 payload splits into two valid halves, each with only its own strings', () => {
  const { c, traces } = core();
  for (let i = 0; i < 40; i++) {
    const s = c.startSpan(`op${i}`, SpanKind.INTERNAL, ROOT_CONTEXT, undefined, performance.now());
    s.setAttribute('unique', `value-${i}-${'x'.repeat(200)}`);
    const child = c.startSpan('child', SpanKind.INTERNAL, s, undefined, performance.now());
    child.end();
    s.end();
  }
  const whole = encodeWith(DatadogV05Encoder, traces);
  const parts = splitDatadog(whole.body);
  assert.ok(parts, 'split');
  assert.deepEqual(
    parts.map((p) => [p.traces, p.spans]),
    [
      [20, 40],
      [20, 40],
    ],
  );
  const all = decodeTraces(whole.body, '0.5');
  const halves = parts.map((p) => {
    assert.equal(isV05(p.body), true);
    return decodeTraces(p.body, '0.5');
  });
  assert.deepEqual([...halves[0], ...halves[1]], all);
  for (const p of parts) assert.ok(p.body.length < whole.body.length * 0.6, `half ${p.body.length} B of ${whole.body.length} B`);
  // A v0.4 body of two traces is not mistaken for v0.5.
  const two = encode([[{ name: 'a' }], [{ name: 'b' }]]);
  assert.equal(isV05(two), false);
});

test('the dev agent refuses a v0.5 body whose index is outside the table, naming the field', async () => {
  const agent = await pool.newAgent();
  const span = [1, 1, 1, 5n, 6n, 0n, 1_700_000_000_000_000_000n, 10n, 0, { 2: 9 }, {}, 0];
  const res = await fetch(`${agent.url}/v0.5/traces`, { method: 'PUT', headers: { 'content-type': 'application/msgpack' }, body: encode([['', 'svc', 'web.request'], [[span]]], { useBigInt64: true }) });
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /trace 0 span 0: meta value of 2 is 9, outside the string table \(3 strings\)/);
});

test('a service sends /v0.5/traces once the agent lists it, and /v0.4 when told to', async () => {
  for (const [protocol, want] of [
    [undefined, '/v0.5/traces'],
    ['0.4', '/v0.4/traces'],
  ]) {
    const agent = await pool.newAgent();
    const env = { FRAMEWORK: 'fastify', DD_SERVICE: 'v05-svc', TRACEWELL_FLUSH_INTERVAL_MS: '50' };
    if (protocol) env.DD_TRACE_AGENT_PROTOCOL_VERSION = protocol;
    const app = await startService('apps/service.cjs', { agentUrl: agent.url, env });
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 5; i++) await (await fetch(`${app.url}/users/${i}`)).text();
        await app.flush();
      }
      await agent.waitFor(() => agent.allSpans().filter((s) => s.service === 'v05-svc').length >= 15);
      const paths = agent.requests.filter((r) => /\/traces$/.test(r.path)).map((r) => r.path);
      // The first payload may go before /info has answered; the last ones use the agent's choice.
      assert.equal(paths.at(-1), want, paths.join(' '));
      if (protocol === '0.4') assert.ok(paths.every((p) => p === '/v0.4/traces'), paths.join(' '));
      const spans = agent.allSpans().filter((s) => s.service === 'v05-svc');
      assert.equal(spans.length, 15);
      assert.ok(spans.every((s) => s.resource === 'GET /users/:id' && s.meta.env && s.meta['http.status_code'] === '200'));
      assert.equal((await app.stats()).spansSent, 15);
    } finally {
      await app.stop();
    }
  }
});

test('remembered attribute indices stay right across payloads, reordered keys, repeats, empty strings and many attributes', () => {
  const { c, traces } = core();
  const shapes = [
    (s, i) => s.setAttributes({ 'a.key': 'same', 'b.key': `v${i % 3}`, 'n.key': i }),
    (s, i) => s.setAttributes({ 'b.key': 'same', 'a.key': '', 'n.key': -i, '': 'empty key' }),
    (s, i) => {
      for (let k = 0; k < 12; k++) s.setAttribute(`k${(k + i) % 12}`, k % 2 ? `x${k}` : k);
    },
    (s, i) => s.setAttributes({ 'a.key': i % 2 ? 'same' : '', 'only.number': 1.5 }),
  ];
  const e5 = new DatadogV05Encoder(config, info);
  const e4 = new DatadogEncoder(config, info);
  let payloads = 0;
  for (let i = 0; i < 60; i++) {
    traces.length = 0;
    for (let n = 0; n < 3; n++) {
      // One kind of span (same name: same template), attributes of changing shapes.
      const s = c.startSpan('same.kind', SpanKind.INTERNAL, ROOT_CONTEXT, undefined, performance.now());
      shapes[(i + n) % shapes.length](s, i);
      s.end();
    }
    for (const t of traces) {
      assert.equal(e5.append(t), true);
      assert.equal(e4.append(t), true);
    }
    // A new payload (a new string table) every 7 traces.
    if (i % 7 === 6 || i === 59) {
      const b5 = decodeTraces(e5.seal().body, '0.5');
      const b4 = decodeTraces(e4.seal().body, '0.4');
      assert.deepEqual(b5, b4);
      assert.ok(b5.length > 0);
      payloads++;
    }
  }
  assert.equal(payloads, 9);
});

test('remembered URL, client address and user agent indices stay right across payloads and a chunk that failed to encode', () => {
  const { c, traces } = core();
  const e5 = new DatadogV05Encoder(config, info);
  const e4 = new DatadogEncoder(config, info);
  const server = (i, extra) => {
    const s = c.startSpan('web.request', SpanKind.SERVER, ROOT_CONTEXT, undefined, performance.now());
    // Values made per span (as a server joins its URL per request), repeating in runs.
    Object.assign(s, { component: 'http', httpMethod: 'GET', httpUrl: 'http://h/' + ['a', 'a', 'b', 'a'][i % 4] + '/' + (i >> 3), clientIp: ['10.0.0.', '10.0.0.', '::1'][i % 3].replace(/\.$/, '.' + (i % 2)), userAgent: 'ua/' + (i % 5 < 3 ? 1 : i) });
    extra?.(s);
    return s;
  };
  let failed = 0;
  for (let i = 0; i < 80; i++) {
    traces.length = 0;
    const root = server(i);
    if (i % 9 === 4) {
      // A chunk whose second span cannot be encoded: its first span's new strings leave the
      // table again, so must what was remembered of them.
      root.httpUrl = 'http://h/only-in-a-failed-chunk/' + i;
      root.userAgent = 'ua/failed/' + i;
    }
    endChunk(c, root, i % 9 === 4);
    for (const ok of appendBoth(e5, e4, traces)) if (!ok) failed++;
    // The next span reuses the failed chunk's strings: the table must have them again.
    if (i % 9 === 4) {
      traces.length = 0;
      const again = server(i);
      again.httpUrl = 'http://h/only-in-a-failed-chunk/' + i;
      again.userAgent = 'ua/failed/' + i;
      again.end();
      for (const t of traces) assert.equal(e5.append(t), true), assert.equal(e4.append(t), true);
    }
    if (i % 11 === 10 || i === 79) {
      const b5 = decodeTraces(e5.seal().body, '0.5');
      const b4 = decodeTraces(e4.seal().body, '0.4');
      assert.deepEqual(b5, b4);
      assert.ok(b5.length > 0);
    }
  }
  assert.ok(failed >= 8, `chunks that failed: ${failed}`);
});

test('propagated tags (_dd.p.*) kept from one trace to the next stay right across payloads, changes, none, and a chunk that failed to encode', () => {
  const { c, traces } = core();
  const e5 = new DatadogV05Encoder(config, info);
  const e4 = new DatadogEncoder(config, info);
  // Runs of traces from one upstream share their tags; some change them, some carry none,
  // some decide the decision maker themselves (no _dd.p.dm among them).
  const tagsOf = (i) => ['_dd.p.dm=-0', '_dd.p.dm=-0', '_dd.p.dm=-0,_dd.p.usr=u' + (i >> 4), '', '_dd.p.team=x', '_dd.p.dm=-3'][i % 6];
  const expected = [];
  let failed = 0;
  for (let i = 0; i < 90; i++) {
    traces.length = 0;
    const ptags = i % 13 === 6 ? '_dd.p.only=failed' + i : tagsOf(i);
    const remote = { t0: 0, t1: 0, t2: 7, t3: 100 + i, spanHi: 0, spanLo: 42, priority: 1, origin: '', ptags, tracestate: '', baggage: '' };
    // A chunk that cannot be encoded: the tags' new strings leave the table again.
    endChunk(c, c.startSpan('web.request', SpanKind.SERVER, ROOT_CONTEXT, remote, performance.now()), i % 13 === 6);
    for (const ok of appendBoth(e5, e4, traces)) {
      if (!ok) failed++;
      else expected.push(ptags);
    }
    if (i % 13 === 6) {
      // The next trace carries the failed chunk's tags: the table must have them again.
      traces.length = 0;
      c.startSpan('web.request', SpanKind.SERVER, ROOT_CONTEXT, { ...remote, t3: 1000 + i }, performance.now()).end();
      for (const t of traces) assert.equal(e5.append(t), true), assert.equal(e4.append(t), true);
      expected.push(ptags);
    }
    if (i % 10 === 9 || i === 89) {
      const b5 = decodeTraces(e5.seal().body, '0.5');
      const b4 = decodeTraces(e4.seal().body, '0.4');
      assert.deepEqual(b5, b4);
      for (const [trace] of b5) {
        const want = expected.shift();
        const got = Object.entries(trace.meta).filter(([k]) => k.startsWith('_dd.p.') && k !== '_dd.p.tid').map(([k, v]) => `${k}=${v}`).sort();
        const kvs = want === '' ? [] : want.split(',');
        // A trace whose tags do not name the decision maker may get one from the sampler.
        if (!kvs.some((kv) => kv.startsWith('_dd.p.dm=')) && trace.meta['_dd.p.dm'] !== undefined) kvs.push(`_dd.p.dm=${trace.meta['_dd.p.dm']}`);
        assert.deepEqual(got, kvs.sort(), `trace ${trace.trace_id}: tags ${want || '(none)'}`);
      }
    }
  }
  assert.equal(expected.length, 0);
  assert.ok(failed >= 6, `chunks that failed: ${failed}`);
});

// OTLP/HTTP protobuf export: a traced child process sending to the dev agent's OTLP listener,
// every payload also decoded independently with protobufjs from the OTLP schema in fixtures/otlp-proto.
// Field types, endpoint and header variables, the OTLP retry rules, the timeout, and the
// dead-letter file and replay for OTLP payloads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { agentPool } from '../helpers/apps.mjs';
import { afterBacklogSettles, cleanup, deadPort, dlqFiles, dlqRecords, startEmitter, tempDir } from './helpers.mjs';
import { dist, root, until } from '../helpers/common.mjs';

const pool = agentPool();
after(() => Promise.all([pool.closeAll(), Promise.resolve(cleanup())]));

const protoDir = join(root, 'test', 'exporter', 'fixtures', 'otlp-proto');
const protoRoot = protobuf.loadSync(['trace_service.proto', 'trace.proto', 'resource.proto', 'common.proto'].map((f) => join(protoDir, f)));
const Request = protoRoot.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

/** Decodes with protobufjs and checks that protobufjs, encoding what it read, writes the very same bytes. */
function decodeStrict(body) {
  const msg = Request.decode(body);
  assert.equal(Request.verify(msg), null);
  const again = Buffer.from(Request.encode(msg).finish());
  assert.ok(again.equals(body), `the payload is not what protobufjs writes for the same message (${body.length} bytes vs ${again.length})`);
  return msg;
}

/** Every span of a decoded request, with its resource attributes and scope. */
function spansOf(msg) {
  const out = [];
  for (const rs of msg.resourceSpans) {
    const resource = attrs(rs.resource.attributes);
    for (const ss of rs.scopeSpans) for (const span of ss.spans) out.push({ span, resource, scope: ss.scope });
  }
  return out;
}

function value(v) {
  if (v.stringValue !== undefined && v.value === 'stringValue') return v.stringValue;
  switch (v.value) {
    case 'boolValue':
      return v.boolValue;
    case 'intValue':
      return BigInt(v.intValue.toString());
    case 'doubleValue':
      return { double: v.doubleValue };
    case 'arrayValue':
      return v.arrayValue.values.map(value);
    default:
      return v[v.value];
  }
}

function attrs(list) {
  const out = {};
  for (const kv of list) out[kv.key] = value(kv.value);
  return out;
}

const nanos = (long) => BigInt(long.toString());
const hex = (b) => Buffer.from(b).toString('hex');

/** Span names the OTLP listener decoded, with counts. */
function otlpNames(agent, prefix) {
  const counts = new Map();
  for (const s of agent.otlpSpans) if (s.name.startsWith(prefix)) counts.set(s.name, (counts.get(s.name) ?? 0) + 1);
  return counts;
}

function assertOtlpExactlyOnce(agent, prefix, n) {
  const seen = otlpNames(agent, prefix + '-');
  for (let i = 0; i < n; i++) {
    for (const name of [`${prefix}-${i}`, `${prefix}-${i}.child`]) assert.equal(seen.get(name), 1, `${name} arrived ${seen.get(name) ?? 0} times`);
  }
  assert.equal(seen.size, 2 * n);
}

// A request timeout a loaded collector's answer does not reach (tests of timeouts set their own).
const OTLP_FAST = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TIMEOUT: '10000' };

test('OTLP/HTTP protobuf to the dev agent, decoded by protobufjs: ids, times, kind, status, attributes, events, resource', async () => {
  const agent = await pool.newAgent({ otlpPort: 0 });
  const bodies = [];
  agent.setResponder(({ path, body }) => {
    if (path === '/v1/traces' && body.length > 0) bodies.push(Buffer.from(body));
    return null;
  });
  const app = await startEmitter({
    env: { ...OTLP_FAST, DD_SERVICE: 'otlp-fields', DD_VERSION: '1.2.3', DD_ENV: 'staging', OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl, TRACEWELL_DLQ_DIR: tempDir() },
  });
  try {
    const ids = await app.call('rich', { prefix: 'rich' });
    await app.call('flush');
    await agent.waitForOtlpSpans(2);
    const req = agent.requests.find((r) => r.path === '/v1/traces' && r.bytes > 0);
    assert.equal(req.method, 'POST');
    assert.equal(req.headers['content-type'], 'application/x-protobuf');

    const spans = bodies.flatMap((b) => spansOf(decodeStrict(b)));
    assert.equal(spans.length, 2);
    const server = spans.find((x) => x.span.name === 'rich-server');
    const client = spans.find((x) => x.span.name === 'rich-client');
    assert.ok(server && client, spans.map((x) => x.span.name).join());

    // Ids: 16 and 8 bytes, the ones the app saw through @opentelemetry/api.
    for (const { span } of [server, client]) {
      assert.equal(span.traceId.length, 16);
      assert.equal(span.spanId.length, 8);
      assert.equal(hex(span.traceId), ids.traceId);
    }
    assert.equal(hex(server.span.spanId), ids.server);
    assert.equal(hex(client.span.spanId), ids.client);
    assert.equal(server.span.parentSpanId.length, 0, 'a root span has no parent id');
    assert.equal(client.span.parentSpanId.length, 8);
    assert.equal(hex(client.span.parentSpanId), ids.server);

    // Times: fixed64 nanoseconds since the epoch, inside the window the app ran them in. Span
    // times come from the monotonic clock anchored at start-up, the window from Date.now(): the
    // two drift apart by milliseconds on a busy VM, so the window is a second wider each way
    // (a wrong unit or epoch would be off by far more).
    const lo = BigInt(ids.before - 1000) * 1_000_000n;
    const hi = BigInt(ids.after + 1000) * 1_000_000n;
    for (const { span } of [server, client]) {
      const start = nanos(span.startTimeUnixNano);
      const end = nanos(span.endTimeUnixNano);
      assert.ok(lo <= start && start <= end && end <= hi, `${span.name}: ${start}..${end} not in ${lo}..${hi}`);
    }
    assert.ok(nanos(client.span.startTimeUnixNano) >= nanos(server.span.startTimeUnixNano));

    // Kind and status enums.
    assert.equal(server.span.kind, 2, 'SPAN_KIND_SERVER');
    assert.equal(client.span.kind, 3, 'SPAN_KIND_CLIENT');
    assert.equal(server.span.status.code, 2, 'STATUS_CODE_ERROR');
    assert.equal(server.span.status.message, 'rich failure');
    assert.equal(client.span.status.code, 1, 'STATUS_CODE_OK');
    // flags (fixed32): sampled, and "is remote" known (false for a local root).
    assert.equal(server.span.flags & 0xff, 1);
    assert.equal(server.span.flags & 0x300, 0x100);

    // Attributes of every type.
    const a = attrs(server.span.attributes);
    assert.equal(a['rich.string'], 'a string');
    assert.equal(a['rich.bool'], true);
    assert.equal(a['rich.int'], 42n);
    assert.equal(a['rich.negative'], -7n);
    assert.deepEqual(a['rich.double'], { double: 2.5 });
    assert.deepEqual(a['rich.list'], ['x', 'y']);
    assert.equal(server.span.events.length, 1);
    const ev = server.span.events[0];
    assert.equal(ev.name, 'rich.event');
    assert.deepEqual(attrs(ev.attributes), { 'event.count': 3n });
    assert.ok(nanos(ev.timeUnixNano) >= nanos(server.span.startTimeUnixNano) && nanos(ev.timeUnixNano) <= nanos(server.span.endTimeUnixNano));

    // Resource and scope.
    assert.equal(server.resource['service.name'], 'otlp-fields');
    assert.equal(server.resource['service.version'], '1.2.3');
    assert.equal(server.resource['deployment.environment'], 'staging');
    assert.equal(server.resource['deployment.environment.name'], 'staging');
    assert.equal(server.resource['telemetry.sdk.language'], 'nodejs');
    assert.equal(server.resource['process.pid'], BigInt(app.pid));
    assert.equal(server.scope.name, 'tracewell');

    // The dev agent's own decoder read the same spans.
    assert.deepEqual(agent.otlpSpans.map((s) => s.name).sort(), ['rich-client', 'rich-server']);
    assert.equal(agent.otlpSpans.find((s) => s.name === 'rich-server').traceId, ids.traceId);
    const s = await app.stats();
    assert.equal(s.spansSent, 2);
    assert.equal(s.payloadsSent, 1);
  } finally {
    agent.setResponder(null);
    await app.kill();
  }
});

test('OTEL_EXPORTER_OTLP_ENDPOINT alone (no OTEL_TRACES_EXPORTER, no agent named) sends OTLP to it', async () => {
  const agent = await pool.newAgent({ otlpPort: 0 });
  const app = await startEmitter({ env: { DD_SERVICE: 'otlp-by-endpoint', OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl, OTEL_EXPORTER_OTLP_TIMEOUT: '500', TRACEWELL_DLQ_DIR: tempDir() } });
  try {
    await app.call('rich', { prefix: 'by-endpoint' });
    await app.call('flush');
    await agent.waitForOtlpSpans(2);
    assert.deepEqual(otlpNames(agent, 'by-endpoint').size, 2);
    assert.equal(agent.requests.filter((r) => r.path.includes('/traces') && r.path !== '/v1/traces').length, 0, 'nothing went to the Datadog endpoints');
    assert.doesNotMatch(app.stderr(), /warn|error/i);
  } finally {
    await app.kill();
  }
});

test('OTLP exports sampled traces only: the others are counted in stats().dropped.unsampled', async () => {
  const agent = await pool.newAgent({ otlpPort: 0 });
  const app = await startEmitter({ env: { ...OTLP_FAST, DD_SERVICE: 'otlp-unsampled', DD_TRACE_SAMPLE_RATE: '0', OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl, TRACEWELL_DLQ_DIR: tempDir() } });
  try {
    await app.call('traces', { n: 3, prefix: 'unsampled' });
    await app.call('flush');
    const s = await until(async () => {
      const st = await app.stats();
      return st.dropped.unsampled === 6 && st;
    }, 'the unsampled spans counted');
    assert.equal(s.spansFinished, 6);
    assert.equal(s.spansSent, 0);
    assert.equal(s.spansPending, 0);
    assert.equal(agent.otlpSpans.length, 0);
  } finally {
    await app.kill();
  }
});

test('OTLP endpoints: /v1/traces is appended to OTEL_EXPORTER_OTLP_ENDPOINT only; the TRACES endpoint is used as is and wins; OTEL_EXPORTER_OTLP_HEADERS are sent', async () => {
  const { resolveConfig } = dist('config/resolve.js');
  const cfg = (env) => resolveConfig({}, env).config;
  assert.equal(cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).otlpEndpoint, 'http://collector:4318/v1/traces');
  assert.equal(cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/base/' }).otlpEndpoint, 'http://collector:4318/base/v1/traces');
  assert.equal(cfg({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/ingest' }).otlpEndpoint, 'http://collector:4318/ingest');
  assert.equal(cfg({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/t' }).otlpEndpoint, 'http://b:4318/t');
  assert.equal(cfg({}).otlpEndpoint, 'http://localhost:4318/v1/traces');
  const traces = cfg({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=one,x-team=core', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=two' });
  assert.deepEqual({ ...traces.otlpHeaders }, { 'api-key': 'two', 'x-team': 'core' }, 'the traces variable wins key by key');

  // Real requests: where they go, with which headers.
  const agent = await pool.newAgent({ otlpPort: 0 });
  const got = [];
  agent.setResponder(({ path, headers, body }) => {
    if (path === '/v1/traces') return null;
    if (body.length > 0) got.push({ path, headers, names: spansOf(decodeStrict(body)).map((x) => x.span.name) });
    return { status: 200, body: '' };
  });
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const runs = [
    ['as-is', { OTEL_EXPORTER_OTLP_ENDPOINT: dead, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${agent.otlpUrl}/custom/ingest` }, '/custom/ingest'],
    ['base', { OTEL_EXPORTER_OTLP_ENDPOINT: `${agent.otlpUrl}/base` }, '/base/v1/traces'],
  ];
  try {
    for (const [prefix, env, path] of runs) {
      const app = await startEmitter({
        env: { ...OTLP_FAST, ...env, DD_SERVICE: `otlp-${prefix}`, OTEL_EXPORTER_OTLP_HEADERS: 'api-key=secret%20key%3D1,x-tenant=acme', TRACEWELL_DLQ_DIR: tempDir() },
      });
      try {
        await app.call('traces', { n: 2, prefix });
        await app.call('flush');
        await until(() => got.some((g) => g.names.includes(`${prefix}-1`)), `the ${prefix} spans at ${path}`, 5000);
        const hit = got.find((g) => g.names.includes(`${prefix}-1`));
        assert.equal(hit.path, path);
        assert.equal(hit.headers['api-key'], 'secret key=1', 'percent-decoded');
        assert.equal(hit.headers['x-tenant'], 'acme');
        assert.equal(hit.headers['content-type'], 'application/x-protobuf');
        assert.equal((await app.stats()).spansSent, 4);
      } finally {
        await app.kill();
      }
    }
    assert.ok(!agent.requests.some((r) => r.path === '/v1/traces' && r.bytes > 0), 'nothing went to the default path');
  } finally {
    agent.setResponder(null);
  }
});

test('OTLP retry rules: 429 with Retry-After, 502, 503, 504 and a timeout are retried; 413 is split; 400 and 500 are not retried, they go to the rejected file; a partial success is counted', async () => {
  const dir = tempDir();
  const agent = await pool.newAgent({ otlpPort: 0 });
  const script = [];
  const arrivals = [];
  agent.setResponder(({ path, body }) => {
    if (path !== '/v1/traces' || body.length === 0) return null;
    arrivals.push({ time: Date.now(), names: spansOf(decodeStrict(body)).map((x) => x.span.name) });
    return script.shift() ?? null;
  });
  const app = await startEmitter({
    env: {
      ...OTLP_FAST,
      DD_SERVICE: 'otlp-rules',
      OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl,
      // Long enough that a loaded agent's normal answer is not retried; the slow answer below is far later.
      OTEL_EXPORTER_OTLP_TIMEOUT: '4000',
      TRACEWELL_DLQ_DIR: dir,
      TRACEWELL_FLUSH_INTERVAL_MS: '600000',
      TRACEWELL_BREAKER_FAILURES: '50',
    },
  });
  const sentWith = (prefix) => arrivals.filter((a) => a.names.includes(`${prefix}-0`));
  const round = async (prefix, answers, { rejected = false } = {}) => {
    script.push(...answers);
    await app.call('traces', { n: 5, prefix });
    await app.call('flush');
    await until(async () => {
      const st = await app.stats();
      const settled = st.deadLetter.spansWritten === st.deadLetter.spansReplayed && st.spansPending === 0;
      return settled && (rejected ? st.deadLetter.spansRejected > 0 && sentWith(prefix).length > 0 : otlpNames(agent, prefix + '-').size >= 10);
    }, `round ${prefix} settled`);
    assert.equal(script.length, 0, `round ${prefix} used every scripted answer`);
  };
  try {
    await round('o429', [{ status: 429, headers: { 'retry-after': '1' } }]);
    const [first429, second429] = sentWith('o429');
    assert.ok(second429.time - first429.time >= 950, `retried ${second429.time - first429.time} ms after a Retry-After of 1 s`);
    await round('o502', [{ status: 502 }]);
    await round('o503', [{ status: 503 }, { status: 503 }]);
    await round('o504', [{ status: 504 }]);
    // An answer much later than OTEL_EXPORTER_OTLP_TIMEOUT (4 s): the attempt is given up and retried.
    await round('oslow', [{ delayMs: 20_000, destroy: true }]);
    const [slow1, slow2] = sentWith('oslow');
    const gap = slow2.time - slow1.time;
    assert.ok(gap >= 3000, `the retry came ${gap} ms after the first attempt, before its timeout of 4 s`);
    // The retry did not wait for the late answer: it arrived before the agent dropped the first
    // attempt's connection (an order of events, however slow the machine).
    await agent.waitFor(() => agent.requests.some((r) => r.path === '/v1/traces' && r.status === 0), 60_000);
    const order = agent.requests.filter((r) => r.path === '/v1/traces' && (r.status === 0 || r.time >= slow2.time));
    assert.equal(order[0].status, 200, `the retry was answered before the first attempt's late answer was due: ${order.map((r) => r.status).join(' ')}`);
    // 413: split between spans, both halves sent.
    await round('o413', [{ status: 413 }]);
    const halves = arrivals.filter((a) => a.names.some((n) => n.startsWith('o413-')));
    assert.equal(halves[0].names.length, 10);
    assert.deepEqual(halves.slice(1).map((a) => a.names.length), [5, 5]);
    for (const p of ['o429', 'o502', 'oslow', 'o504']) assert.equal(sentWith(p).length, 2, `${p}: one retry`);
    assert.equal(sentWith('o503').length, 3);
    await round('o400', [{ status: 400, body: 'bad request' }], { rejected: true });
    await round('o500', [{ status: 500, body: 'internal' }], { rejected: true });
    // Counted once nothing is pending or waiting for replay and nothing more arrives.
    let s;
    await afterBacklogSettles(
      () => arrivals.length,
      async () => {
        s = await app.stats();
        return s.spansPending === 0 && s.deadLetter.spansWritten === s.deadLetter.spansReplayed;
      },
    );
    assert.equal(sentWith('o400').length, 1, '400 is not retried');
    assert.equal(sentWith('o500').length, 1, '500 is not retried (OTLP)');
    assert.equal(otlpNames(agent, 'o400-').size + otlpNames(agent, 'o500-').size, 0);
    for (const p of ['o429', 'o502', 'o503', 'o504', 'oslow', 'o413']) assertOtlpExactlyOnce(agent, p, 5);

    assert.equal(s.dropped.rejected, 20);
    assert.equal(s.deadLetter.spansRejected, 20);
    assert.equal(s.deadLetter.payloadsRejected, 2);
    // Six attempts again: each a retry in place, or (a payload whose attempt outlived the
    // flush) a replay from the dead-letter file.
    assert.equal(s.retries + s.deadLetter.payloadsReplayed, 6, JSON.stringify({ retries: s.retries, deadLetter: s.deadLetter }));
    assert.equal(s.spansSent, 60);
    assert.equal(s.dropped.sendFailed + s.dropped.deadLetterFailed + s.dropped.bufferFull + s.dropped.encodeFailed, 0);
    // The rejected file holds both payloads, as sent, in OTLP records; nothing waits for replay.
    const rejected = dlqRecords(dir, 'otlp-rules', { rejected: true });
    assert.equal(rejected.length, 2);
    assert.ok(rejected.every((r) => r.kind === 2 && r.file.startsWith('rejected-otlp-')));
    const names = rejected.flatMap((r) => spansOf(decodeStrict(r.body)).map((x) => x.span.name));
    assert.deepEqual(names.filter((n) => !n.endsWith('.child')).sort(), ['o400-0', 'o400-1', 'o400-2', 'o400-3', 'o400-4', 'o500-0', 'o500-1', 'o500-2', 'o500-3', 'o500-4']);
    assert.deepEqual(dlqRecords(dir, 'otlp-rules'), []);
    assert.match(app.stderr(), /TW_EXPORT_REJECTED.*400/);
    // One line per minute per kind of problem; the counters have every payload.
    assert.equal(app.stderr().split('\n').filter((l) => l.includes('TW_EXPORT_REJECTED')).length, 1, app.stderr());
    assert.ok(!/\n\s+at /.test(app.stderr()), app.stderr());

    // A partial success: 200 with ExportTraceServiceResponse{partial_success{rejected_spans: 3,
    // error_message: "quota"}}. Those spans are counted, never resent.
    const partial = Buffer.from([0x0a, 0x09, 0x08, 0x03, 0x12, 0x05, ...Buffer.from('quota')]);
    script.push({ status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: partial.toString('latin1') });
    await app.call('traces', { n: 5, prefix: 'opart' });
    await app.call('flush');
    const p = await until(async () => {
      const st = await app.stats();
      return st.dropped.rejected === 23 && st;
    }, 'the partially rejected spans counted');
    assert.equal(p.spansSent, 60 + 10 - 3);
    assert.equal(p.spansPending, 0);
    assert.equal(sentWith('opart').length, 1, 'a partial success is not retried');
    assert.match(app.stderr(), /TW_EXPORT_REJECTED\] http:\/\/127\.0\.0\.1:\d+\/v1\/traces accepted a payload but rejected 3 of its spans: quota/);
  } finally {
    agent.setResponder(null);
    await app.kill();
  }
});


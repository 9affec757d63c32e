// Span and trace ids are held as int32 halves (negative when the top bit is set); every way
// an id leaves the process must still show its unsigned value: both Datadog encodings,
// injected headers (W3C, Datadog, B3), the OTel span context, and `dec64` (the decimal form
// of log correlation and profile labels).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBoth } from '../exporter/helpers.mjs';
import { dist, require } from '../helpers/common.mjs';

const { resolveConfig } = dist('config/resolve.js');
const { TracerCore } = dist('tracer/tracer.js');
const { dec64 } = dist('tracer/ids.js');
const { ROOT_CONTEXT, SpanKind } = require('@opentelemetry/api');

const { config } = resolveConfig({ service: 'ids-svc', env: 'test', version: '1', propagationInject: ['tracecontext', 'datadog', 'b3'] }, {});
const u64 = (hi, lo) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const hex = (n) => (n >>> 0).toString(16).padStart(8, '0');

test('ids with the top bit set leave the process as their unsigned values, everywhere', () => {
  const traces = [];
  const c = new TracerCore(config);
  c.setSink({ enqueue: (spans) => traces.push(spans) });
  // A remote parent whose every half has the top bit set.
  const remote = { t0: 0x80000001, t1: 0xfffffffe, t2: 0xdeadbeef, t3: 0xffffffff, spanHi: 0x80000000, spanLo: 0xfedcba98, priority: 1, origin: '', ptags: '', tracestate: '', baggage: '' };
  const server = c.startSpan('server', SpanKind.SERVER, ROOT_CONTEXT, remote, performance.now());
  const children = [];
  for (let i = 0; i < 50; i++) {
    const ch = c.startSpan('child', SpanKind.INTERNAL, server, undefined, performance.now());
    children.push(ch);
    ch.end();
  }
  server.end();
  assert.ok(server.trace.t3 < 0 && server.parentLo < 0, 'held as int32');
  assert.ok(children.some((s) => s.spanLo < 0), 'some random low halves are negative');

  const traceIdHex = hex(remote.t0) + hex(remote.t1) + hex(remote.t2) + hex(remote.t3);
  assert.equal(server.spanContext().traceId, traceIdHex);
  for (const s of [server, ...children]) assert.equal(s.spanContext().spanId, hex(s.spanHi) + hex(s.spanLo));

  for (const [format, [spans]] of Object.entries(decodeBoth(config, traces))) {
    const byId = new Map(spans.map((s) => [s.span_id, s]));
    assert.equal(spans.length, 51);
    for (const s of spans) assert.equal(s.trace_id, u64(remote.t2, remote.t3), format);
    assert.equal(byId.get(u64(server.spanHi, server.spanLo)).parent_id, u64(remote.spanHi, remote.spanLo), format);
    for (const ch of children) assert.equal(byId.get(u64(ch.spanHi, ch.spanLo)).parent_id, u64(server.spanHi, server.spanLo), format);
    assert.equal(byId.get(u64(server.spanHi, server.spanLo)).meta['_dd.p.tid'], hex(remote.t0) + hex(remote.t1));
  }

  const headers = {};
  c.inject(children[0], headers, (h, k, v) => (h[k] = v));
  const spanHex = hex(children[0].spanHi) + hex(children[0].spanLo);
  assert.equal(headers.traceparent, `00-${traceIdHex}-${spanHex}-01`);
  assert.equal(headers['x-datadog-trace-id'], u64(remote.t2, remote.t3).toString());
  assert.equal(headers['x-datadog-parent-id'], u64(children[0].spanHi, children[0].spanLo).toString());
  assert.equal(headers.b3, `${traceIdHex}-${spanHex}-1`);
  assert.equal(dec64(-1, -2), u64(0xffffffff, 0xfffffffe).toString());
  assert.equal(dec64(5, -1), u64(5, 0xffffffff).toString());
});

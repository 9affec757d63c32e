// Span attributes: a key set again keeps its last value, the naming attributes rename the
// span, and past 128 attributes new keys are dropped and counted (a key already set still
// changes). Checked on what leaves the process (the Datadog encoding, and an OTel span
// processor's ReadableSpan).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBoth } from '../exporter/helpers.mjs';
import { dist, require } from '../helpers/common.mjs';

const { resolveConfig } = dist('config/resolve.js');
const { TracerCore } = dist('tracer/tracer.js');
const { counters } = dist('internal/counters.js');
const { ROOT_CONTEXT, SpanKind } = require('@opentelemetry/api');

const ended = [];
const processor = { onStart() {}, onEnd: (s) => ended.push(s), forceFlush: async () => {}, shutdown: async () => {} };
const { config } = resolveConfig({ service: 'attr-svc', env: 'test', version: '1', spanProcessors: [processor] }, {});

function traced(fn) {
  const traces = [];
  const c = new TracerCore(config);
  c.setSink({ enqueue: (spans) => traces.push(spans) });
  const s = c.startSpan('op', SpanKind.INTERNAL, ROOT_CONTEXT, undefined, performance.now());
  fn(s);
  s.end();
  const { v04, v05 } = decodeBoth(config, traces);
  assert.deepEqual(v05, v04);
  return { span: v04[0][0], readable: ended.at(-1) };
}

test('a key set again keeps its last value, in order of first set; undefined and null are ignored', () => {
  const { span, readable } = traced((s) => {
    s.setAttribute('a', 'one');
    s.setAttribute('b', 1);
    s.setAttribute('a', 'two');
    s.setAttribute('b', 2);
    s.setAttribute('c', undefined);
    s.setAttribute('d', null);
    s.setAttributes({ e: true, f: ['x', 'y'] });
    assert.equal(s.attribute('a'), 'two');
    assert.equal(s.attribute('c'), undefined);
  });
  assert.equal(span.meta.a, 'two');
  assert.equal(span.metrics.b, 2);
  assert.equal(span.meta.e, 'true');
  assert.equal(span.meta.f, '["x","y"]');
  assert.ok(!('c' in span.meta) && !('d' in span.meta));
  assert.deepEqual(Object.keys(readable.attributes).filter((k) => 'abef'.includes(k)), ['a', 'b', 'e', 'f']);
  assert.equal(readable.attributes.a, 'two');
});

test('service.name, resource.name, operation.name and span.type name the span instead of becoming tags', () => {
  const { span } = traced((s) => s.setAttributes({ 'service.name': 'billing', 'resource.name': 'charge', 'operation.name': 'billing.run', 'span.type': 'worker', other: 'x' }));
  assert.equal(span.service, 'billing');
  assert.equal(span.resource, 'charge');
  assert.equal(span.name, 'billing.run');
  assert.equal(span.type, 'worker');
  assert.equal(span.meta.other, 'x');
  for (const k of ['service.name', 'resource.name', 'operation.name', 'span.type']) assert.ok(!(k in span.meta), k);
});

test('past 128 attributes new keys are dropped and counted; keys already set still change', () => {
  const before = counters.attributesDropped;
  const { span, readable } = traced((s) => {
    for (let i = 0; i < 130; i++) s.setAttribute(`k${i}`, `v${i}`);
    s.setAttribute('k0', 'changed');
  });
  assert.equal(counters.attributesDropped - before, 2);
  assert.equal(Object.keys(readable.attributes).filter((k) => /^k\d+$/.test(k)).length, 128);
  assert.equal(span.meta.k0, 'changed');
  assert.equal(span.meta.k127, 'v127');
  assert.ok(!('k128' in span.meta) && !('k129' in span.meta));

  // The same through one setAttributes on a fresh span (startSpan's path).
  const before2 = counters.attributesDropped;
  const many = Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`m${i}`, i]));
  const { span: bulk } = traced((s) => s.setAttributes(many));
  assert.equal(counters.attributesDropped - before2, 2);
  assert.equal(bulk.metrics.m127, 127);
  assert.ok(!('m128' in bulk.metrics) && !('m129' in bulk.metrics));
});

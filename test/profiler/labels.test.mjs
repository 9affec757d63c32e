// Linked mode's sample contexts: what a sample under a span is labelled with, and that the
// context lets go of its local root once the root ends (on Node 24 the binding keeps contexts
// until a collection after their async context frame died; a root kept by them, even through
// a WeakRef, was carried out of the young generation at every request).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dist, require } from '../helpers/common.mjs';

const { resolveConfig } = dist('config/resolve.js');
const { TracerCore } = dist('tracer/tracer.js');
const { contextOf, rootEnded, labelsOfSpan, endpointOf } = dist('profiler/labels.js');
const { dec64 } = dist('tracer/ids.js');
const { ROOT_CONTEXT, SpanKind, trace } = require('@opentelemetry/api');

const { config } = resolveConfig({ service: 'labels-svc', env: 'test', version: '1' }, {});

test('a child span is labelled with its own id, its local root and the endpoint, known while the root runs and after it ended', () => {
  const core = new TracerCore(config);
  core.setSink({ enqueue() {} });
  const root = core.startSpan('GET', SpanKind.SERVER, ROOT_CONTEXT, undefined, performance.now());
  root.resource = 'GET /users/:id'; // as the HTTP server instrumentation sets it once the route is known
  const child = core.startSpan('db', SpanKind.CLIENT, trace.setSpan(ROOT_CONTEXT, root), undefined, performance.now());
  const rootId = dec64(root.spanHi, root.spanLo);
  const childCtx = contextOf(child);
  assert.equal(contextOf(child), childCtx, 'made once per span');
  assert.equal(childCtx.endpoint, contextOf(root).endpoint, 'one endpoint cell per trace');

  const running = labelsOfSpan(childCtx);
  assert.deepEqual(running, { 'span id': dec64(child.spanHi, child.spanLo), 'local root span id': rootId, 'trace endpoint': 'GET /users/:id' });
  assert.equal(childCtx.endpoint.root, root, 'the running root is reachable for samples cut before it ends');

  child.end();
  root.end();
  rootEnded(root, endpointOf(root));
  assert.equal(childCtx.endpoint.root, null, 'an ended root is no longer held by the contexts the binding may keep');
  assert.deepEqual(labelsOfSpan(childCtx), running, 'the labels stay the same after the root ended');
});

test('a local root that is not a server span has no endpoint label', () => {
  const core = new TracerCore(config);
  core.setSink({ enqueue() {} });
  const job = core.startSpan('nightly-job', SpanKind.INTERNAL, ROOT_CONTEXT, undefined, performance.now());
  const id = dec64(job.spanHi, job.spanLo);
  assert.deepEqual(labelsOfSpan(contextOf(job)), { 'span id': id, 'local root span id': id });
  job.end();
  rootEnded(job, endpointOf(job));
  assert.deepEqual(labelsOfSpan(contextOf(job)), { 'span id': id, 'local root span id': id });
});

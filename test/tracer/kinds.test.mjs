// The tracer's SpanKind / SpanStatusCode / TraceFlags constants are the API's values (they are
// written as numbers so that the preload does not load @opentelemetry/api), and the preload
// registers the OTel globals without loading the API while the API still sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { dist, require, root } from '../helpers/common.mjs';

test('the constants are the API enums', () => {
  const api = require('@opentelemetry/api');
  const k = dist('tracer/kinds.js');
  assert.deepEqual(
    [k.KIND_INTERNAL, k.KIND_SERVER, k.KIND_CLIENT, k.KIND_PRODUCER, k.KIND_CONSUMER],
    [api.SpanKind.INTERNAL, api.SpanKind.SERVER, api.SpanKind.CLIENT, api.SpanKind.PRODUCER, api.SpanKind.CONSUMER],
  );
  assert.deepEqual([k.STATUS_UNSET, k.STATUS_OK, k.STATUS_ERROR], [api.SpanStatusCode.UNSET, api.SpanStatusCode.OK, api.SpanStatusCode.ERROR]);
  assert.deepEqual([k.FLAGS_NONE, k.FLAGS_SAMPLED], [api.TraceFlags.NONE, api.TraceFlags.SAMPLED]);
});

/** Runs `code` after the preload; its stdout parsed as JSON. */
function afterPreload(code, flag = '--require') {
  const out = execFileSync(process.execPath, [flag, 'tracewell/register', '-e', code], {
    cwd: root,
    env: { PATH: process.env.PATH, DD_ENV: 'test', DD_SERVICE: 'kinds', DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', TRACEWELL_LOG_LEVEL: 'error' },
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

test('the preload loads no module of @opentelemetry/api, and the API loaded after it finds the tracer, context and propagator', () => {
  const seen = afterPreload(`
    const before = Object.keys(require.cache).filter((f) => f.includes('@opentelemetry')).length;
    const api = require('@opentelemetry/api');
    const tracer = api.trace.getTracer('app');
    const span = tracer.startSpan('work', { kind: api.SpanKind.CLIENT });
    const inside = api.context.with(api.trace.setSpan(api.context.active(), span), () => {
      const carrier = {};
      api.propagation.inject(api.context.active(), carrier);
      return { active: api.trace.getActiveSpan() === span, carrier };
    });
    span.end();
    console.log(JSON.stringify({ before, tracer: tracer.constructor.name, traceId: span.spanContext().traceId, ...inside, fields: api.propagation.fields() }));
  `);
  assert.equal(seen.before, 0, 'modules of @opentelemetry loaded by the preload');
  assert.equal(seen.tracer, 'TwTracer');
  assert.equal(seen.active, true);
  assert.match(seen.carrier.traceparent, new RegExp(`^00-${seen.traceId}-[0-9a-f]{16}-[0-9a-f]{2}$`));
  assert.ok(seen.fields.includes('x-datadog-trace-id'));
});

test('another SDK registered first (the API loaded before init): its provider stays, and one warning says so', () => {
  const r = spawnSync(process.execPath, ['-e', `
    const api = require('@opentelemetry/api');
    api.trace.setGlobalTracerProvider({ getTracer: () => ({ mark: 'theirs' }) });
    require('tracewell').init({ service: 'kinds', env: 'test' });
    console.log(JSON.stringify({ tracer: api.trace.getTracer('x').mark ?? 'ours', context: api.context.active().constructor.name }));
  `], { cwd: root, env: { PATH: process.env.PATH, DD_TRACE_AGENT_URL: 'http://127.0.0.1:9' }, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(r.stdout), { tracer: 'theirs', context: 'EmptyContext' }, r.stderr);
  assert.equal(r.stderr.match(/another OpenTelemetry SDK registered/g)?.length, 1, r.stderr);
});

// Sampling rules (DD_TRACE_SAMPLING_RULES, OTEL_TRACES_SAMPLER on the same machinery) and single
// span sampling (DD_SPAN_SAMPLING_RULES), on real servers, checked on what the dev agent decoded;
// and, in process, the glob patterns and when a trace's decision is made.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { context, SpanKind } from '@opentelemetry/api';
import { startService, agentPool } from '../helpers/apps.mjs';
import { dist } from '../helpers/common.mjs';

const pool = agentPool();
after(() => pool.closeAll());

const servers = (agent, service) => agent.allSpans().filter((s) => s.service === service && s.meta['span.kind'] === 'server');
const byResource = (spans, resource) => spans.filter((s) => s.resource === resource);

// ------------------------------------------------------------------------------------------
// Patterns

test('globs: * any run, ? exactly one, without case for rules and with case for paths', () => {
  const { compileGlob, compileGlobList, matchesAll } = dist('tracer/glob.js');
  const cases = [
    ['GET /users/:id', 'get /USERS/:id', true, true],
    ['GET /users/*', 'GET /users/:id/posts', true, true],
    ['GET /users/*', 'GET /user', true, false],
    ['*/healthz', 'GET /healthz', true, true],
    ['*health*', 'GET /api/healthcheck', true, true],
    ['GET /?', 'GET /a', true, true],
    ['GET /?', 'GET /ab', true, false],
    ['a*b*c', 'axxbyyc', true, true],
    ['a*b*c', 'axxbyy', true, false],
    ['a*b?c', 'ab__bxc', true, true],
    ['**', '', true, true],
    ['/Healthz', '/healthz', false, false],
    ['/health*', '/healthz', false, true],
  ];
  for (const [pattern, subject, ignoreCase, want] of cases) assert.equal(compileGlob(pattern, ignoreCase)(subject), want, `${pattern} ~ ${subject}`);
  assert.equal(matchesAll('***'), true);
  assert.equal(matchesAll('*a'), false);
  const list = compileGlobList(['/healthz', '/readyz', '/internal/*']);
  assert.deepEqual(['/healthz', '/readyz', '/internal/x/y', '/users/1', '/healthz/'].map(list), [true, true, true, false, false]);
  assert.equal(compileGlobList([]), null, 'nothing configured: null, one comparison per request');
});

// ------------------------------------------------------------------------------------------
// When the decision is made (in process, the tracer core with a sink that keeps chunks)

function core(config) {
  const { TracerCore } = dist('tracer/tracer.js');
  const { resolveConfig } = dist('config/resolve.js');
  const c = new TracerCore(resolveConfig({ service: 'timing', env: 'test', ...config }, {}).config);
  const chunks = [];
  c.setSink({ enqueue: (spans) => chunks.push(spans) });
  return { c, chunks };
}
const root = (c) => c.startSpan('work', SpanKind.SERVER, context.active(), undefined, performance.now());

test('a rule on the resource sees the resource set after the root started: the decision waits for the end of the root', () => {
  const { c } = core({ samplingRules: [{ resource: 'GET /users/:id', sampleRate: 1 }, { sampleRate: 0 }] });
  const a = root(c);
  assert.ok(Number.isNaN(a.trace.priority), 'not decided at start');
  a.resource = 'GET /users/:id';
  a.end();
  assert.equal(a.trace.priority, 2);
  assert.equal(a.trace.ruleRate, 1);
  const b = root(c);
  b.resource = 'GET /orders';
  b.end();
  assert.equal(b.trace.priority, -1, 'the catch-all rule at 0');
  assert.equal(b.trace.ruleRate, 0);
});

test('propagation decides at once, with the root as it is then; later changes do not re-decide (what went downstream stands)', () => {
  const { c } = core({ samplingRules: [{ resource: 'GET /users/:id', sampleRate: 1 }, { sampleRate: 0 }] });
  const a = root(c);
  const headers = {};
  c.inject(a, headers, (h, k, v) => (h[k] = v));
  assert.equal(headers['x-datadog-sampling-priority'], '-1', 'the resource was not known yet: the catch-all rule decided');
  a.resource = 'GET /users/:id';
  a.end();
  assert.equal(a.trace.priority, -1);
  const b = root(c);
  b.resource = 'GET /users/:id';
  c.inject(b, headers, (h, k, v) => (h[k] = v));
  assert.equal(headers['x-datadog-sampling-priority'], '2');
  assert.match(headers['x-datadog-tags'], /_dd\.p\.dm=-3/);
  b.end();
});

test("reading a span's sampled flag decides; its ids do not", () => {
  const { c } = core({ samplingRules: [{ name: 'work', sampleRate: 0 }] });
  const a = root(c);
  const { traceId, spanId } = a.spanContext();
  assert.equal(traceId.length, 32);
  assert.equal(spanId.length, 16);
  assert.ok(Number.isNaN(a.trace.priority), 'ids read, still undecided');
  assert.equal({ ...a.spanContext() }.traceFlags & 1, 0, 'a copy reads the flag too');
  assert.equal(a.trace.priority, -1);
  a.end();
});

test('rules match service, operation name, resource and tags, first match wins; a rule per resource is looked up once per resource', () => {
  const { c } = core({
    samplingRules: [
      { service: 'other', sampleRate: 1 },
      { name: 'work', resource: 'GET /a*', tags: { tenant: 'acme-?' }, sampleRate: 1 },
      { name: 'WORK', resource: 'GET /a*', sampleRate: 0 },
    ],
  });
  const decide = (resource, tenant) => {
    const s = root(c);
    s.resource = resource;
    if (tenant !== undefined) s.setAttribute('tenant', tenant);
    s.end();
    return s.trace.priority;
  };
  assert.equal(decide('GET /abc', 'acme-1'), 2, 'tags match: the second rule');
  assert.equal(decide('GET /abc', 'acme-12'), -1, 'one ? is one character: the third rule');
  assert.equal(decide('GET /abc'), -1, 'a tag that is absent does not match');
  const s = root(c);
  s.resource = 'GET /b';
  s.end();
  assert.equal(s.trace.priority, 1, 'no rule: the agent rate (1 before it answered)');
  assert.equal(s.trace.mechanism, 0);
});

// ------------------------------------------------------------------------------------------
// Real servers

const RULES = JSON.stringify([
  { resource: 'GET /users/:id', sample_rate: 1 },
  { service: 'rules-*', resource: 'GET /status/*', sample_rate: 0 },
]);

for (const framework of ['fastify', 'express']) {
  test(`${framework}: a rule keeps GET /users/:id at 100% and another drops GET /status/:code at 0%; the rest follow the agent; tags on the payload`, async () => {
    const agent = await pool.newAgent();
    const back = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: `rules-back-${framework}` } });
    const app = await startService('apps/service.cjs', {
      agentUrl: agent.url,
      env: { FRAMEWORK: framework, DD_SERVICE: `rules-${framework}`, DD_TRACE_SAMPLING_RULES: RULES, DOWNSTREAM: back.url },
    });
    try {
      const users = await (await fetch(app.url + '/users/7')).json();
      // The route was known when the handler called downstream: the rule decided what went there.
      assert.equal(users.downstreamHeaders['x-datadog-sampling-priority'], '2');
      assert.match(users.downstreamHeaders['x-datadog-tags'], /_dd\.p\.dm=-3/);
      for (let i = 0; i < 3; i++) await (await fetch(app.url + '/status/204')).text();
      await (await fetch(app.url + '/api/v1/items/9')).text();
      const service = `rules-${framework}`;
      await agent.waitFor(() => servers(agent, service).length === 5 && servers(agent, `rules-back-${framework}`).length === 1);
      const spans = servers(agent, service);
      const [kept] = byResource(spans, 'GET /users/:id');
      assert.equal(kept.metrics._sampling_priority_v1, 2);
      assert.equal(kept.meta['_dd.p.dm'], '-3');
      assert.equal(kept.metrics['_dd.rule_psr'], 1);
      assert.equal(typeof kept.metrics['_dd.limit_psr'], 'number');
      const dropped = byResource(spans, 'GET /status/:code');
      assert.equal(dropped.length, 3);
      for (const s of dropped) {
        assert.equal(s.metrics._sampling_priority_v1, -1);
        assert.equal(s.metrics['_dd.rule_psr'], 0);
        assert.equal(s.meta['_dd.p.dm'], undefined, 'no decision maker on a dropped trace');
      }
      const [other] = byResource(spans, 'GET /api/v1/items/:itemId');
      assert.equal(other.metrics._sampling_priority_v1, 1);
      assert.equal(other.metrics['_dd.rule_psr'], undefined);
      assert.equal(typeof other.metrics['_dd.agent_psr'], 'number');
      const [down] = servers(agent, `rules-back-${framework}`);
      assert.equal(down.metrics._sampling_priority_v1, 2, 'the downstream service kept the decision it was given');
    } finally {
      await Promise.all([app.stop(), back.stop()]);
    }
  });
}

test('OTEL_TRACES_SAMPLER maps onto the same rules: traceidratio with 0 is a last rule at 0, after DD_TRACE_SAMPLING_RULES', async () => {
  const agent = await pool.newAgent();
  const app = await startService('apps/service.cjs', {
    agentUrl: agent.url,
    env: { FRAMEWORK: 'fastify', DD_SERVICE: 'otel-rules', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0', DD_TRACE_SAMPLING_RULES: '[{"resource":"GET /users/*","sample_rate":1}]' },
  });
  try {
    await (await fetch(app.url + '/users/1')).text();
    await (await fetch(app.url + '/status/200')).text();
    await agent.waitFor(() => servers(agent, 'otel-rules').length === 2);
    const spans = servers(agent, 'otel-rules');
    assert.equal(byResource(spans, 'GET /users/:id')[0].metrics._sampling_priority_v1, 2);
    const [other] = byResource(spans, 'GET /status/:code');
    assert.equal(other.metrics._sampling_priority_v1, -1);
    assert.equal(other.metrics['_dd.rule_psr'], 0);
  } finally {
    await app.stop();
  }
});

test('bad rules are reported once, naming the variable, and the rest of the configuration is used', async () => {
  const { resolveConfig } = dist('config/resolve.js');
  for (const [name, value] of [
    ['DD_TRACE_SAMPLING_RULES', '[{"resource":"GET /a"}]'],
    ['DD_TRACE_SAMPLING_RULES', '[{"sample_rate":2}]'],
    ['DD_TRACE_SAMPLING_RULES', '{"sample_rate":1}'],
    ['DD_TRACE_SAMPLING_RULES', '[{"sample_rate":1,"servce":"typo"}]'],
    ['DD_SPAN_SAMPLING_RULES', 'not json'],
    ['DD_SPAN_SAMPLING_RULES', '[{"tags":{"a":1}}]'],
  ]) {
    const { config, problems } = resolveConfig({}, { [name]: value });
    assert.equal(problems.length, 1, `${name}=${value}`);
    assert.equal(problems[0].variable, name);
    assert.match(problems[0].accepted, /JSON array of rules/);
    assert.deepEqual(name === 'DD_TRACE_SAMPLING_RULES' ? config.samplingRules : config.spanSamplingRules, []);
  }
  const { config } = resolveConfig({}, { DD_SPAN_SAMPLING_RULES: '[{"service":"a"}]', DD_TRACE_SAMPLING_RULES: '[{"sample_rate":0.5,"max_per_second":3}]' });
  assert.deepEqual(config.spanSamplingRules, [{ service: 'a', sampleRate: 1 }], 'a span rule keeps everything it matches by default');
  assert.deepEqual(config.samplingRules, [{ sampleRate: 0.5, maxPerSecond: 3 }]);
});

// ------------------------------------------------------------------------------------------
// Single span sampling

const SPAN_RULES = JSON.stringify([{ name: 'web.request', tags: { 'http.status_code': '5??' }, sample_rate: 1, max_per_second: 100 }]);

test('a span rule keeps the error spans of dropped traces (Datadog Agent): tagged _dd.span_sampling.*, the rest untouched', async () => {
  const agent = await pool.newAgent();
  const app = await startService('apps/service.cjs', {
    agentUrl: agent.url,
    env: { FRAMEWORK: 'fastify', DD_SERVICE: 'span-rules', DD_TRACE_SAMPLE_RATE: '0', DD_SPAN_SAMPLING_RULES: SPAN_RULES },
  });
  try {
    for (const path of ['/status/200', '/status/503', '/boom', '/users/3']) await (await fetch(app.url + path)).text();
    await agent.waitFor(() => servers(agent, 'span-rules').length === 4);
    const spans = servers(agent, 'span-rules');
    for (const s of spans) assert.equal(s.metrics._sampling_priority_v1, -1, 'every trace dropped');
    const keptAlone = spans.filter((s) => s.metrics['_dd.span_sampling.mechanism'] === 8);
    assert.deepEqual(keptAlone.map((s) => s.resource).sort(), ['GET /boom', 'GET /status/:code']);
    assert.equal(keptAlone.find((s) => s.resource === 'GET /status/:code').meta['http.status_code'], '503');
    for (const s of keptAlone) {
      assert.equal(s.metrics['_dd.span_sampling.rule_rate'], 1);
      assert.equal(s.metrics['_dd.span_sampling.max_per_second'], 100);
      assert.equal(s.error, 1);
    }
  } finally {
    await app.stop();
  }
});

test('a span rule keeps the error spans of dropped traces (OTLP): only those spans are exported, the others counted as unsampled', async () => {
  const agent = await pool.newAgent({ otlpPort: 0 });
  const app = await startService('apps/service.cjs', {
    env: { FRAMEWORK: 'fastify', DD_SERVICE: 'span-rules-otlp', OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl, OTEL_TRACES_SAMPLER: 'always_off', DD_SPAN_SAMPLING_RULES: SPAN_RULES },
  });
  try {
    for (const path of ['/status/200', '/status/500', '/users/3']) await (await fetch(app.url + path)).text();
    await app.flush();
    await agent.waitForOtlpSpans(1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(agent.otlpSpans.length, 1, agent.otlpSpans.map((s) => s.name).join(', '));
    const [s] = agent.otlpSpans;
    assert.equal(s.name, 'GET /status/:code');
    const stats = await app.stats();
    assert.equal(stats.dropped.unsampled, 2);
  } finally {
    await app.stop();
  }
});


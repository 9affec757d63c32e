// Configuration: precedence, the variable names users already set (DD_*, OTEL_*), and bad values
// reported once each, naming the variable, the value, what is accepted and what is used instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from '../helpers/common.mjs';

const require = createRequire(import.meta.url);
const { resolveConfig, reportConfig } = require('../../dist/cjs/config/resolve.js');
const { logger } = require('../../dist/cjs/internal/logger.js');
const { FIELDS } = require('../../dist/cjs/config/table.js');

const resolve = (env, options = {}) => resolveConfig(options, env);
const DEFAULT_STYLES = ['datadog', 'tracecontext', 'baggage'];

/** The lines reportConfig writes for this environment. */
function report(env, options = {}) {
  const { config, problems } = resolve(env, options);
  const lines = [];
  logger.setSink((l) => lines.push(l));
  logger.setLevel('warn');
  try {
    reportConfig(config, problems);
  } finally {
    logger.setSink(null);
  }
  return { config, problems, lines };
}

// ---------------------------------------------------------------------------------------------
// Precedence and sources

test('precedence: option > TRACEWELL_* > DD_* > OTEL_*', () => {
  const env = { OTEL_SERVICE_NAME: 'otel', DD_SERVICE: 'dd', TRACEWELL_SERVICE: 'tw' };
  assert.equal(resolve(env, { service: 'opt' }).config.service, 'opt');
  assert.equal(resolve(env).config.service, 'tw');
  assert.equal(resolve({ OTEL_SERVICE_NAME: 'otel', DD_SERVICE: 'dd' }).config.service, 'dd');
  assert.equal(resolve({ OTEL_SERVICE_NAME: 'otel' }).config.service, 'otel');
  assert.equal(resolve({ DD_SERVICE: 'dd' }).config.sources.service, 'DD_SERVICE');
  assert.equal(resolve(env, { service: 'opt' }).config.sources.service, 'option');

  const rates = { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', DD_TRACE_SAMPLE_RATE: '0.2', TRACEWELL_SAMPLE_RATE: '0.3' };
  assert.equal(resolve(rates, { sampleRate: 0.4 }).config.sampleRate, 0.4);
  assert.equal(resolve(rates).config.sampleRate, 0.3);
  assert.equal(resolve({ ...rates, TRACEWELL_SAMPLE_RATE: undefined }).config.sampleRate, 0.2);
  assert.equal(resolve({ ...rates, TRACEWELL_SAMPLE_RATE: undefined, DD_TRACE_SAMPLE_RATE: undefined }).config.sampleRate, 0.1);

  const enabled = { OTEL_SDK_DISABLED: 'true', DD_TRACE_ENABLED: 'true', TRACEWELL_ENABLED: 'false' };
  assert.equal(resolve(enabled, { enabled: true }).config.enabled, true);
  assert.equal(resolve(enabled).config.enabled, false);
  assert.equal(resolve({ ...enabled, TRACEWELL_ENABLED: undefined }).config.enabled, true);
  assert.equal(resolve({ OTEL_SDK_DISABLED: 'true' }).config.enabled, false);

  const envs = { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=otel', DD_ENV: 'dd', TRACEWELL_ENV: 'tw' };
  assert.equal(resolve(envs, { env: 'opt' }).config.env, 'opt');
  assert.equal(resolve(envs).config.env, 'tw');
  assert.equal(resolve({ ...envs, TRACEWELL_ENV: undefined }).config.env, 'dd');
  assert.equal(resolve({ OTEL_RESOURCE_ATTRIBUTES: envs.OTEL_RESOURCE_ATTRIBUTES }).config.env, 'otel');

  const tags = { OTEL_RESOURCE_ATTRIBUTES: 'team=otel,a=1', DD_TAGS: 'team:dd,b:2', TRACEWELL_TAGS: 'team:tw' };
  assert.deepEqual(resolve(tags, { tags: { team: 'opt' } }).config.tags, { team: 'opt', a: '1', b: '2' });
  assert.deepEqual(resolve(tags).config.tags, { team: 'tw', a: '1', b: '2' });
  assert.deepEqual(resolve({ ...tags, TRACEWELL_TAGS: undefined }).config.tags, { team: 'dd', a: '1', b: '2' });
});

test('empty or blank variables count as unset', () => {
  const { config, problems } = resolve({ DD_SERVICE: '  ', OTEL_SERVICE_NAME: 'otel', DD_TRACE_SAMPLE_RATE: '', DD_ENV: 'x' });
  assert.equal(config.service, 'otel');
  assert.equal(config.sampleRate, undefined);
  assert.deepEqual(problems, []);
  assert.equal(resolve({ DD_TRACE_SAMPLE_RATE: ' 0.5 ' }).config.sampleRate, 0.5, 'surrounding spaces are trimmed');
});

test('defaults when nothing is set', () => {
  const { config, problems } = resolve({});
  assert.deepEqual(problems, []);
  assert.equal(config.enabled, true);
  assert.equal(config.env, '');
  assert.equal(config.agentUrl, 'http://localhost:8126');
  assert.equal(config.sampleRate, undefined);
  assert.equal(config.rateLimit, 100);
  assert.deepEqual(config.propagationExtract, DEFAULT_STYLES);
  assert.deepEqual(config.propagationInject, DEFAULT_STYLES);
  assert.equal(config.logLevel, 'warn');
  assert.equal(config.flushIntervalMs, 1000);
  assert.deepEqual(config.tags, {});
});

// ---------------------------------------------------------------------------------------------
// The variables users already set

test('DD_TAGS: comma form and space form; values may hold spaces in the comma form', () => {
  assert.deepEqual(resolve({ DD_TAGS: 'team:core,region:eu-west-1' }).config.tags, { team: 'core', region: 'eu-west-1' });
  assert.deepEqual(resolve({ DD_TAGS: 'team:core, region:eu-west-1 ' }).config.tags, { team: 'core', region: 'eu-west-1' });
  assert.deepEqual(resolve({ DD_TAGS: 'team:core region:eu' }).config.tags, { team: 'core', region: 'eu' });
  assert.deepEqual(resolve({ DD_TAGS: 'team:core   region:eu\tzone:b' }).config.tags, { team: 'core', region: 'eu', zone: 'b' });
  assert.deepEqual(resolve({ DD_TAGS: 'owner:Jane Doe,team:core' }).config.tags, { owner: 'Jane Doe', team: 'core' });
  assert.deepEqual(resolve({ DD_TAGS: 'url:http://x:8080/a,,team:core' }).config.tags, { url: 'http://x:8080/a', team: 'core' }, 'split at the first colon');
  assert.deepEqual(resolve({ DD_TAGS: 'canary,team:core' }).config.tags, { canary: '', team: 'core' }, 'a bare key has an empty value');
  assert.deepEqual(resolve({ DD_TAGS: 'env:prod,service:x,version:1,a:b' }).config.tags, { a: 'b' }, 'service/env/version are not tags');
});

test('OTEL_RESOURCE_ATTRIBUTES gives service, env, version and the rest as tags', () => {
  const { config } = resolve({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=checkout,deployment.environment.name=prod,service.version=3.1.0,team=pay%20ments,k8s.pod.name=p-1' });
  assert.equal(config.service, 'checkout');
  assert.equal(config.env, 'prod');
  assert.equal(config.version, '3.1.0');
  assert.deepEqual(config.tags, { team: 'pay ments', 'k8s.pod.name': 'p-1' });
  assert.equal(config.sources.service, 'OTEL_RESOURCE_ATTRIBUTES');
  assert.equal(resolve({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging' }).config.env, 'staging', 'the older key');
  assert.equal(resolve({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=a', OTEL_SERVICE_NAME: 'b' }).config.service, 'b', 'OTEL_SERVICE_NAME wins over service.name');
  const bad = resolve({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=a,oops' });
  assert.notEqual(bad.config.service, 'a', 'a malformed list is ignored whole');
  assert.equal(bad.problems.length, 1);
  assert.equal(bad.problems[0].variable, 'OTEL_RESOURCE_ATTRIBUTES');
});

test('agent URL: DD_TRACE_AGENT_URL, or DD_AGENT_HOST + DD_TRACE_AGENT_PORT', () => {
  assert.equal(resolve({}).config.agentUrl, 'http://localhost:8126');
  assert.equal(resolve({ DD_AGENT_HOST: 'agent.local' }).config.agentUrl, 'http://agent.local:8126');
  assert.equal(resolve({ DD_TRACE_AGENT_PORT: '9126' }).config.agentUrl, 'http://localhost:9126');
  assert.equal(resolve({ DD_AGENT_HOST: 'agent.local', DD_TRACE_AGENT_PORT: '9126' }).config.agentUrl, 'http://agent.local:9126');
  assert.equal(resolve({ DD_AGENT_HOST: '::1' }).config.agentUrl, 'http://[::1]:8126');
  assert.equal(resolve({ DD_AGENT_HOST: '[fd00::1]', DD_TRACE_AGENT_PORT: '1' }).config.agentUrl, 'http://[fd00::1]:1');
  const url = resolve({ DD_TRACE_AGENT_URL: 'http://10.0.0.5:8126/', DD_AGENT_HOST: 'ignored', DD_TRACE_AGENT_PORT: '1' });
  assert.equal(url.config.agentUrl, 'http://10.0.0.5:8126', 'the URL wins over host and port');
  assert.equal(url.config.sources.agentUrl, 'DD_TRACE_AGENT_URL');
  assert.equal(resolve({ DD_TRACE_AGENT_URL: 'https://agent:443' }).config.agentUrl, 'https://agent:443');
  assert.equal(resolve({ DD_TRACE_AGENT_URL: 'unix:///var/run/datadog/apm.socket' }).config.agentUrl, 'unix:///var/run/datadog/apm.socket');
  assert.equal(resolve({ DD_TRACE_AGENT_URL: 'http://a:1', TRACEWELL_AGENT_URL: 'http://b:2' }).config.agentUrl, 'http://b:2');
  assert.equal(resolve({ DD_TRACE_AGENT_URL: 'http://a:1' }, { agentUrl: 'http://c:3' }).config.agentUrl, 'http://c:3');
});

test('exporter: an OTLP endpoint and no agent means OTLP; an agent named, or an exporter named, wins', () => {
  const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
  assert.equal(resolve({}).config.exporter, 'datadog');
  assert.equal(resolve({}).config.sources.exporter, 'default');
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    const { config } = resolve({ [name]: 'http://collector:4318' });
    assert.equal(config.exporter, 'otlp', name);
    assert.equal(config.sources.exporter, name);
  }
  assert.equal(resolve({}, { otlpEndpoint: 'http://collector:4318/v1/traces' }).config.exporter, 'otlp');
  assert.equal(resolve({}, { otlpEndpoint: 'http://collector:4318/v1/traces' }).config.sources.exporter, 'otlpEndpoint option');
  // An agent named too: the agent wins (a pod with DD_AGENT_HOST keeps its Datadog export).
  for (const agent of [{ DD_AGENT_HOST: 'dd-agent' }, { DD_TRACE_AGENT_URL: 'http://dd-agent:8126' }, { DD_TRACE_AGENT_PORT: '8127' }, { TRACEWELL_AGENT_URL: 'http://dd-agent:8126' }]) {
    assert.equal(resolve({ ...otlp, ...agent }).config.exporter, 'datadog', JSON.stringify(agent));
  }
  assert.equal(resolve(otlp, { agentUrl: 'http://dd-agent:8126' }).config.exporter, 'datadog');
  // Named outright: the name wins either way.
  assert.equal(resolve({ ...otlp, OTEL_TRACES_EXPORTER: 'datadog' }).config.exporter, 'datadog');
  assert.equal(resolve({ DD_AGENT_HOST: 'dd-agent', OTEL_TRACES_EXPORTER: 'otlp' }).config.exporter, 'otlp');
  assert.equal(resolve(otlp, { exporter: 'datadog' }).config.exporter, 'datadog');
});

test('sampling: DD_TRACE_SAMPLE_RATE, OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG', () => {
  assert.equal(resolve({}).config.sampleRate, undefined, 'unset: the agent decides');
  assert.equal(resolve({ DD_TRACE_SAMPLE_RATE: '0.25' }).config.sampleRate, 0.25);
  assert.equal(resolve({ DD_TRACE_SAMPLE_RATE: '0' }).config.sampleRate, 0);
  assert.equal(resolve({ DD_TRACE_SAMPLE_RATE: '1' }).config.sampleRate, 1);
  assert.equal(resolve({ DD_TRACE_SAMPLE_RATE: '.5' }).config.sampleRate, 0.5);
  for (const [sampler, arg, rate] of [
    ['always_on', undefined, 1],
    ['always_off', undefined, 0],
    ['parentbased_always_on', undefined, 1],
    ['parentbased_always_off', undefined, 0],
    ['traceidratio', '0.1', 0.1],
    ['parentbased_traceidratio', '0.75', 0.75],
    ['traceidratio', undefined, 1],
    ['PARENTBASED_TRACEIDRATIO', '0.3', 0.3],
  ]) {
    const { config, problems } = resolve({ OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: arg });
    assert.equal(config.sampleRate, rate, `${sampler} ${arg}`);
    assert.deepEqual(problems, []);
  }
  assert.equal(resolve({ OTEL_TRACES_SAMPLER: 'always_on', DD_TRACE_SAMPLE_RATE: '0.5' }).config.sampleRate, 0.5, 'DD_ beats OTEL_');
  assert.equal(resolve({ OTEL_TRACES_SAMPLER_ARG: '0.5' }).config.sampleRate, undefined, 'the argument alone does nothing');
  assert.equal(resolve({ DD_TRACE_RATE_LIMIT: '20' }).config.rateLimit, 20);
});

test('propagation styles: DD_TRACE_PROPAGATION_STYLE(_INJECT/_EXTRACT) and OTEL_PROPAGATORS', () => {
  const both = resolve({ DD_TRACE_PROPAGATION_STYLE: 'tracecontext, b3 single header' }).config;
  assert.deepEqual(both.propagationInject, ['tracecontext', 'b3']);
  assert.deepEqual(both.propagationExtract, ['tracecontext', 'b3']);
  const split = resolve({ DD_TRACE_PROPAGATION_STYLE_INJECT: 'b3multi', DD_TRACE_PROPAGATION_STYLE_EXTRACT: 'Datadog,W3C', DD_TRACE_PROPAGATION_STYLE: 'b3' }).config;
  assert.deepEqual(split.propagationInject, ['b3multi']);
  assert.deepEqual(split.propagationExtract, ['datadog', 'tracecontext'], 'case-insensitive, w3c is tracecontext');
  const inject = resolve({ DD_TRACE_PROPAGATION_STYLE_INJECT: 'datadog', DD_TRACE_PROPAGATION_STYLE: 'b3multi' }).config;
  assert.deepEqual(inject.propagationInject, ['datadog']);
  assert.deepEqual(inject.propagationExtract, ['b3multi'], 'the general variable fills the other side');
  assert.deepEqual(resolve({ OTEL_PROPAGATORS: 'tracecontext,baggage' }).config.propagationExtract, ['tracecontext', 'baggage']);
  assert.deepEqual(resolve({ OTEL_PROPAGATORS: 'b3multi,b3' }).config.propagationInject, ['b3multi', 'b3']);
  assert.deepEqual(resolve({ OTEL_PROPAGATORS: 'tracecontext', DD_TRACE_PROPAGATION_STYLE: 'datadog' }).config.propagationInject, ['datadog'], 'DD_ beats OTEL_');
  assert.deepEqual(resolve({ OTEL_PROPAGATORS: 'none' }).config.propagationInject, []);
  assert.deepEqual(resolve({ DD_TRACE_PROPAGATION_STYLE: 'datadog,datadog' }).config.propagationInject, ['datadog']);
  assert.deepEqual(resolve({}, { propagationInject: ['b3'] }).config.propagationInject, ['b3']);
});

test('enabled: DD_TRACE_ENABLED and OTEL_SDK_DISABLED in the spellings users write', () => {
  for (const v of ['false', 'FALSE', '0', 'no', 'off']) assert.equal(resolve({ DD_TRACE_ENABLED: v }).config.enabled, false, v);
  for (const v of ['true', 'True', '1', 'yes', 'on']) assert.equal(resolve({ DD_TRACE_ENABLED: v }).config.enabled, true, v);
  assert.equal(resolve({ OTEL_SDK_DISABLED: 'true' }).config.enabled, false);
  assert.equal(resolve({ OTEL_SDK_DISABLED: 'false' }).config.enabled, true);
  assert.equal(resolve({ OTEL_SDK_DISABLED: 'true', DD_TRACE_ENABLED: 'true' }).config.enabled, true);
  assert.equal(resolve({ OTEL_SDK_DISABLED: 'true' }).config.sources.enabled, 'OTEL_SDK_DISABLED');
});

test('gRPC error statuses: lists and ranges, per side', () => {
  const { config } = resolve({ DD_GRPC_SERVER_ERROR_STATUSES: '2, 12-14', TRACEWELL_GRPC_CLIENT_ERROR_STATUSES: '4' });
  assert.deepEqual(config.grpcServerErrorStatuses, [2, 12, 13, 14]);
  assert.deepEqual(config.grpcClientErrorStatuses, [4]);
});

test('the resolved config is frozen', () => {
  const { config } = resolve({ DD_TAGS: 'a:b' });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.tags) && Object.isFrozen(config.propagationInject) && Object.isFrozen(config.sources));
  assert.throws(() => {
    'use strict';
    config.tags.c = 'd';
  }, TypeError);
});

// ---------------------------------------------------------------------------------------------
// Bad values: one message each, naming the variable, the value, what is accepted, the default

const BAD = [
  // variable, value, config field, the default it holds, what is accepted, what the message says is used
  ['DD_TRACE_SAMPLE_RATE', 'abc', 'sampleRate', undefined, 'a number from 0 to 1', 'agent-controlled sampling'],
  ['DD_TRACE_SAMPLE_RATE', '1.5', 'sampleRate', undefined, 'a number from 0 to 1', 'agent-controlled sampling'],
  ['DD_TRACE_SAMPLE_RATE', '-0.1', 'sampleRate', undefined, 'a number from 0 to 1', 'agent-controlled sampling'],
  ['DD_TRACE_AGENT_PORT', '99999', 'agentUrl', 'http://localhost:8126', 'a port number from 1 to 65535', '8126'],
  ['DD_TRACE_AGENT_PORT', '0', 'agentUrl', 'http://localhost:8126', 'a port number from 1 to 65535', '8126'],
  ['DD_TRACE_AGENT_URL', 'not a url', 'agentUrl', 'http://localhost:8126', 'an http://, https:// or unix:// URL', 'http://localhost:8126'],
  ['DD_TRACE_AGENT_URL', 'localhost:8126', 'agentUrl', 'http://localhost:8126', 'an http://, https:// or unix:// URL', 'http://localhost:8126'],
  ['DD_TRACE_PROPAGATION_STYLE', 'bogus', 'propagationInject', DEFAULT_STYLES, 'datadog, tracecontext, b3, b3multi, baggage, none', 'datadog,tracecontext,baggage'],
  ['OTEL_PROPAGATORS', 'tracecontext,xray', 'propagationExtract', DEFAULT_STYLES, 'datadog, tracecontext, b3, b3multi, baggage, none', 'datadog,tracecontext,baggage'],
  ['TRACEWELL_LOG_LEVEL', 'loud', 'logLevel', 'warn', 'debug, info, warn, error, off', 'warn'],
  ['DD_TRACE_ENABLED', 'maybe', 'enabled', true, 'true or false', 'true'],
  ['OTEL_SDK_DISABLED', 'perhaps', 'enabled', true, 'true or false', 'false'],
  ['TRACEWELL_FLUSH_INTERVAL_MS', '-1', 'flushIntervalMs', 1000, 'a whole number of milliseconds from 10 to 600000', '1000'],
  ['TRACEWELL_FLUSH_INTERVAL_MS', '1.5', 'flushIntervalMs', 1000, 'a whole number of milliseconds from 10 to 600000', '1000'],
  ['OTEL_TRACES_SAMPLER', 'sometimes', 'sampleRate', undefined, 'always_on, always_off, traceidratio', 'agent-controlled sampling'],
  ['TRACEWELL_DISABLED_INSTRUMENTATIONS', 'http,kafka', 'disabledInstrumentations', [], 'http, fastify, express', 'none'],
  ['DD_GRPC_SERVER_ERROR_STATUSES', '2,x', 'grpcServerErrorStatuses', [2, 4, 12, 13, 14, 15], 'gRPC status codes 0-16', '2,4,12-15'],
  ['DD_GRPC_CLIENT_ERROR_STATUSES', '3-17', 'grpcClientErrorStatuses', Array.from({ length: 16 }, (_, i) => i + 1), 'gRPC status codes 0-16', '1-16'],
];

for (const [variable, value, field, expected, accepted, used] of BAD) {
  test(`${variable}=${JSON.stringify(value)}: one message naming it, what is accepted, and the default kept`, () => {
    const { config, lines } = report({ [variable]: value, DD_ENV: 'test' });
    assert.deepEqual(config[field], expected);
    assert.equal(lines.length, 1, lines.join('\n'));
    const [line] = lines;
    assert.ok(line.startsWith('tracewell warn: [TW_CONFIG_INVALID] '), line);
    assert.ok(line.includes(`${variable}=${JSON.stringify(value)}`), `names the variable and value: ${line}`);
    const acceptedText = /\(expected ([^)]*)\)/.exec(line)?.[1] ?? '';
    assert.ok(acceptedText.includes(accepted), `says what is accepted: ${line}`);
    assert.ok(line.endsWith(`; using ${used}`), `says what is used: ${line}`);
    assert.ok(!line.includes('\n'), 'one line');
  });
}

test('the message names what is really used when a lower-precedence variable takes over', () => {
  const cases = [
    [{ TRACEWELL_SAMPLE_RATE: 'abc', DD_TRACE_SAMPLE_RATE: '0.5' }, 'sampleRate', 0.5, 'TRACEWELL_SAMPLE_RATE="abc"', 'using 0.5 from DD_TRACE_SAMPLE_RATE'],
    [{ DD_TRACE_SAMPLE_RATE: 'abc', OTEL_TRACES_SAMPLER: 'always_off' }, 'sampleRate', 0, 'DD_TRACE_SAMPLE_RATE="abc"', 'using 0 from OTEL_TRACES_SAMPLER'],
    [{ DD_TRACE_AGENT_URL: 'not a url', DD_AGENT_HOST: 'agent' }, 'agentUrl', 'http://agent:8126', 'DD_TRACE_AGENT_URL="not a url"', 'using http://agent:8126 from DD_AGENT_HOST/DD_TRACE_AGENT_PORT'],
    [{ DD_TRACE_PROPAGATION_STYLE: 'bogus', OTEL_PROPAGATORS: 'b3' }, 'propagationInject', ['b3'], 'DD_TRACE_PROPAGATION_STYLE="bogus"', 'using b3 from OTEL_PROPAGATORS'],
    [{ DD_TRACE_ENABLED: 'maybe', OTEL_SDK_DISABLED: 'true' }, 'enabled', false, 'DD_TRACE_ENABLED="maybe"', 'using false from OTEL_SDK_DISABLED'],
  ];
  for (const [env, field, value, named, says] of cases) {
    const { config, lines } = report({ ...env, DD_ENV: 'test' });
    assert.deepEqual(config[field], value, JSON.stringify(env));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.ok(lines[0].includes(named) && lines[0].endsWith(says), lines[0]);
  }
});

test('several bad values: one message each, none repeated', () => {
  // Values no other test uses: the logger's rate limit is per message, for the whole process.
  const env = { DD_ENV: 'test', DD_TRACE_SAMPLE_RATE: 'several', DD_TRACE_PROPAGATION_STYLE: 'several', OTEL_PROPAGATORS: 'several', TRACEWELL_LOG_LEVEL: 'several', TRACEWELL_FLUSH_INTERVAL_MS: '-2' };
  const { lines } = report(env);
  assert.deepEqual(
    lines.map((l) => /\] (\w+)=/.exec(l)?.[1]).sort(),
    ['DD_TRACE_PROPAGATION_STYLE', 'DD_TRACE_SAMPLE_RATE', 'OTEL_PROPAGATORS', 'TRACEWELL_FLUSH_INTERVAL_MS', 'TRACEWELL_LOG_LEVEL'],
    lines.join('\n'),
  );
  // Reporting again (a second init) writes nothing new: the logger's rate limit holds.
  const again = report(env);
  assert.equal(again.lines.length, 0, again.lines.join('\n'));
});

test('a missing env gives one warning naming DD_ENV; none when an env is set or tracing is off', () => {
  const { lines } = report({ DD_SERVICE: 'svc-no-env' });
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0], /^tracewell warn: \[TW_CONFIG_NO_ENV\] .*"svc-no-env".*DD_ENV/);
  assert.deepEqual(report({ DD_SERVICE: 'svc-no-env-2', DD_ENV: 'prod' }).lines, []);
  assert.deepEqual(report({ DD_SERVICE: 'svc-no-env-3', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod' }).lines, []);
  assert.deepEqual(report({ DD_SERVICE: 'svc-no-env-4' }, { env: 'prod' }).lines, []);
  assert.deepEqual(report({ DD_SERVICE: 'svc-no-env-5', DD_TRACE_ENABLED: 'false' }).lines, []);
});

// ---------------------------------------------------------------------------------------------
// Options given in code: the same kinds, bounds and message as the variables

const CODE_BAD = [
  // options, config field, the value it holds, how the message names it, the value shown, what is accepted, what is used
  [{ flushIntervalMs: -1 }, 'flushIntervalMs', 1000, 'init({ flushIntervalMs })', '-1', 'a whole number of milliseconds from 10 to 600000', '1000'],
  [{ maxPendingSpans: 'lots' }, 'maxPendingSpans', 50000, 'init({ maxPendingSpans })', '"lots"', 'a whole number from 1 to 10000000', '50000'],
  [{ profilingMode: 'nope' }, 'profilingMode', 'lines', 'init({ profilingMode })', '"nope"', 'lines, linked or span-lines', 'lines'],
  [{ logInjection: 'yes' }, 'logInjection', true, 'init({ logInjection })', '"yes"', 'true or false', 'true'],
  [{ disabledInstrumentations: 'http' }, 'disabledInstrumentations', [], 'init({ disabledInstrumentations })', '"http"', 'an array of http, fastify, express', 'none'],
  [{ maxPayloadBytes: '65536' }, 'maxPayloadBytes', 8388608, 'init({ maxPayloadBytes })', '"65536"', 'a whole number of bytes from 65536 to 26214399', '8388608'],
  [{ flushIntervalMs: 5 }, 'flushIntervalMs', 1000, 'init({ flushIntervalMs })', '5', 'a whole number of milliseconds from 10 to 600000', '1000'],
  [{ exportRetries: 2.5 }, 'exportRetries', 3, 'init({ exportRetries })', '2.5', 'a whole number from 0 to 100', '3'],
  [{ sampleRate: 1.5 }, 'sampleRate', undefined, 'init({ sampleRate })', '1.5', 'a number from 0 to 1', 'agent-controlled sampling'],
  [{ sampleRate: '0.5' }, 'sampleRate', undefined, 'init({ sampleRate })', '"0.5"', 'a number from 0 to 1', 'agent-controlled sampling'],
  [{ propagationInject: ['b3', 'xray'] }, 'propagationInject', DEFAULT_STYLES, 'init({ propagationInject })', "[ 'b3', 'xray' ]", 'an array of datadog, tracecontext, b3, b3multi, baggage, none', 'datadog,tracecontext,baggage'],
  [{ grpcServerErrorStatuses: [2, 17] }, 'grpcServerErrorStatuses', [2, 4, 12, 13, 14, 15], 'init({ grpcServerErrorStatuses })', '[ 2, 17 ]', 'an array of gRPC status codes 0-16', '2,4,12-15'],
  [{ logLevel: 'loud' }, 'logLevel', 'warn', 'init({ logLevel })', '"loud"', 'debug, info, warn, error, off', 'warn'],
  [{ agentUrl: 'localhost:8126' }, 'agentUrl', 'http://localhost:8126', 'init({ agentUrl })', '"localhost:8126"', 'an http://, https:// or unix:// URL', 'http://localhost:8126'],
  [{ tags: { team: 'core', build: 42 } }, 'tags', {}, 'init({ tags })', "{ team: 'core', build: 42 }", 'an object of string values', 'none'],
  [{ enabled: 0 }, 'enabled', true, 'init({ enabled })', '0', 'true or false', 'true'],
  [{ spanProcessors: [{ onEnd() {} }] }, 'spanProcessors', [], 'init({ spanProcessors })', '[ { onEnd: [Function: onEnd] } ]', 'an array of span processors (objects with onStart, onEnd, forceFlush and shutdown functions)', 'none'],
  [{ profilingSourceMapDirs: 'dist' }, 'profilingSourceMapDirs', undefined, 'init({ profilingSourceMapDirs })', '"dist"', 'an array of folders', 'the folder of the main script'],
];

for (const [options, field, expected, named, shown, accepted, used] of CODE_BAD) {
  test(`init(${JSON.stringify(options)}): one message naming the option, what is accepted, and the default used`, () => {
    const { config, problems, lines } = report({ DD_ENV: 'test' }, options);
    assert.deepEqual(config[field], expected === undefined ? resolve({}).config[field] : expected);
    assert.equal(config.sources[field], 'default');
    assert.equal(problems.length, 1, lines.join('\n'));
    assert.equal(lines.length, 1, lines.join('\n'));
    const [line] = lines;
    assert.ok(line.startsWith(`tracewell warn: [TW_CONFIG_INVALID] ${named}=${shown} is not accepted (expected `), line);
    assert.ok(/\(expected (.*)\); using/.exec(line)[1].includes(accepted), `says what is accepted: ${line}`);
    assert.ok(line.endsWith(`; using ${used}`), `says what is used: ${line}`);
  });
}

test("init({ service: 42 }): the app's package.json name is used, and the message says so", () => {
  const { config, lines } = report({ DD_ENV: 'test' }, { service: 42 });
  assert.equal(config.service, 'tracewell', "this repository's package.json, nearest the test runner's working directory");
  assert.deepEqual(lines, ['tracewell warn: [TW_CONFIG_INVALID] init({ service })=42 is not accepted (expected a service name); using tracewell from package.json']);
});

test('a bad option given in code is skipped like a bad variable: the variables come next, and the message names the one used', () => {
  const cases = [
    [{ maxPendingSpans: 'many' }, { TRACEWELL_MAX_PENDING_SPANS: '2000' }, 'maxPendingSpans', 2000, 'using 2000 from TRACEWELL_MAX_PENDING_SPANS'],
    [{ sampleRate: 2 }, { DD_TRACE_SAMPLE_RATE: '0.25' }, 'sampleRate', 0.25, 'using 0.25 from DD_TRACE_SAMPLE_RATE'],
    [{ sampleRate: -1 }, { OTEL_TRACES_SAMPLER: 'always_off' }, 'sampleRate', 0, 'using 0 from OTEL_TRACES_SAMPLER'],
    [{ profilingMode: 'both' }, { DD_PROFILING_CODEHOTSPOTS_ENABLED: 'true' }, 'profilingMode', 'linked', 'using linked from DD_PROFILING_CODEHOTSPOTS_ENABLED'],
    [{ propagationExtract: 'b3' }, { OTEL_PROPAGATORS: 'b3multi' }, 'propagationExtract', ['b3multi'], 'using b3multi from OTEL_PROPAGATORS'],
    [{ agentUrl: 'agent:8126' }, { DD_AGENT_HOST: 'dd-agent' }, 'agentUrl', 'http://dd-agent:8126', 'using http://dd-agent:8126 from DD_AGENT_HOST/DD_TRACE_AGENT_PORT'],
  ];
  for (const [options, env, field, value, says] of cases) {
    const { config, lines } = report({ ...env, DD_ENV: 'test' }, options);
    assert.deepEqual(config[field], value, JSON.stringify(options));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.ok(lines[0].includes(`init({ ${field} })=`) && lines[0].endsWith(says), lines[0]);
  }
});

test('an unknown key gets one message, with the option it was probably meant to be; the rest applies', () => {
  const { config, problems, lines } = report({ DD_ENV: 'test' }, { sampelRate: 0.5, flushIntervalMs: 250, bogusThing: true });
  assert.equal(config.sampleRate, undefined);
  assert.equal(config.flushIntervalMs, 250);
  assert.equal(problems.length, 2);
  assert.deepEqual(lines, [
    'tracewell warn: [TW_CONFIG_INVALID] init({ sampelRate })=0.5 is not accepted (expected an option name; did you mean sampleRate?); ignored',
    'tracewell warn: [TW_CONFIG_INVALID] init({ bogusThing })=true is not accepted (expected an option name); ignored',
  ]);
  assert.equal(resolve({}, { MaxPendingSpans: 10 }).problems[0].accepted, 'an option name; did you mean maxPendingSpans?', 'case slips too');
});

test('options that are not an object: one message, no options used', () => {
  for (const bad of ['checkout', null, [{ service: 'x' }]]) {
    const { config, problems } = resolve({ DD_SERVICE: 'from-env' }, bad);
    assert.equal(config.service, 'from-env');
    assert.equal(problems.length, 1, JSON.stringify(bad));
    assert.equal(problems[0].variable, 'init(options)');
    assert.equal(problems[0].accepted, 'an options object');
  }
});

test('undefined and blank strings in code count as not given, as unset and blank variables do (no message)', () => {
  const { config, problems } = resolve({ DD_SERVICE: 'from-env', TRACEWELL_FLUSH_INTERVAL_MS: '300' }, { service: '  ', flushIntervalMs: undefined, dlqDir: '' });
  assert.deepEqual(problems, []);
  assert.equal(config.service, 'from-env');
  assert.equal(config.flushIntervalMs, 300);
  assert.equal(config.sources.dlqDir, 'default');
});

/** A good value given in code for every option: a field added to the table needs one here. */
const processor = { onStart() {}, onEnd() {}, forceFlush: async () => {}, shutdown: async () => {} };
const GOOD = {
  service: 'svc-code', env: 'prod', version: '2.0.0', tags: { team: 'core' }, enabled: false, agentUrl: 'http://agent:9126', sampleRate: 0.25, rateLimit: 7,
  propagationExtract: ['b3'], propagationInject: ['tracecontext', 'datadog'], logInjection: false, logLevel: 'error', flushIntervalMs: 250, maxPendingSpans: 1000,
  maxPayloadBytes: 1048576, traceProtocol: '0.4', disabledInstrumentations: ['grpc'], httpUrlQuery: true, redisRawCommands: true, spanProcessors: [processor], grpcServerErrorStatuses: [13],
  grpcClientErrorStatuses: [14], graphqlResolverSpans: true, graphqlResolverDepth: 5, exporter: 'otlp', otlpEndpoint: 'http://collector:4318/v1/traces', otlpHeaders: { 'api-key': 'k' }, otlpTimeoutMs: 500,
  exportTimeoutMs: 400, exportRetries: 0, exportRetryDeadlineMs: 1000, exportBackoffMs: 10, breakerFailures: 9, breakerProbeMs: 20, breakerProbeMaxMs: 200,
  dlqEnabled: false, dlqDir: '/tmp/tw-code-dlq', dlqMaxBytes: 8192, dlqReplayBytesPerSec: 2048, shutdownTimeoutMs: 100, outageSummaryIntervalMs: 1000,
  healthMetrics: true, dogstatsdUrl: 'udp://statsd:8125', profiling: true, profilingMode: 'span-lines', profilingUploadPeriodS: 15, profilingIntervalMs: 20,
  profilingHeap: false, profilingV8BugWorkaround: true, profilingUpload: false, profilingDir: '/tmp/tw-code-prof', profilingMaxBytes: 1048576,
  profilingSourceMapDirs: ['/tmp/maps'], probes: 'src/a.js:1 x', probesFile: '/tmp/probes.txt', redact: ['member_no'], redactExclude: ['session'], probeBudgetMs: 5,
  samplingRules: [{ resource: 'GET /users/:id', sampleRate: 1 }], spanSamplingRules: [{ name: 'http.request', sampleRate: 1, maxPerSecond: 5 }],
  httpIgnorePaths: ['/healthz'], httpClientIgnoreUrls: ['http://meta/*'], headerTags: { 'x-tenant-id': 'tenant' }, runtimeMetrics: true,
  sqlRawStatements: true, dbmPropagationMode: 'full',
};

/** A good value of every variable, each different from GOOD's: the options must win over all of them. */
const ENV_ALL = {
  TRACEWELL_SERVICE: 'svc-env', DD_ENV: 'staging', DD_VERSION: '1.0.0', TRACEWELL_ENABLED: 'true', DD_TRACE_AGENT_URL: 'http://other:8126', DD_TRACE_SAMPLE_RATE: '0.5',
  DD_TRACE_RATE_LIMIT: '50', DD_TRACE_PROPAGATION_STYLE: 'datadog', DD_LOGS_INJECTION: 'true', TRACEWELL_LOG_LEVEL: 'debug', TRACEWELL_FLUSH_INTERVAL_MS: '5000',
  TRACEWELL_MAX_PENDING_SPANS: '9', TRACEWELL_MAX_PAYLOAD_BYTES: '65536', TRACEWELL_TRACE_PROTOCOL: '0.5', TRACEWELL_DISABLED_INSTRUMENTATIONS: 'http',
  TRACEWELL_HTTP_URL_QUERY: 'false', DD_GRPC_SERVER_ERROR_STATUSES: '2', DD_GRPC_CLIENT_ERROR_STATUSES: '2', TRACEWELL_GRAPHQL_RESOLVER_SPANS: 'false', TRACEWELL_GRAPHQL_RESOLVER_DEPTH: '3', DD_TRACE_KOA_ENABLED: 'false', TRACEWELL_EXPORTER: 'datadog',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://env-collector:4318/v1/traces', OTEL_EXPORTER_OTLP_TIMEOUT: '900', TRACEWELL_EXPORT_TIMEOUT_MS: '900',
  TRACEWELL_EXPORT_RETRIES: '9', TRACEWELL_EXPORT_RETRY_DEADLINE_MS: '9000', TRACEWELL_EXPORT_BACKOFF_MS: '900', TRACEWELL_BREAKER_FAILURES: '2',
  TRACEWELL_BREAKER_PROBE_MS: '900', TRACEWELL_BREAKER_PROBE_MAX_MS: '9000', TRACEWELL_DLQ_ENABLED: 'true', TRACEWELL_DLQ_DIR: '/tmp/env-dlq',
  TRACEWELL_DLQ_MAX_BYTES: '9999', TRACEWELL_DLQ_REPLAY_BYTES_PER_SEC: '9999', TRACEWELL_SHUTDOWN_TIMEOUT_MS: '900', TRACEWELL_OUTAGE_SUMMARY_INTERVAL_MS: '900',
  TRACEWELL_HEALTH_METRICS: 'false', TRACEWELL_DOGSTATSD_URL: 'udp://env-statsd:8125', TRACEWELL_PROFILING_ENABLED: 'false', TRACEWELL_PROFILING_MODE: 'lines',
  TRACEWELL_PROFILING_UPLOAD_PERIOD: '30', TRACEWELL_PROFILING_INTERVAL_MS: '9', TRACEWELL_PROFILING_HEAP: 'true', TRACEWELL_PROFILING_V8_BUG_WORKAROUND: 'false',
  TRACEWELL_PROFILING_UPLOAD: 'true', TRACEWELL_PROFILING_DIR: '/tmp/env-prof', TRACEWELL_PROFILING_MAX_BYTES: '70000', TRACEWELL_PROFILING_SOURCE_MAP_DIRS: '/tmp/env-maps',
  TRACEWELL_PROBES: 'src/b.js:2 y', TRACEWELL_PROBES_FILE: '/tmp/env-probes.txt', TRACEWELL_PROBE_BUDGET_MS: '9',
  DD_TRACE_SAMPLING_RULES: '[{"sample_rate":0.5}]', DD_SPAN_SAMPLING_RULES: '[{"service":"x"}]', TRACEWELL_HTTP_IGNORE_PATHS: '/readyz',
  TRACEWELL_HTTP_CLIENT_IGNORE_URLS: '*/x', DD_TRACE_HEADER_TAGS: 'x-a:b', DD_RUNTIME_METRICS_ENABLED: 'false',
  TRACEWELL_SQL_RAW_STATEMENTS: 'false', DD_DBM_PROPAGATION_MODE: 'service', DD_TRACE_PG_ENABLED: 'false',
};

test('every option given in code with a good value is taken as given and wins over every variable; no message', () => {
  assert.deepEqual(Object.keys(GOOD).sort(), [...FIELDS].sort(), 'GOOD names every field of the table');
  const { config, problems } = resolve(ENV_ALL, GOOD);
  assert.deepEqual(problems, []);
  // The merged ones (tags, redaction lists) add the variables' entries, the rest are the option's alone.
  const merged = ['tags', 'redact', 'redactExclude'];
  for (const field of FIELDS) {
    if (merged.includes(field)) continue;
    assert.deepEqual(config[field], GOOD[field], field);
    assert.equal(config.sources[field], 'option', field);
  }
  assert.deepEqual(config.tags, { team: 'core' });
  assert.equal(config.spanProcessors[0], processor, 'processors are kept as given, not copied');
});

test('every option given in code is checked: a value no kind accepts is reported once, naming the option, and the default used', () => {
  const defaults = resolve({}).config;
  for (const field of FIELDS) {
    const { config, problems } = resolve({}, { [field]: Symbol('not a value') });
    assert.equal(problems.length, 1, field);
    assert.equal(problems[0].variable, `init({ ${field} })`, field);
    assert.equal(problems[0].value, 'Symbol(not a value)', field);
    assert.deepEqual(config[field], defaults[field], field);
  }
});

// ---------------------------------------------------------------------------------------------
// A real process

test('a real process started with bad values: one stderr line per bad variable, no stack, exit 0', () => {
  const bad = {
    DD_TRACE_SAMPLE_RATE: 'abc',
    DD_TRACE_AGENT_PORT: '99999',
    DD_TRACE_PROPAGATION_STYLE: 'bogus',
    TRACEWELL_LOG_LEVEL: 'loud',
    DD_TRACE_ENABLED: 'maybe',
    TRACEWELL_FLUSH_INTERVAL_MS: '-1',
  };
  const run = spawnSync(process.execPath, ['--require', join(root, 'dist', 'cjs', 'register.js'), '-e', 'setTimeout(() => {}, 10)'], {
    cwd: root,
    env: { PATH: process.env.PATH, DD_ENV: 'test', ...bad },
    encoding: 'utf8',
    timeout: 15_000,
  });
  assert.equal(run.error, undefined);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  assert.deepEqual(lines.map((l) => /^tracewell warn: \[TW_CONFIG_INVALID\] (\w+)="/.exec(l)?.[1]).sort(), Object.keys(bad).sort(), run.stderr);
  for (const [k, v] of Object.entries(bad)) assert.ok(lines.some((l) => l.includes(`${k}=${JSON.stringify(v)}`) && / using \S/.test(l)), k);
  assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');
});

test('a real process with a bad URL and no env: the URL line and the DD_ENV line, nothing else', () => {
  const run = spawnSync(process.execPath, ['--require', join(root, 'dist', 'cjs', 'register.js'), '-e', 'console.log("app ran")'], {
    cwd: root,
    env: { PATH: process.env.PATH, DD_TRACE_AGENT_URL: 'not a url', DD_SERVICE: 'svc' },
    encoding: 'utf8',
    timeout: 15_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, 'app ran\n');
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 2, run.stderr);
  assert.match(lines[0], /\[TW_CONFIG_INVALID\] DD_TRACE_AGENT_URL="not a url" .*; using http:\/\/localhost:8126$/);
  assert.match(lines[1], /\[TW_CONFIG_NO_ENV\] .*"svc".*DD_ENV/);
});

test("service and version default to the app's package.json", async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { devAgentModule } = await import('../helpers/apps.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'tw-app-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'billing-api', version: '3.2.1' }));
  writeFileSync(join(dir, 'app.js'), "require('http').get('http://127.0.0.1:1/', () => {}).on('error', () => {});\n");
  const agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
  try {
    // Asynchronously: the agent answers from this process.
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--require', join(root, 'dist', 'cjs', 'register.js'), join(dir, 'app.js')], {
      cwd: dir,
      // The exit flush's deadline long enough for a loaded machine (the default is 2 s).
      env: { PATH: process.env.PATH, DD_TRACE_AGENT_URL: agent.url, DD_ENV: 'test', TRACEWELL_SHUTDOWN_TIMEOUT_MS: '30000' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    assert.equal(await new Promise((r) => child.on('exit', r)), 0, stderr);
    await agent.waitForSpans(1, 5000);
    const [span] = agent.allSpans();
    assert.equal(span.service, 'billing-api');
    assert.equal(span.meta.version, '3.2.1');
    assert.equal(span.meta['error.type'], 'Error');
  } finally {
    await agent.close();
  }
});

test('a real process calling init() with bad options: one stderr line per bad option, the defaults used, exit 0', () => {
  const script = `
    const { init } = require(${JSON.stringify(join(root, 'dist', 'cjs', 'index.js'))});
    const h = init({ env: 'test', flushIntervalMs: -1, maxPendingSpans: 'lots', service: 42, profilingMode: 'nope', logInjection: 'yes', disabledInstrumentations: 'http', sampelRate: 0.5 });
    const c = h.config;
    console.log(JSON.stringify([c.flushIntervalMs, c.maxPendingSpans, c.service, c.profilingMode, c.logInjection, c.disabledInstrumentations, c.sampleRate ?? null]));
    h.shutdown();
  `;
  const run = spawnSync(process.execPath, ['-e', script], { cwd: root, env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 15_000 });
  assert.equal(run.error, undefined);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, `[1000,50000,"tracewell","lines",true,[],null]\n`);
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  assert.deepEqual(lines.map((l) => /^tracewell warn: \[TW_CONFIG_INVALID\] init\(\{ (\w+) \}\)=/.exec(l)?.[1]), ['flushIntervalMs', 'maxPendingSpans', 'service', 'profilingMode', 'logInjection', 'disabledInstrumentations', 'sampelRate'], run.stderr);
  assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');
});

test('the dead-letter root defaults to the XDG state folder when the home is ours and writable, else to the temp folder', async () => {
  const { mkdtempSync, mkdirSync, chmodSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const uid = process.getuid();
  const tmpDefault = join(tmpdir(), `tracewell-${uid}`, 'dlq');
  const home = mkdtempSync(join(tmpdir(), 'tw-home-'));
  try {
    assert.equal(resolve({ HOME: home }).config.dlqDir, join(home, '.local', 'state', 'tracewell', 'dlq'));
    assert.equal(resolve({ HOME: home, XDG_STATE_HOME: join(home, 'state') }).config.dlqDir, join(home, 'state', 'tracewell', 'dlq'));
    assert.equal(resolve({ HOME: home }).config.sources.dlqDir, 'default');
    // A ~/.local that others can write: not a private place, the temp folder is used (and checked).
    mkdirSync(join(home, '.local'));
    chmodSync(join(home, '.local'), 0o777);
    assert.equal(resolve({ HOME: home }).config.dlqDir, tmpDefault);
    chmodSync(join(home, '.local'), 0o700);
    assert.equal(resolve({ HOME: home }).config.dlqDir, join(home, '.local', 'state', 'tracewell', 'dlq'));
    // No usable home (a container's read-only or foreign one): the temp folder.
    assert.equal(resolve({ HOME: join(home, 'missing') }).config.dlqDir, tmpDefault);
    assert.equal(resolve({ HOME: 'relative/home' }).config.dlqDir, tmpDefault);
    // Named: as given.
    assert.equal(resolve({ HOME: home, TRACEWELL_DLQ_DIR: '/var/lib/app/dlq' }).config.dlqDir, '/var/lib/app/dlq');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('DD_TRACE_<NAME>_ENABLED=false adds that integration to the disabled list; the option in code wins', () => {
  const { config } = resolveConfig({}, { TRACEWELL_DISABLED_INSTRUMENTATIONS: 'grpc', DD_TRACE_IOREDIS_ENABLED: 'false', DD_TRACE_AMQPLIB_ENABLED: 'false', DD_TRACE_REDIS_ENABLED: 'true' });
  assert.deepEqual([...config.disabledInstrumentations].sort(), ['amqplib', 'grpc', 'ioredis']);
  assert.match(config.sources.disabledInstrumentations, /DD_TRACE_IOREDIS_ENABLED/);
  const inCode = resolveConfig({ disabledInstrumentations: ['redis'] }, { DD_TRACE_IOREDIS_ENABLED: 'false' }).config;
  assert.deepEqual(inCode.disabledInstrumentations, ['redis']);
  const bad = resolveConfig({}, { DD_TRACE_REDIS_ENABLED: 'nope' });
  assert.deepEqual(bad.config.disabledInstrumentations, []);
  assert.ok(bad.problems.some((p) => JSON.stringify(p).includes('DD_TRACE_REDIS_ENABLED')), 'a bad value is reported');
});

// Configuration: precedence, the names users already set, and bad values reported once with
// the variable, the value, what is accepted and the default used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { root } from '../helpers/apps.mjs';

const require = createRequire(import.meta.url);
const { resolveConfig, reportConfig } = require('../../dist/cjs/config/resolve.js');
const { logger } = require('../../dist/cjs/internal/logger.js');

const resolve = (env, options = {}) => resolveConfig(options, env);

test('precedence: option > TRACEWELL_* > DD_* > OTEL_*', () => {
  const env = { OTEL_SERVICE_NAME: 'otel', DD_SERVICE: 'dd', TRACEWELL_SERVICE: 'tw' };
  assert.equal(resolve(env).config.service, 'tw');
  assert.equal(resolve(env, { service: 'opt' }).config.service, 'opt');
  assert.equal(resolve({ OTEL_SERVICE_NAME: 'otel', DD_SERVICE: 'dd' }).config.service, 'dd');
  assert.equal(resolve({ OTEL_SERVICE_NAME: 'otel' }).config.service, 'otel');
  assert.equal(resolve({ DD_SERVICE: 'dd' }).config.sources.service, 'DD_SERVICE');
});

test('OTEL_RESOURCE_ATTRIBUTES gives service, env, version and tags', () => {
  const { config } = resolve({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=checkout,deployment.environment.name=prod,service.version=3.1.0,team=pay%20ments' });
  assert.equal(config.service, 'checkout');
  assert.equal(config.env, 'prod');
  assert.equal(config.version, '3.1.0');
  assert.deepEqual(config.tags, { team: 'pay ments' });
});

test('DD_TAGS in both its forms; service/env/version never become tags', () => {
  assert.deepEqual(resolve({ DD_TAGS: 'team:core,region:eu-west-1' }).config.tags, { team: 'core', region: 'eu-west-1' });
  assert.deepEqual(resolve({ DD_TAGS: 'team:core region:eu' }).config.tags, { team: 'core', region: 'eu' });
  assert.deepEqual(resolve({ DD_TAGS: 'env:prod,a:b' }).config.tags, { a: 'b' });
});

test('agent URL from DD_TRACE_AGENT_URL, or DD_AGENT_HOST + DD_TRACE_AGENT_PORT', () => {
  assert.equal(resolve({}).config.agentUrl, 'http://localhost:8126');
  assert.equal(resolve({ DD_AGENT_HOST: 'agent.local', DD_TRACE_AGENT_PORT: '9126' }).config.agentUrl, 'http://agent.local:9126');
  assert.equal(resolve({ DD_AGENT_HOST: '::1' }).config.agentUrl, 'http://[::1]:8126');
  assert.equal(resolve({ DD_TRACE_AGENT_URL: 'http://10.0.0.5:8126/', DD_AGENT_HOST: 'ignored' }).config.agentUrl, 'http://10.0.0.5:8126');
  assert.equal(resolve({ DD_TRACE_AGENT_URL: 'unix:///var/run/datadog/apm.socket' }).config.agentUrl, 'unix:///var/run/datadog/apm.socket');
});

test('sampling from DD_TRACE_SAMPLE_RATE or OTEL_TRACES_SAMPLER(_ARG)', () => {
  assert.equal(resolve({}).config.sampleRate, undefined);
  assert.equal(resolve({ DD_TRACE_SAMPLE_RATE: '0.25' }).config.sampleRate, 0.25);
  assert.equal(resolve({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }).config.sampleRate, 0.1);
  assert.equal(resolve({ OTEL_TRACES_SAMPLER: 'always_off' }).config.sampleRate, 0);
  assert.equal(resolve({ OTEL_TRACES_SAMPLER: 'always_on', DD_TRACE_SAMPLE_RATE: '0.5' }).config.sampleRate, 0.5);
  assert.equal(resolve({ DD_TRACE_RATE_LIMIT: '20' }).config.rateLimit, 20);
});

test('propagation styles: DD_TRACE_PROPAGATION_STYLE(_INJECT/_EXTRACT) and OTEL_PROPAGATORS', () => {
  assert.deepEqual(resolve({}).config.propagationInject, ['datadog', 'tracecontext', 'baggage']);
  const both = resolve({ DD_TRACE_PROPAGATION_STYLE: 'tracecontext,b3 single header' }).config;
  assert.deepEqual(both.propagationInject, ['tracecontext', 'b3']);
  assert.deepEqual(both.propagationExtract, ['tracecontext', 'b3']);
  const split = resolve({ DD_TRACE_PROPAGATION_STYLE_INJECT: 'b3multi', DD_TRACE_PROPAGATION_STYLE: 'datadog' }).config;
  assert.deepEqual(split.propagationInject, ['b3multi']);
  assert.deepEqual(split.propagationExtract, ['datadog']);
  assert.deepEqual(resolve({ OTEL_PROPAGATORS: 'tracecontext,baggage' }).config.propagationExtract, ['tracecontext', 'baggage']);
  assert.deepEqual(resolve({ OTEL_PROPAGATORS: 'none' }).config.propagationInject, []);
});

test('enabled: DD_TRACE_ENABLED, OTEL_SDK_DISABLED', () => {
  assert.equal(resolve({ DD_TRACE_ENABLED: 'false' }).config.enabled, false);
  assert.equal(resolve({ OTEL_SDK_DISABLED: 'true' }).config.enabled, false);
  assert.equal(resolve({ OTEL_SDK_DISABLED: 'true', DD_TRACE_ENABLED: 'true' }).config.enabled, true);
});

test('gRPC error statuses: lists and ranges, per side', () => {
  const { config } = resolve({ DD_GRPC_SERVER_ERROR_STATUSES: '2, 12-14', TRACEWELL_GRPC_CLIENT_ERROR_STATUSES: '4' });
  assert.deepEqual(config.grpcServerErrorStatuses, [2, 12, 13, 14]);
  assert.deepEqual(config.grpcClientErrorStatuses, [4]);
});

test('the resolved config is frozen', () => {
  const { config } = resolve({ DD_TAGS: 'a:b' });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.tags) && Object.isFrozen(config.propagationInject));
});

const BAD = [
  ['DD_TRACE_SAMPLE_RATE', 'abc', 'sampleRate', undefined],
  ['DD_TRACE_SAMPLE_RATE', '1.5', 'sampleRate', undefined],
  ['DD_TRACE_AGENT_PORT', '99999', 'agentUrl', 'http://localhost:8126'],
  ['DD_TRACE_AGENT_URL', 'not a url', 'agentUrl', 'http://localhost:8126'],
  ['DD_TRACE_PROPAGATION_STYLE', 'bogus', 'propagationInject', ['datadog', 'tracecontext', 'baggage']],
  ['TRACEWELL_LOG_LEVEL', 'loud', 'logLevel', 'warn'],
  ['DD_TRACE_ENABLED', 'maybe', 'enabled', true],
  ['TRACEWELL_FLUSH_INTERVAL_MS', '-1', 'flushIntervalMs', 1000],
  ['OTEL_TRACES_SAMPLER', 'sometimes', 'sampleRate', undefined],
  ['TRACEWELL_DISABLED_INSTRUMENTATIONS', 'http,kafka', 'disabledInstrumentations', []],
  ['DD_GRPC_SERVER_ERROR_STATUSES', '2,x', 'grpcServerErrorStatuses', [2, 4, 12, 13, 14, 15]],
  ['DD_GRPC_CLIENT_ERROR_STATUSES', '3-17', 'grpcClientErrorStatuses', Array.from({ length: 16 }, (_, i) => i + 1)],
];

for (const [variable, value, field, expected] of BAD) {
  test(`${variable}=${JSON.stringify(value)}: one message naming it, and the default`, () => {
    const { config, problems } = resolve({ [variable]: value, DD_ENV: 'test' });
    assert.deepEqual(config[field], expected);
    const lines = [];
    logger.setSink((l) => lines.push(l));
    logger.setLevel('warn');
    try {
      reportConfig(config, problems);
    } finally {
      logger.setSink(null);
    }
    assert.equal(lines.length, 1, lines.join('\n'));
    const [line] = lines;
    assert.match(line, /TW_CONFIG_INVALID/);
    assert.ok(line.includes(`${variable}=${JSON.stringify(value)}`), line);
    assert.match(line, /expected .+; using .+/);
  });
}

test('a missing env gives one warning naming DD_ENV', () => {
  const { config, problems } = resolve({ DD_SERVICE: 'svc' });
  const lines = [];
  logger.setSink((l) => lines.push(l));
  try {
    reportConfig(config, problems);
  } finally {
    logger.setSink(null);
  }
  assert.equal(lines.length, 1);
  assert.match(lines[0], /TW_CONFIG_NO_ENV.*"svc".*DD_ENV/);
});

test('a real process with bad values: one line per variable on stderr, no stack trace, the app runs', () => {
  const run = spawnSync(process.execPath, ['--require', 'tracewell/register', '-e', 'console.log("app ran")'], {
    cwd: root,
    env: { PATH: process.env.PATH, DD_ENV: 'test', DD_TRACE_SAMPLE_RATE: 'half', DD_TRACE_AGENT_PORT: 'eighty', TRACEWELL_FLUSH_INTERVAL_MS: 'soon', DD_TRACE_AGENT_URL: 'http://127.0.0.1:9' },
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(run.status, 0);
  assert.equal(run.stdout.trim(), 'app ran');
  const lines = run.stderr.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => /(\w+)="/.exec(l)?.[1]),
    ['DD_TRACE_SAMPLE_RATE', 'TRACEWELL_FLUSH_INTERVAL_MS'],
    run.stderr,
  );
  assert.ok(!/\n\s+at /.test(run.stderr));
});

test("service and version default to the app's package.json", async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
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
      env: { PATH: process.env.PATH, DD_TRACE_AGENT_URL: agent.url, DD_ENV: 'test' },
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

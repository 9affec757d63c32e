// `tracewell doctor`: the real bin against the real dev agent (and no agent), on a dead-letter
// folder a real traced process left behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { agentPool } from '../helpers/apps.mjs';
import { cleanup, deadPort, startEmitter, tempDir } from '../exporter/helpers.mjs';
import { root, until } from '../helpers/common.mjs';

const pool = agentPool();
after(() => Promise.all([pool.closeAll(), Promise.resolve(cleanup())]));
const bin = join(root, 'bin', 'tracewell.js');

function doctor(env, args = []) {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'doctor', ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const line = (out, key) => out.split('\n').find((l) => new RegExp(`^  ${key} `).test(l));

test('doctor: configuration with the source of each value, the agent and its /info, a clear verdict', async () => {
  const agent = await pool.newAgent();
  const dir = tempDir();
  const { code, stdout } = await doctor({ DD_TRACE_AGENT_URL: agent.url, DD_SERVICE: 'doc-svc', DD_ENV: 'prod', TRACEWELL_DLQ_DIR: dir, TRACEWELL_EXPORT_RETRIES: '5', TRACEWELL_FLUSH_INTERVAL_MS: 'soon' });
  assert.equal(code, 0, stdout);
  assert.match(line(stdout, 'service'), /doc-svc\s+\(DD_SERVICE\)$/);
  assert.match(line(stdout, 'env'), /prod\s+\(DD_ENV\)$/);
  assert.match(line(stdout, 'agentUrl'), new RegExp(`${agent.url}\\s+\\(DD_TRACE_AGENT_URL\\)$`));
  assert.match(line(stdout, 'exportRetries'), /5\s+\(TRACEWELL_EXPORT_RETRIES\)$/);
  assert.match(line(stdout, 'flushIntervalMs'), /1000\s+\(default\)$/);
  assert.match(line(stdout, 'dlqDir'), new RegExp(`${dir}\\s+\\(TRACEWELL_DLQ_DIR\\)$`));
  // /info as the agent said it.
  assert.match(stdout, /GET \/info: 200 in \d+ ms/);
  assert.match(stdout, /version: tracewell-dev-agent\//);
  assert.match(stdout, /endpoints: \/v0\.4\/traces \/v0\.5\/traces \/info/);
  assert.match(stdout, /max_request_bytes: 26214400 \(25\.0 MiB\)/);
  assert.match(stdout, new RegExp(`^ok    agent reachable at ${agent.url} \\(version tracewell-dev-agent/`, 'm'));
  assert.match(stdout, /^ok    the agent takes \/v0\.5\/traces \(string-table encoding, about a third of the bytes of \/v0\.4\)$/m);
  assert.match(stdout, /^warn  TRACEWELL_FLUSH_INTERVAL_MS="soon" is not accepted \(expected a whole number of milliseconds from 10 to 600000\); using 1000$/m);
  assert.match(stdout, /^ok    dead-letter folder .*doc-svc can be created, empty$/m);
  assert.match(stdout, /^verdict: ready, with 1 warning$/m);
  assert.ok(agent.requests.some((r) => r.path === '/info'));
});

test('doctor: no agent, dead-lettered spans of an exited process, an unwritable folder: FAIL and warn lines, exit code 1', async () => {
  const dir = tempDir();
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const app = await startEmitter({ env: { DD_SERVICE: 'doc-left', DD_TRACE_AGENT_URL: dead, TRACEWELL_DLQ_DIR: dir, TRACEWELL_FLUSH_INTERVAL_MS: '600000' } });
  await app.call('traces', { n: 4, prefix: 'left' });
  await app.call('flush');
  await until(async () => (await app.stats()).deadLetter.spansWritten === 8, 'spans dead-lettered');
  await app.kill('SIGKILL');

  const env = { DD_TRACE_AGENT_URL: dead, DD_SERVICE: 'doc-left', DD_ENV: 'prod', TRACEWELL_DLQ_DIR: dir };
  const { code, stdout } = await doctor(env);
  assert.equal(code, 1, stdout);
  assert.match(stdout, /GET \/info: no answer \(.*ECONNREFUSED/);
  assert.match(stdout, new RegExp(`^FAIL  cannot reach ${dead}: .*ECONNREFUSED.*; spans would go to the dead-letter file until it answers$`, 'm'));
  assert.match(stdout, /8 spans waiting from exited processes, 0 held by running ones, 0 rejected files/);
  assert.match(stdout, /^warn  8 dead-lettered spans of exited processes: the next process of "doc-left" replays them once the agent answers, or run `tracewell dlq replay`$/m);
  assert.match(stdout, /^verdict: 1 check failed$/m);

  // A folder that cannot be written (as nobody when the tests run as root).
  const ro = join(dir, 'ro');
  chmodSync(dir, 0o755);
  mkdirSync(ro);
  chmodSync(ro, 0o555);
  const asRoot = process.getuid?.() === 0;
  const agent = await pool.newAgent();
  const r = await new Promise((resolve) => {
    execFile(process.execPath, [bin, 'doctor'], { env: { PATH: process.env.PATH, DD_TRACE_AGENT_URL: agent.url, DD_SERVICE: 'doc-ro', DD_ENV: 'prod', TRACEWELL_DLQ_DIR: ro }, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) }, (err, stdout) =>
      resolve({ code: err ? err.code : 0, stdout }),
    );
  });
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, new RegExp(`^FAIL  the dead-letter folder cannot be written \\(${ro}\\): during an outage spans would be dropped$`, 'm'));
});

test('doctor with the OTLP exporter checks the OTLP endpoint', async () => {
  const agent = await pool.newAgent({ otlpPort: 0 });
  const { code, stdout } = await doctor({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl, OTEL_EXPORTER_OTLP_HEADERS: 'api-key=secret', DD_ENV: 'prod', TRACEWELL_DLQ_DIR: tempDir() });
  assert.equal(code, 0, stdout);
  assert.match(line(stdout, 'otlpEndpoint'), new RegExp(`${agent.otlpUrl}/v1/traces\\s+\\(OTEL_EXPORTER_OTLP_ENDPOINT\\)$`));
  assert.match(line(stdout, 'otlpHeaders'), /api-key=\*\*\*\s+\(OTEL_EXPORTER_OTLP_HEADERS\)$/, 'header values are not printed');
  assert.ok(!stdout.includes('secret'));
  assert.match(stdout, new RegExp(`^ok    OTLP endpoint ${agent.otlpUrl}/v1/traces takes traces$`, 'm'));
  const req = agent.requests.find((x) => x.path === '/v1/traces');
  assert.equal(req.headers['api-key'], 'secret');
});

const dnsAnswer = await new Promise((r) => import('node:dns').then((dns) => dns.lookup('no-such-agent.invalid', (e) => r(e?.code))));
test('doctor: an agent host that does not resolve is named as a configuration error', { skip: dnsAnswer !== 'ENOTFOUND' && `this machine's resolver answers ${dnsAnswer}, not ENOTFOUND, for a .invalid name` }, async () => {
  const { code, stdout } = await doctor({ DD_AGENT_HOST: 'no-such-agent.invalid', DD_ENV: 'prod', TRACEWELL_DLQ_DIR: tempDir() });
  assert.equal(code, 1, stdout);
  assert.match(line(stdout, 'agentUrl'), /http:\/\/no-such-agent\.invalid:8126\s+\(DD_AGENT_HOST\/DD_TRACE_AGENT_PORT\)$/);
  assert.match(stdout, /^FAIL  the host of http:\/\/no-such-agent\.invalid:8126 does not resolve \(.*ENOTFOUND.*\): check DD_AGENT_HOST \/ DD_TRACE_AGENT_URL$/m);
});

test("doctor: the default source-map folder is described as the app's main script's folder, not the CLI's own", async () => {
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const { stdout } = await doctor({ DD_TRACE_AGENT_URL: dead, DD_ENV: 'prod', TRACEWELL_DLQ_DIR: tempDir() });
  const dirs = line(stdout, 'profilingSourceMapDirs');
  assert.ok(!dirs.includes(join(root, 'bin')), `the bin's folder is not the app's: ${dirs}`);
  assert.match(dirs, /the folder of the app's main script\s+\(default; TRACEWELL_PROFILING_SOURCE_MAP_DIRS sets it\)$/);
  // Set, it is shown as it is, with its variable.
  const set = await doctor({ DD_TRACE_AGENT_URL: dead, DD_ENV: 'prod', TRACEWELL_DLQ_DIR: tempDir(), TRACEWELL_PROFILING_SOURCE_MAP_DIRS: '/srv/app/dist,/srv/lib' });
  assert.match(line(set.stdout, 'profilingSourceMapDirs'), /\/srv\/app\/dist,\/srv\/lib\s+\(TRACEWELL_PROFILING_SOURCE_MAP_DIRS\)$/);
});

// The exporter: which one, and why. Setting only an OTLP endpoint keeps the Datadog exporter
// under the first rule and picks OTLP under the rule that replaces it (an OTLP endpoint set and
// no agent); both an agent and an OTLP endpoint keep Datadog under both rules.
test('doctor: which exporter and why; an agent and an OTLP endpoint both set without a choice is a warning naming the winner and the variable', async () => {
  const agent = await pool.newAgent({ otlpPort: 0 });
  const base = { DD_ENV: 'prod', TRACEWELL_DLQ_DIR: tempDir() };
  const both = await doctor({ ...base, DD_TRACE_AGENT_URL: agent.url, OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl });
  assert.equal(both.code, 0, both.stdout);
  assert.match(both.stdout, new RegExp(`^exporter: datadog, to the agent at ${agent.url}, because DD_TRACE_AGENT_URL is set and no exporter is chosen$`, 'm'));
  assert.match(both.stdout, new RegExp(`^warn  an agent \\(DD_TRACE_AGENT_URL\\) and an OTLP endpoint \\(OTEL_EXPORTER_OTLP_ENDPOINT\\) are both set and no exporter is chosen: traces go to the agent at ${agent.url}; set TRACEWELL_EXPORTER=otlp to send them to ${agent.otlpUrl}/v1/traces instead, or TRACEWELL_EXPORTER=datadog to keep the agent$`, 'm'));
  assert.match(both.stdout, /GET \/info: 200/, 'the agent is the one checked');

  // Chosen: no warning, the variable is the reason.
  const chosen = await doctor({ ...base, DD_TRACE_AGENT_URL: agent.url, OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl, TRACEWELL_EXPORTER: 'otlp' });
  assert.equal(chosen.code, 0, chosen.stdout);
  assert.match(chosen.stdout, new RegExp(`^exporter: otlp, to ${agent.otlpUrl}/v1/traces, because TRACEWELL_EXPORTER=otlp$`, 'm'));
  assert.doesNotMatch(chosen.stdout, /both set/);
  assert.match(chosen.stdout, /^verdict: ready$/m);
  const otel = await doctor({ ...base, DD_TRACE_AGENT_URL: agent.url, OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl, OTEL_TRACES_EXPORTER: 'datadog' });
  assert.match(otel.stdout, /^exporter: datadog, to the agent at .*, because OTEL_TRACES_EXPORTER=datadog$/m);
  assert.doesNotMatch(otel.stdout, /both set/);

  // Nothing set: the default, said as such.
  const none = await doctor(base);
  assert.match(none.stdout, /^exporter: datadog, to the agent at http:\/\/localhost:8126, because it is the default \(no exporter chosen, no agent or OTLP endpoint set\)$/m);
});

test('doctor: an OTLP endpoint alone is never silently ignored', async () => {
  const agent = await pool.newAgent({ otlpPort: 0 });
  const { stdout } = await doctor({ DD_ENV: 'prod', TRACEWELL_DLQ_DIR: tempDir(), OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl });
  const chosen = /^exporter: (\w+)/m.exec(stdout)?.[1];
  if (chosen === 'otlp') {
    // The rule that picks OTLP for an endpoint set without an agent.
    assert.match(stdout, new RegExp(`^exporter: otlp, to ${agent.otlpUrl}/v1/traces, because OTEL_EXPORTER_OTLP_ENDPOINT is set and no agent is$`, 'm'));
    assert.match(stdout, new RegExp(`^ok    OTLP endpoint ${agent.otlpUrl}/v1/traces takes traces$`, 'm'));
  } else {
    // The rule that keeps Datadog unless an exporter is chosen: said, with the variable to set.
    assert.equal(chosen, 'datadog', stdout);
    assert.match(stdout, new RegExp(`^warn  OTEL_EXPORTER_OTLP_ENDPOINT is set but not used: traces go to the agent at http://localhost:8126 \\(the default exporter\\); set TRACEWELL_EXPORTER=otlp to send them to ${agent.otlpUrl}/v1/traces$`, 'm'));
  }
});

test('doctor: a bad --agent is checked like the variable and named by its flag; the default is used', async () => {
  const { stdout } = await doctor({ DD_ENV: 'prod', DD_SERVICE: 'doc-flag', TRACEWELL_DLQ_DIR: tempDir() }, ['--agent', 'not a url']);
  assert.match(stdout, /^warn {2}--agent="not a url" is not accepted \(expected an http:\/\/, https:\/\/ or unix:\/\/ URL\); using http:\/\/localhost:8126$/m);
  assert.match(line(stdout, 'agentUrl'), /http:\/\/localhost:8126\s+\(default\)$/);
});

// Tracewell as users get it: `npm pack` of a fresh checkout (no dist/ of ours: the pack builds
// it), the tarball installed into apps outside the repository, each with its own package.json,
// then run the way the README says. Their traces reach `npx tracewell agent` of the installed
// package, their stderr has nothing of ours, and TypeScript apps type-check against the
// shipped declarations under node16, nodenext and bundler resolution.
//
// Needs the npm registry or npm's cache (the libraries are installed at the versions of the
// repository's lock file, which `npm ci` has already put in the cache).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { measureInstall } from '../../benchmarks/lib/install-size.mjs';
import { root } from '../helpers/common.mjs';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const fixtures = join(root, 'test', 'fixtures', 'install');
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
/** `name@version` as the repository's lock file has it. */
const locked = (name) => `${name}@${lock.packages[`node_modules/${name}`].version}`;

const APPS = {
  'fastify-esm': [locked('fastify')],
  'express-cjs': [locked('express')],
  'init-code': [],
  grpc: [locked('@grpc/grpc-js'), locked('@grpc/proto-loader')],
  typescript: [locked('@types/node')],
  'tarball-only': [],
};

let work;
let tarball;
const dirs = {};
let agent;

/** Runs a command; a failure says what ran and what it printed. */
async function sh(cmd, args, opts) {
  try {
    return await run(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts });
  } catch (err) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}) failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/** A checkout as git gives it: sources, scripts, no dist/ (the repository's node_modules stands in for `npm ci`). */
function freshCheckout() {
  const dir = join(work, 'checkout');
  mkdirSync(dir);
  for (const name of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'src', 'scripts', 'bin']) cpSync(join(root, name), join(dir, name), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tw-install-'));
  const checkout = freshCheckout();
  const packed = await sh(npm, ['pack', '--silent', '--pack-destination', work], { cwd: checkout });
  tarball = join(work, packed.stdout.trim().split('\n').at(-1));
  await Promise.all(
    Object.entries(APPS).map(async ([name, deps]) => {
      const dir = join(work, name);
      if (existsSync(join(fixtures, name))) cpSync(join(fixtures, name), dir, { recursive: true });
      else {
        mkdirSync(dir);
        writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `install-${name}`, private: true }));
      }
      await sh(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball, ...deps], { cwd: dir });
      dirs[name] = dir;
    }),
  );
  agent = await startAgent(dirs['fastify-esm']);
}, { timeout: 300_000 });

after(async () => {
  if (agent) {
    process.kill(-agent.child.pid, 'SIGTERM');
    await agent.exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

/** `npx tracewell agent` from an app's folder: the installed package's own bin. */
async function startAgent(cwd) {
  const dir = join(work, 'agent');
  // Its own process group, so the agent npx starts stops with it.
  const child = spawn('npx', ['tracewell', 'agent', '--port', '0', '--otlp-port', '0', '--quiet', '--dir', dir], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv(), detached: true });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const out = await lines(child, 1, 60_000, 'the agent');
  const m = /listening on (http:\/\/127\.0\.0\.1:\d+), OTLP on (http:\/\/127\.0\.0\.1:\d+)\/v1\/traces/.exec(out[0]);
  assert.ok(m, out[0]);
  return { child, exited, url: m[1], otlpUrl: m[2], dir };
}

/** The environment of a shell with nothing of ours in it. */
function cleanEnv(extra = {}) {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

/** Resolves with the first `n` stdout lines of `child`. */
function lines(child, n, ms, what) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => reject(new Error(`${what}: no output in ${ms} ms; stdout: ${out}; stderr: ${err}`)), ms);
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const got = out.split('\n');
      if (got.length > n) {
        clearTimeout(t);
        resolve(got.slice(0, n));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${code}) early; stdout: ${out}; stderr: ${err}`));
    });
  });
}

/** Starts an app of `name` with `args`; resolves once it printed its port. */
async function startApp(name, args, env) {
  const child = spawn(process.execPath, args, {
    cwd: dirs[name],
    stdio: ['ignore', 'pipe', 'pipe'],
    // The flush at SIGTERM may take up to a minute: a loaded machine can take longer than the
    // 2 s default to load the exporter and send (what is left would go to the dead-letter file,
    // which no later process of the test replays); a product that never sends still fails.
    env: cleanEnv({ DD_ENV: 'install', DD_SERVICE: `install-${name}`, DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: join(work, 'dlq'), TRACEWELL_SHUTDOWN_TIMEOUT_MS: '60000', ...env }),
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const [first] = await lines(child, 1, 60_000, name);
  return { child, port: JSON.parse(first).port, exited, stderr: () => stderr };
}

/** SIGTERM, as a platform stops a service: Tracewell flushes, then the process ends as it would have. */
async function stop(app) {
  app.child.kill('SIGTERM');
  const end = await app.exited;
  assert.ok(end.signal === 'SIGTERM' || end.code === 0, `ended with ${JSON.stringify(end)}`);
}

/** Every span the agent has received (its traces.jsonl), after the predicate holds. */
async function spansWhen(predicate, what) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const file = join(agent.dir, 'traces.jsonl');
    const spans = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).flatMap((l) => JSON.parse(l)) : [];
    if (predicate(spans)) return spans;
    if (Date.now() > deadline) throw new Error(`the agent did not receive ${what}; it has: ${spans.map((s) => `${s.service} ${s.name} ${s.resource}`).join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the tarball holds a build (made by npm pack itself), the CLI and types, and no sources or source maps', async () => {
  const listed = await sh('tar', ['-tzf', tarball], { cwd: work });
  const files = listed.stdout.trim().split('\n');
  for (const f of ['package/dist/cjs/index.js', 'package/dist/cjs/index.d.ts', 'package/dist/cjs/register.js', 'package/dist/esm/index.mjs', 'package/dist/esm/index.d.mts', 'package/dist/esm/register.mjs', 'package/bin/tracewell.js', 'package/README.md']) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  assert.deepEqual(files.filter((f) => f.endsWith('.map') || f.startsWith('package/src/') || f.startsWith('package/test/') || f.startsWith('package/benchmarks/')), []);
});

test('footprint: a fresh app with only the tarball installed stays within 25 MB', () => {
  const { packages, mb } = measureInstall(dirs['tarball-only']);
  test.diagnostic?.(`tarball only: ${packages} packages, ${mb.toFixed(1)} MB`);
  process.stdout.write(`# install footprint: ${packages} packages, ${mb.toFixed(1)} MB\n`);
  assert.ok(mb <= 25, `${mb.toFixed(1)} MB installed`);
  assert.ok(!existsSync(join(dirs['tarball-only'], 'node_modules', '@opentelemetry', 'sdk-trace-base')), 'the OpenTelemetry SDK is not installed for us');
});

test('ES-module Fastify app with --import tracewell/register: its request reaches the agent as GET /users/:id', async () => {
  const app = await startApp('fastify-esm', ['--import', 'tracewell/register', 'app.mjs']);
  const body = await (await fetch(`http://127.0.0.1:${app.port}/users/42`)).json();
  assert.deepEqual(body, { id: '42', traced: true });
  await stop(app);
  const spans = await spansWhen((s) => s.some((x) => x.service === 'install-fastify-esm'), 'the Fastify span');
  const span = spans.find((x) => x.service === 'install-fastify-esm');
  assert.equal(span.resource, 'GET /users/:id');
  assert.equal(span.meta.env, 'install');
  assert.equal(app.stderr(), '');
});

test('CommonJS Express app with --require tracewell/register: the route with its mount path', async () => {
  const app = await startApp('express-cjs', ['--require', 'tracewell/register', 'app.js']);
  assert.equal((await fetch(`http://127.0.0.1:${app.port}/api/items/7`)).status, 200);
  await stop(app);
  const spans = await spansWhen((s) => s.some((x) => x.service === 'install-express-cjs'), 'the Express span');
  assert.equal(spans.find((x) => x.service === 'install-express-cjs' && x.name === 'web.request').resource, 'GET /api/items/:itemId');
  assert.equal(app.stderr(), '');
});

test('init() from code (require): server span, fetch child span, and the peer continuing the trace', async () => {
  const app = await startApp('init-code', ['app.js'], { DD_SERVICE: undefined });
  assert.deepEqual(await (await fetch(`http://127.0.0.1:${app.port}/`)).json(), { peer: 200 });
  await stop(app);
  const spans = await spansWhen((s) => s.filter((x) => x.service === 'install-init-code').length >= 3, 'three spans of install-init-code');
  const mine = spans.filter((x) => x.service === 'install-init-code');
  const outer = mine.find((x) => x.name === 'web.request' && x.parent_id === '0');
  const client = mine.find((x) => x.name === 'http.request');
  const inner = mine.find((x) => x.name === 'web.request' && x.parent_id !== '0');
  assert.ok(outer && client && inner, mine.map((x) => `${x.name} ${x.parent_id}`).join('; '));
  assert.equal(client.parent_id, outer.span_id);
  assert.equal(inner.parent_id, client.span_id);
  assert.equal(inner.trace_id, outer.trace_id);
  assert.equal(app.stderr(), '');
});

test('gRPC pair (CommonJS server, ES-module client): client and server spans of one trace', async () => {
  const server = await startApp('grpc', ['--require', 'tracewell/register', 'server.js'], { DD_SERVICE: 'install-greeter' });
  const client = spawn(process.execPath, ['--import', 'tracewell/register', 'client.mjs'], {
    cwd: dirs.grpc,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cleanEnv({ DD_ENV: 'install', DD_SERVICE: 'install-greeter-client', DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: join(work, 'dlq'), GREETER_PORT: String(server.port) }),
  });
  let clientErr = '';
  client.stderr.setEncoding('utf8').on('data', (d) => (clientErr += d));
  const [reply] = await lines(client, 1, 60_000, 'the gRPC client');
  assert.deepEqual(JSON.parse(reply), { message: 'hello install' });
  // The client ends on its own: its span is flushed on the way out.
  assert.deepEqual(await new Promise((r) => client.once('exit', (code, signal) => r({ code, signal }))), { code: 0, signal: null });
  await stop(server);
  const spans = await spansWhen((s) => s.some((x) => x.service === 'install-greeter') && s.some((x) => x.service === 'install-greeter-client'), 'both gRPC spans');
  const c = spans.find((x) => x.service === 'install-greeter-client' && x.name === 'grpc.client');
  const s = spans.find((x) => x.service === 'install-greeter' && x.name === 'grpc.server');
  assert.equal(c.resource, '/greeter.v1.Greeter/SayHello');
  assert.equal(s.resource, '/greeter.v1.Greeter/SayHello');
  assert.equal(s.trace_id, c.trace_id);
  assert.equal(s.parent_id, c.span_id);
  assert.equal(server.stderr(), '');
  assert.equal(clientErr, '');
});

for (const config of ['node16', 'nodenext', 'bundler']) {
  test(`TypeScript (${config} resolution, ${config === 'bundler' ? 'ESM' : 'ESM and CJS'}) type-checks against the shipped declarations, skipLibCheck off`, async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await run(process.execPath, [tsc, '-p', `tsconfig.${config}.json`], { cwd: dirs.typescript }).catch((err) => err);
    assert.equal(r.stdout.trim(), '', r.stdout);
    assert.equal(r.code ?? 0, 0);
  });
}

test('the installed CLI answers --help and the package has exactly what package.json names', async () => {
  const help = await sh('npx', ['tracewell', '--help'], { cwd: dirs['tarball-only'], env: cleanEnv() });
  assert.match(help.stdout, /^usage: tracewell <command>/);
  const agentHelp = await sh('npx', ['tracewell', 'agent', '--help'], { cwd: dirs['tarball-only'], env: cleanEnv() });
  assert.match(agentHelp.stdout, /^usage: tracewell agent /);
  const pkg = JSON.parse(readFileSync(join(dirs['tarball-only'], 'node_modules', 'tracewell', 'package.json'), 'utf8'));
  assert.deepEqual(readdirSync(join(dirs['tarball-only'], 'node_modules', 'tracewell')).sort(), ['CHANGELOG.md', 'LICENSE', 'README.md', 'bin', 'dist', 'package.json']);
  assert.equal(pkg.name, 'tracewell');
});

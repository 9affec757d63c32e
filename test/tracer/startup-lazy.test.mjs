// What the preload loads before the app's first line (issue #18): no exporter, no integration of
// a library the app has not loaded, no node:http, node:net or node:worker_threads. Then each
// piece arrives with what needs it: node:http with the app's own require or import of it (a
// server and a client request made right after are traced), an integration with its library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../helpers/common.mjs';

const env = { PATH: process.env.PATH, HOME: process.env.HOME, DD_ENV: 'test', DD_SERVICE: 'lazy', DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', TRACEWELL_DLQ_ENABLED: 'false' };

/** Runs `code` under the preload; its last stdout line is JSON. */
function run(flags, code, extraEnv = {}) {
  const r = spawnSync(process.execPath, [...flags, '-e', code], { cwd: root, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const REPORT = `
const report = (extra = {}) => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
  const ours = Object.keys(require.cache).filter((f) => f.includes('/dist/cjs/')).map((f) => f.slice(f.indexOf('/dist/cjs/') + 10));
  console.log(JSON.stringify({ builtins, ours, ...extra }));
};`;

test('the preload alone loads no exporter, no integration, no node:http, node:net or node:worker_threads', () => {
  const r = run(['--require', 'tracewell/register'], `${REPORT} report();`);
  for (const b of ['http', 'https', 'net', 'worker_threads', 'perf_hooks'].filter((b) => b !== 'perf_hooks')) assert.ok(!r.builtins.includes(b), `node:${b} loaded: ${r.builtins.join(' ')}`);
  assert.ok(r.ours.includes('sdk.js'), 'the preload ran');
  const early = r.ours.filter((f) => /^(exporter\/(?!exit-hooks)|delivery\/|tracer\/instrumentations\/(?!http-client|channels|header-tags|module-hook|esm-hook|esm-mark|recognise)|tracer\/logs\/)/.test(f));
  assert.deepEqual(early, [], 'modules loaded before they are needed');
});

test('CommonJS: require of node:http brings the HTTP integrations; a server request and a client request right after are traced', () => {
  const code = `${REPORT}
const http = require('node:http');
const server = http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => {
  http.get({ host: '127.0.0.1', port: server.address().port, path: '/x' }, (res) => {
    res.resume();
    res.on('end', () => server.close(() => {
      const s = require('tracewell').getHandle().stats();
      report({ started: s.spansStarted, finished: s.spansFinished, traceparent: res.req.getHeader('traceparent') ?? res.req.getHeader('x-datadog-trace-id') ?? null });
    }));
  });
});`;
  const r = run(['--require', 'tracewell/register'], code);
  assert.ok(r.ours.includes('tracer/instrumentations/http-server.js'));
  assert.equal(r.started, 2, 'the client span and the server span');
  assert.ok(r.traceparent !== null, 'the first client request carried propagation headers');
});

test('an integration is loaded with its library, not before: Express', () => {
  const r = run(['--require', 'tracewell/register'], `${REPORT} const before = Object.keys(require.cache).some((f) => f.endsWith('/instrumentations/express.js')); require('express'); report({ before });`);
  assert.equal(r.before, false);
  assert.ok(r.ours.includes('tracer/instrumentations/express.js'), 'loaded with express');
  assert.ok(!r.ours.includes('tracer/instrumentations/pg.js'), 'pg was not loaded by the app');
});

test('ES modules: an import of node:http brings the HTTP integrations (where the load hook runs in-thread), or they are on from the start; a request is traced', () => {
  const code = `
import http from 'node:http';
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/');
const server = http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => {
  http.get({ host: '127.0.0.1', port: server.address().port, path: '/x' }, (res) => {
    res.resume();
    res.on('end', () => server.close(() => {
      const s = require('tracewell').getHandle().stats();
      console.log(JSON.stringify({ started: s.spansStarted }));
    }));
  });
});`;
  const r = run(['--import', 'tracewell/register', '--input-type=module'], code);
  assert.equal(r.started, 2, 'the client span and the server span');
});

test('a warning printed at start-up reaches stderr without making process.stderr (no stream modules loaded for it)', () => {
  // No environment set: the preload warns once (TW_CONFIG_NO_ENV).
  const { DD_ENV: _unset, ...noEnv } = env;
  const r = spawnSync(process.execPath, ['--require', 'tracewell/register', '-e', `${REPORT} report();`], { cwd: root, env: noEnv, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /tracewell warn: \[TW_CONFIG_NO_ENV\]/);
  const { builtins } = JSON.parse(r.stdout.trim().split('\n').pop());
  for (const b of ['stream', 'internal/fs/sync_write_stream', 'internal/streams/writable']) assert.ok(!builtins.includes(b), `${b} loaded for the warning`);
});

test('the preload reads its start-up modules from one file (dist/cjs/preload.js), and the package entry loaded later shares them', () => {
  // A preload before ours counts the module files Node reads from dist/cjs/.
  const spy = `const fs = require('node:fs'); const read = fs.readFileSync; globalThis.__twReads = [];
fs.readFileSync = function (p, ...rest) { if (typeof p === 'string' && p.includes('/dist/cjs/') && p.endsWith('.js')) globalThis.__twReads.push(p.slice(p.indexOf('/dist/cjs/') + 10)); return read.call(this, p, ...rest); };`;
  const dir = mkdtempSync(join(tmpdir(), 'tw-reads-'));
  writeFileSync(join(dir, 'spy.cjs'), spy);
  const r = run(['--require', join(dir, 'spy.cjs'), '--require', 'tracewell/register'], `${REPORT}
const reads = globalThis.__twReads.slice();
report({ reads, started: require('tracewell').getHandle() !== undefined });`);
  assert.deepEqual(r.reads, ['preload.js'], 'module files read at start-up');
  assert.ok(r.ours.includes('sdk.js') && r.ours.includes('tracer/tracer.js'), 'each module in the cache under its own path');
  assert.equal(r.started, true, "require('tracewell') sees the preload's tracer");
  rmSync(dir, { recursive: true, force: true });
});

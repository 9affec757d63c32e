// A traced app prints nothing of ours at start when it is configured: the preload's module
// hook looks at libraries' exports without reading a module that is still loading (Node warns
// "Accessing non-existent property ... inside circular dependency" when anything does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { root } from '../helpers/common.mjs';

const env = { PATH: process.env.PATH, HOME: process.env.HOME, DD_ENV: 'test', DD_SERVICE: 'quiet', DD_TRACE_AGENT_URL: 'http://127.0.0.1:9' };
const LIBS = ['@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'winston', 'pino', 'express', 'fastify'];

function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

test('CommonJS: loading gRPC, protobufjs, winston, pino, Express and Fastify under the preload prints no warning', () => {
  const r = run(['--require', 'tracewell/register', '-e', `${LIBS.map((l) => `require(${JSON.stringify(l)});`).join('')} console.log('loaded')`]);
  assert.equal(r.stdout.trim(), 'loaded');
  assert.equal(r.stderr, '', 'nothing on stderr');
});

test('ES modules: importing the same libraries under the preload prints no warning', () => {
  const r = run(['--import', 'tracewell/register', '--input-type=module', '-e', `${LIBS.map((l) => `await import(${JSON.stringify(l)});`).join('')} console.log('loaded')`]);
  assert.equal(r.stdout.trim(), 'loaded');
  assert.equal(r.stderr, '', 'nothing on stderr');
});

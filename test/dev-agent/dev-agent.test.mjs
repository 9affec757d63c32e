// The dev agent: accepts well-typed payloads, refuses each kind of wrong type with 400 and a
// message naming the field, keeps what it received, and runs as `tracewell agent`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { root, until } from '../helpers/common.mjs';

const require = createRequire(import.meta.url);
const { encode } = require('@msgpack/msgpack');
const { startDevAgent } = require('../../dist/cjs/dev-agent/index.js');

const dir = mkdtempSync(join(tmpdir(), 'tw-agent-'));
let agent;
before(async () => {
  agent = await startDevAgent({ port: 0, dir });
});
after(() => agent.close());

const span = (over = {}) => ({
  name: 'web.request',
  service: 'svc',
  resource: 'GET /x',
  type: 'web',
  trace_id: 123n,
  span_id: 456n,
  parent_id: 0n,
  start: 1_790_000_000_000_000_000n,
  duration: 1_500_000n,
  error: 0,
  meta: { env: 'test' },
  metrics: { _sampling_priority_v1: 1 },
  ...over,
});
const put = (body, type = 'application/msgpack') =>
  fetch(`${agent.url}/v0.4/traces`, { method: 'PUT', headers: { 'content-type': type }, body: body instanceof Uint8Array ? body : encode(body, { useBigInt64: true }) });

test('a well-typed payload is accepted, decoded and kept', async () => {
  const res = await put([[span(), span({ span_id: 457n, parent_id: 456n, name: 'child', resource: 'child' })]]);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { rate_by_service: { 'service:,env:': 1 } });
  const got = agent.traces.at(-1);
  assert.equal(got.length, 2);
  assert.equal(got[1].parent_id, 456n);
  assert.equal(got[0].duration, 1_500_000n);
  assert.equal(got[0].meta.env, 'test');
  const kept = readFileSync(join(dir, 'traces.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(kept.at(-1)[1].span_id, '457');
});

for (const [what, body, field] of [
  ['a number in meta', [[span({ meta: { 'http.status_code': 200 } })]], 'meta["http.status_code"] is integer, want string'],
  ['a string in metrics', [[span({ metrics: { x: '1' } })]], 'metrics["x"] is string, want float64'],
  ['a string trace id', [[span({ trace_id: '123' })]], 'trace_id is string, want uint64'],
  ['a missing name', [[(({ name, ...rest }) => rest)(span())]], 'name is missing'],
  ['a nil service', [[span({ service: null })]], 'service is nil, want string'],
  ['a negative duration', [[span({ duration: -1n })]], 'duration is -1, want >= 0'],
  ['a start in ms', [[span({ start: 1_790_000_000_000n })]], 'want nanoseconds since the epoch'],
  ['an error of 2', [[span({ error: 2 })]], 'error is 2, want 0 or 1'],
  ['an unknown field', [[span({ extra: 1 })]], 'unknown field "extra"'],
  ['a body that is not an array', { traces: [] }, 'body is map, want array of traces'],
  ['a trace that is not an array', [span()], 'trace 0 is map, want array of spans'],
  ['garbage bytes', Uint8Array.from([0xc1, 0xff, 0x00, 0x13]), 'not valid msgpack'],
]) {
  test(`400 for ${what}, naming the field`, async () => {
    const res = await put(body);
    assert.equal(res.status, 400);
    const { error } = await res.json();
    assert.ok(error.includes(field), error);
    assert.equal(agent.rejections.at(-1).message, error);
  });
}

test('415 for another content type, 404 elsewhere, /info like the agent', async () => {
  assert.equal((await put([[span()]], 'application/json')).status, 415);
  assert.equal((await fetch(`${agent.url}/v0.3/traces`, { method: 'PUT' })).status, 404);
  const info = await (await fetch(`${agent.url}/info`)).json();
  assert.ok(info.endpoints.includes('/v0.4/traces'));
  assert.equal(info.config.max_request_bytes, 25 * 1024 * 1024);
});

test('413 for a body over 25 MiB', async () => {
  const res = await put(new Uint8Array(25 * 1024 * 1024 + 10));
  assert.equal(res.status, 413);
});

test('`tracewell agent` runs in the foreground, prints each trace as a tree, and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, [join(root, 'bin', 'tracewell.js'), 'agent', '--port', '0', '--dir', join(dir, 'cli')], { cwd: root });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  const printed = async (re) => {
    await until(() => re.test(out), `${re} in the output`, 5000, 50).catch(() => {});
    assert.match(out, re);
  };
  const exited = new Promise((r) => child.on('exit', (c, sig) => r(c ?? sig)));
  try {
    await printed(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)[1];
    const res = await fetch(`${url}/v0.4/traces`, { method: 'PUT', headers: { 'content-type': 'application/msgpack' }, body: encode([[span({ error: 1, meta: { 'error.type': 'TypeError', 'error.message': 'boom' } }), span({ span_id: 9n, parent_id: 456n, name: 'db', resource: 'SELECT 1' })]], { useBigInt64: true }) });
    assert.equal(res.status, 200);
    await printed(/SELECT 1/);
    // The 128-bit id everywhere: this trace has no high half (no _dd.p.tid), so zeros.
    assert.match(out, /trace 0000000000000000000000000000007b \(2 spans\)/);
    assert.match(out, /svc {2}web\.request {2}GET \/x {2}1\.5 ms {2}ERROR TypeError: boom/);
    assert.match(out, /└─ svc {2}db {2}SELECT 1/);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0);
});

test('unknown commands exit 2 with the usage', () => {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'tracewell.js'), 'nope'], { cwd: root });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      assert.equal(code, 2);
      assert.match(err, /unknown command "nope"/);
      assert.match(err, /tracewell agent/);
      resolve();
    });
  });
});

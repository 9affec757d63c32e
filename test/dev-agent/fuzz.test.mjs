// The dev agent under hostile input: seeded random and mutated payloads on every endpoint
// (Datadog traces v0.4 and v0.5, OTLP, profiles, probe snapshots and statuses), bodies over
// the size limit, wrong content types. Every answer is a 2xx or a 4xx naming the problem,
// never a 5xx, and the agent keeps answering. The seed is printed, so a failure can be rerun
// (FUZZ_SEED=<n>).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { encode } from '@msgpack/msgpack';
import { devAgentModule } from '../helpers/apps.mjs';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const ROUNDS = 1500;

/** A small deterministic generator (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(SEED);
const int = (n) => Math.floor(random() * n);
const pick = (xs) => xs[int(xs.length)];
const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));

/** A value of any msgpack type, nested a little. */
function anyValue(depth = 0) {
  switch (int(depth > 2 ? 6 : 9)) {
    case 0:
      return int(2 ** 31) - 2 ** 30;
    case 1:
      return random() * 1e12;
    case 2:
      return 'x'.repeat(int(40));
    case 3:
      return null;
    case 4:
      return random() < 0.5;
    case 5:
      return BigInt(int(2 ** 31)) * 4294967296n;
    case 6:
      return Array.from({ length: int(4) }, () => anyValue(depth + 1));
    case 7:
      return Object.fromEntries(Array.from({ length: int(4) }, (_, i) => [`k${i}`, anyValue(depth + 1)]));
    default:
      return bytes(int(16));
  }
}

/** A span of the right shape with some fields of the wrong type. */
function span() {
  const s = { trace_id: 1n, span_id: 2n, parent_id: 0n, start: 1n, duration: 2n, error: 0, name: 'n', service: 's', resource: 'r', type: 'web', meta: { a: 'b' }, metrics: { m: 1.5 } };
  for (const k of Object.keys(s)) if (random() < 0.2) s[k] = anyValue();
  if (random() < 0.1) s[`extra${int(3)}`] = anyValue();
  return s;
}

function datadogBody(v05) {
  const traces = Array.from({ length: int(3) }, () => Array.from({ length: 1 + int(3) }, span));
  let value = traces;
  if (v05) value = [['', 's', 'n', 'r', 'web'].slice(0, int(6)), traces.map((t) => t.map(() => Array.from({ length: int(14) }, () => pick([0, 1, 2, 3, 4, 9999, anyValue()]))))];
  if (random() < 0.15) value = anyValue();
  const body = Buffer.from(encode(value, { useBigInt64: true }));
  return mutate(body);
}

/** Sometimes truncated, sometimes with bytes flipped, sometimes random. */
function mutate(body) {
  const r = random();
  if (r < 0.15 && body.length > 1) return body.subarray(0, int(body.length));
  if (r < 0.3) {
    const copy = Buffer.from(body);
    for (let i = 0; i < 1 + int(4) && copy.length > 0; i++) copy[int(copy.length)] = int(256);
    return copy;
  }
  if (r < 0.4) return bytes(int(300));
  return body;
}

function multipart(withEvent) {
  const b = `b${int(1e6)}`;
  const parts = [];
  if (withEvent) parts.push(`--${b}\r\nContent-Disposition: form-data; name="event"; filename="event.json"\r\nContent-Type: application/json\r\n\r\n${random() < 0.5 ? JSON.stringify({ attachments: ['wall.pprof'], start: 'x', end: 'y' }) : '{"broken'}\r\n`);
  if (random() < 0.7) parts.push(`--${b}\r\nContent-Disposition: form-data; name="wall.pprof"; filename="wall.pprof"\r\nContent-Type: application/octet-stream\r\n\r\n${bytes(int(200)).toString('latin1')}\r\n`);
  const body = Buffer.from(parts.join('') + (random() < 0.8 ? `--${b}--\r\n` : ''), 'latin1');
  return { body: mutate(body), type: random() < 0.9 ? `multipart/form-data; boundary=${b}` : pick(['text/plain', 'multipart/form-data', '']) };
}

function jsonish() {
  const r = random();
  if (r < 0.3) return Buffer.from(JSON.stringify(Array.from({ length: int(3) }, () => ({ ddsource: 'dd_debugger', service: anyValue(), message: anyValue(), debugger: random() < 0.5 ? { snapshot: { id: 'x', probe: { id: anyValue() } } } : anyValue() })), (_, v) => (typeof v === 'bigint' ? Number(v) : v)));
  if (r < 0.6) return Buffer.from('[' + '{"a":'.repeat(int(50)));
  return mutate(Buffer.from(JSON.stringify(anyValue(), (_, v) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null'));
}

function send(port, method, path, type, body) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: type ? { 'content-type': type } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const agents = [];
after(() => Promise.all(agents.map((a) => a.close())));

test(`the dev agent answers ${ROUNDS} malformed payloads on every endpoint with 2xx or 4xx, never 5xx, and stays up (seed ${SEED})`, async () => {
  const agent = await devAgentModule().startDevAgent({ port: 0, otlpPort: 0, dir: null });
  agents.push(agent);
  const otlpPort = Number(new URL(agent.otlpUrl).port);
  const statuses = new Map();
  for (let i = 0; i < ROUNDS; i++) {
    let req;
    switch (int(7)) {
      case 0:
        req = { method: 'PUT', path: '/v0.4/traces', type: pick(['application/msgpack', 'application/msgpack', 'text/plain']), body: datadogBody(false) };
        break;
      case 1:
        req = { method: 'PUT', path: '/v0.5/traces', type: 'application/msgpack', body: datadogBody(true) };
        break;
      case 2:
        req = { method: 'POST', path: '/v1/traces', type: pick(['application/x-protobuf', 'application/x-protobuf', 'application/json']), body: mutate(bytes(int(400))), port: otlpPort };
        break;
      case 3: {
        const m = multipart(random() < 0.8);
        req = { method: 'POST', path: '/profiling/v1/input', type: m.type, body: m.body };
        break;
      }
      case 4:
        req = { method: 'POST', path: '/debugger/v1/input', type: 'application/json', body: jsonish() };
        break;
      case 5: {
        const m = multipart(true);
        req = { method: 'POST', path: '/debugger/v1/diagnostics', type: m.type, body: m.body };
        break;
      }
      default:
        req = { method: pick(['GET', 'DELETE', 'PATCH', 'POST']), path: pick(['/', '/info', '/v0.4/traces', '/../etc/passwd', '/v0.7/traces', '/%00']), type: '', body: bytes(int(50)) };
    }
    const status = await send(req.port ?? agent.port, req.method, req.path, req.type, req.body);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    assert.ok(status < 500, `round ${i} (seed ${SEED}): ${req.method} ${req.path} answered ${status}`);
  }
  // Over the size limit: 413, and the agent still answers.
  const huge = Buffer.alloc(25 * 1024 * 1024 + 1, 0x90);
  assert.equal(await send(agent.port, 'PUT', '/v0.4/traces', 'application/msgpack', huge), 413);
  assert.equal(await send(otlpPort, 'POST', '/v1/traces', 'application/x-protobuf', huge), 413);
  assert.equal(await send(agent.port, 'GET', '/info', '', undefined), 200);
  assert.ok((statuses.get(400) ?? 0) > 100, `malformed payloads were refused: ${JSON.stringify([...statuses])}`);
  process.stdout.write(`fuzz seed ${SEED}: ${JSON.stringify(Object.fromEntries(statuses))}\n`);
});

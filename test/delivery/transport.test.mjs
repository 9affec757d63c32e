// The export's HTTP client (src/delivery/transport.ts, on node:http): traces reach the agent over
// http, https and a unix socket from a process started with the preload, without loading the
// undici package (32 MB of RSS on its own); one kept-alive connection serves request after
// request; a connection the agent closed as it was reused is not counted as a failure; a
// request with no answer fails with a code the retry layer knows.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { dist, launch, root } from '../helpers/common.mjs';
import { agentPool } from '../helpers/apps.mjs';

const { Transport } = dist('delivery/transport.js');
const pool = agentPool();
const dir = mkdtempSync(join(tmpdir(), 'tw-transport-'));
const closers = [];
after(async () => {
  for (const c of closers) await c();
  await pool.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A listener that hands every connection's bytes to the agent's TCP port and back. */
async function forwarder(server, event, listenArgs, agentPort) {
  const pipe = (sock) => {
    const up = connect(agentPort, '127.0.0.1');
    sock.pipe(up).pipe(sock);
    const end = () => (sock.destroy(), up.destroy());
    sock.on('error', end);
    up.on('error', end);
  };
  server.on(event, pipe);
  server.listen(...listenArgs);
  await once(server, 'listening');
  closers.push(() => new Promise((r) => server.close(() => r())));
  return server;
}

async function exportOnce(agentUrl, extraEnv = {}) {
  const p = launch(join(root, 'test', 'fixtures', 'delivery', 'export-once.cjs'), {
    execArgv: ['--require', 'tracewell/register'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DD_SERVICE: 'transport', DD_ENV: 'test', DD_TRACE_AGENT_URL: agentUrl, TRACEWELL_DLQ_DIR: join(dir, 'dlq-' + Math.random().toString(36).slice(2)), ...extraEnv },
  });
  const { code } = await p.exited;
  assert.equal(code, 0, p.stderr());
  const line = p.stdout().trim().split('\n').pop();
  return { out: JSON.parse(line), stderr: p.stderr() };
}

for (const kind of ['http', 'https', 'unix']) {
  test(`the preload's export reaches the agent over ${kind}, and loads no undici`, async () => {
    const agent = await pool.newAgent();
    const agentPort = Number(new URL(agent.url).port);
    let url = agent.url;
    const env = {};
    if (kind === 'https') {
      const tls = join(root, 'test', 'fixtures', 'tls');
      const server = createTlsServer({ key: readFileSync(join(tls, 'key.pem')), cert: readFileSync(join(tls, 'cert.pem')) });
      await forwarder(server, 'secureConnection', [0, '127.0.0.1'], agentPort);
      url = `https://localhost:${server.address().port}`;
      env.NODE_EXTRA_CA_CERTS = join(tls, 'cert.pem');
    } else if (kind === 'unix') {
      const path = join(dir, 'agent.sock');
      await forwarder(createNetServer(), 'connection', [path], agentPort);
      url = `unix://${path}`;
    }
    const { out, stderr } = await exportOnce(url, env);
    assert.equal(out.spansSent, 1, `spans sent (stderr: ${stderr})`);
    assert.equal(out.undiciModules, 0, 'modules of the undici package loaded by the export');
    assert.equal(out.deadLettered.spansWritten, 0);
    assert.equal(out.retries, 0);
    await agent.waitForSpans(1, 30_000);
    const span = agent.allSpans().find((s) => s.name === 'export.once');
    assert.ok(span, 'the span at the agent');
    assert.equal(span.meta['export.via'], kind);
    assert.equal(span.service, 'transport');
  });
}

/** A plain HTTP server on port 0 for the Transport tests: `answer(req, res, n)` per request (n: its number on its connection). */
async function server(answer) {
  const seen = { requests: 0, connections: 0 };
  const s = createServer((req, res) => {
    seen.requests++;
    const n = (req.socket.requestsOnIt = (req.socket.requestsOnIt ?? 0) + 1);
    req.resume();
    req.on('end', () => answer(req, res, n));
  });
  s.on('connection', () => seen.connections++);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  closers.push(() => new Promise((r) => (s.closeAllConnections(), s.close(() => r()))));
  return { url: `http://127.0.0.1:${s.address().port}`, seen };
}

test('one kept-alive connection serves requests one after another; bodies and headers go both ways', async () => {
  const { url, seen } = await server((req, res) => {
    res.setHeader('x-got-length', req.headers['content-length'] ?? '');
    res.setHeader('x-got-type', req.headers['content-type'] ?? '');
    res.end(JSON.stringify({ rate_by_service: {} }));
  });
  const t = new Transport(url);
  try {
    for (let i = 0; i < 3; i++) {
      const r = await t.request({ method: 'PUT', path: '/v0.4/traces', headers: { 'content-type': 'application/msgpack' }, body: Buffer.alloc(100 + i) });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-got-length'], String(100 + i));
      assert.equal(r.headers['x-got-type'], 'application/msgpack');
      assert.deepEqual(JSON.parse(r.body), { rate_by_service: {} });
    }
    assert.deepEqual(seen, { requests: 3, connections: 1 });
  } finally {
    await t.destroy();
  }
});

test('a kept-alive connection the agent closes as it is reused: the request goes again on a new one and is answered', async () => {
  // The second request on any connection finds it closed (as when the agent's idle timeout
  // and our reuse cross).
  const { url, seen } = await server((req, res, n) => (n >= 2 ? req.socket.destroy() : res.end('ok')));
  const t = new Transport(url);
  try {
    assert.equal((await t.request({ method: 'POST', path: '/a', body: 'x' })).status, 200);
    const second = await t.request({ method: 'POST', path: '/b', body: 'y' });
    assert.equal(second.status, 200);
    assert.equal(second.body, 'ok');
    assert.deepEqual(seen, { requests: 3, connections: 2 });
  } finally {
    await t.destroy();
  }
});

test('an answer cut off on a kept-alive connection is not sent again (the agent may have taken it)', async () => {
  const { url, seen } = await server((req, res, n) => {
    if (n < 2) return res.end('ok');
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial', () => req.socket.destroy());
  });
  const t = new Transport(url);
  try {
    assert.equal((await t.request({ method: 'POST', path: '/a', body: 'x' })).status, 200);
    const err = await t.request({ method: 'POST', path: '/b', body: 'y' }).then(
      () => null,
      (e) => e,
    );
    assert.ok(err, 'the cut-off answer is a failure');
    assert.equal(err.code, 'ECONNRESET');
    assert.deepEqual(seen, { requests: 2, connections: 1 });
  } finally {
    await t.destroy();
  }
});

test('no answer within the timeout: the request fails with ETIMEDOUT, which the retry layer retries', async () => {
  const { url } = await server(() => {}); // reads the request, never answers
  const { classifyError } = dist('delivery/retry.js');
  const t = new Transport(url);
  try {
    const err = await t.request({ method: 'POST', path: '/v0.5/traces', body: 'x', timeoutMs: 200 }).then(
      () => null,
      (e) => e,
    );
    assert.ok(err, 'the request failed');
    assert.equal(err.code, 'ETIMEDOUT');
    assert.equal(classifyError(err, false).kind, 'retry');
  } finally {
    await t.destroy();
  }
});

test('an answer body is kept up to 64 KiB', async () => {
  const { url } = await server((req, res) => res.end(Buffer.alloc(200 * 1024, 0x61)));
  const t = new Transport(url);
  try {
    const r = await t.request({ method: 'GET', path: '/big' });
    assert.equal(r.status, 200);
    assert.equal(r.raw.length, 64 * 1024);
  } finally {
    await t.destroy();
  }
});

// Listeners on a traced request and its response run in the request span's context, even
// though their events come from the socket: a real node:http service in a child process
// (test/fixtures/apps/listeners.cjs), checked from what its listeners saw and at the dev agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startService, devAgentModule } from '../helpers/apps.mjs';

let agent;
let app;
before(async () => {
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
  app = await startService('apps/listeners.cjs', { agentUrl: agent.url, env: { DD_SERVICE: 'listeners' } });
});
after(async () => {
  await app?.stop();
  await agent?.close();
});

const hex = (v) => v.toString(16).padStart(16, '0');
const LISTENERS = ['on.req.data', 'on.req.end', 'on.req.close', 'on.res.finish', 'on.res.close'];

/** POST `path` with its body in two writes `gapMs` apart (so the second chunk comes from the socket, after the handler returned). */
function post(httpAgent, path, gapMs) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: app.port, method: 'POST', path, agent: httpAgent }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (b += c));
      res.on('end', () => (res.statusCode === 200 ? resolve({ seen: JSON.parse(b), socket: req.socket }) : reject(new Error(`${res.statusCode} ${b}`))));
    });
    req.on('error', reject);
    req.write('first chunk;');
    setTimeout(() => req.end('second chunk'), gapMs);
  });
}

/** The server span of `path` and the listener spans tagged with it, once all have arrived. */
async function spansOf(path, extra = 0) {
  const server = () => agent.allSpans().find((s) => s.meta['span.kind'] === 'server' && s.meta['http.url'] === `${app.url}${path}`);
  const listeners = () => agent.allSpans().filter((s) => s.meta['listener.of'] === path);
  await agent
    .waitFor(() => server() !== undefined && LISTENERS.every((n) => listeners().some((s) => s.name === n)) && listeners().length >= LISTENERS.length + extra, 8000)
    .catch(() => {
      throw new Error(`spans of ${path} missing; seen: ${agent.allSpans().map((s) => `${s.name}:${s.meta['listener.of'] ?? s.meta['http.url']}:${s.span_id}:${s.parent_id}`).join(', ')}`);
    });
  return { server: server(), listeners: listeners() };
}

/** Every listener of `path` saw its own request's span: in process, and as parents at the agent. */
async function assertOwnSpan(path, seen) {
  assert.ok(seen.handler, 'the handler runs in the server span');
  assert.ok(seen.data.length >= 1);
  for (const id of seen.data) assert.equal(id, seen.handler, `${path}: req 'data' listener`);
  assert.equal(seen.end, seen.handler, `${path}: req 'end' listener`);
  const { server, listeners } = await spansOf(path);
  assert.equal(hex(server.span_id), seen.handler);
  assert.equal(server.parent_id, 0n, `${path}: the server span is a root (no context left over from an earlier request)`);
  for (const s of listeners) {
    assert.equal(s.trace_id, server.trace_id, `${path}: ${s.name} is in the request's trace`);
    assert.equal(s.parent_id, server.span_id, `${path}: ${s.name} is a child of the request's span`);
  }
  return { server, listeners };
}

test("request 'data'/'end'/'close' and response 'finish'/'close' listeners see the request span, request after request on one keep-alive socket", async () => {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await post(keepAlive, '/body/seq-1', 40);
    const second = await post(keepAlive, '/body/seq-2', 40);
    assert.equal(second.socket, first.socket, 'the second request went over the first one socket');
    const a = await assertOwnSpan('/body/seq-1', first.seen);
    const b = await assertOwnSpan('/body/seq-2', second.seen);
    assert.notEqual(a.server.trace_id, b.server.trace_id);
    // The second chunk came after the handler returned, from the socket: two 'data' events.
    assert.equal(a.listeners.filter((s) => s.name === 'on.req.data').length, first.seen.data.length);
  } finally {
    keepAlive.destroy();
  }
});

test('concurrent requests over shared keep-alive sockets: each listener sees its own request', async () => {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 2 });
  try {
    const paths = Array.from({ length: 8 }, (_, i) => `/body/conc-${i}`);
    const answers = await Promise.all(paths.map((p, i) => post(keepAlive, p, 10 + ((i * 7) % 30))));
    assert.equal(new Set(answers.map((a) => a.socket)).size, 2, 'eight requests over two sockets');
    for (const [i, p] of paths.entries()) await assertOwnSpan(p, answers[i].seen);
  } finally {
    keepAlive.destroy();
  }
});

test('pipelined requests (three written at once on one socket): each listener sees its own request', async () => {
  const paths = ['/body/pipe-1', '/body/pipe-2', '/body/pipe-3'];
  const raw = await new Promise((resolve, reject) => {
    const socket = net.connect(app.port, '127.0.0.1', () => {
      socket.write(paths.map((p) => `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1:${app.port}\r\nContent-Length: 5\r\n\r\nhello`).join(''));
    });
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      got += d;
      if ((got.match(/HTTP\/1\.1 200/g) ?? []).length === paths.length && got.trimEnd().endsWith('}')) {
        socket.end();
        resolve(got);
      }
    });
    socket.on('error', reject);
  });
  const bodies = [...raw.matchAll(/\r\n\r\n(\{.*?\})(?=HTTP\/1\.1|$)/gs)].map((m) => JSON.parse(m[1]));
  assert.equal(bodies.length, paths.length, raw);
  const servers = [];
  for (const [i, p] of paths.entries()) servers.push((await assertOwnSpan(p, bodies[i])).server);
  assert.equal(new Set(servers.map((s) => s.trace_id)).size, paths.length, 'three traces');
});

test("a fetch made from inside req.on('end') is a child of the server span", async () => {
  const { seen } = await post(undefined, '/body/fetch-1?fetch=1', 20);
  assert.equal(seen.fetched, 'echo');
  await assertOwnSpan('/body/fetch-1', seen);
  const { server } = await spansOf('/body/fetch-1');
  let client;
  let echo;
  await agent.waitFor(() => {
    client = agent.allSpans().find((s) => s.name === 'http.request' && s.parent_id === server.span_id);
    echo = client && agent.allSpans().find((s) => s.meta['http.url'] === `${app.url}/echo` && s.parent_id === client.span_id);
    return echo !== undefined;
  }, 8000).catch(() => {
    throw new Error(`no fetch span under the server span; spans: ${agent.allSpans().map((s) => `${s.name}:${s.meta['http.url'] ?? ''}:${s.parent_id}`).join(', ')}`);
  });
  assert.equal(client.trace_id, server.trace_id);
  assert.equal(client.meta.component, 'fetch');
  assert.equal(client.meta['http.url'], `${app.url}/echo`);
  assert.equal(echo.trace_id, server.trace_id);
});

test("client side: the response callback, req 'response' and the response's 'data'/'end'/'close' run in the caller's context, over one reused socket (queued, then idle)", async () => {
  const res = await fetch(`${app.url}/client/1`);
  assert.equal(res.status, 200);
  const { checks, calls } = await res.json();
  assert.deepEqual(calls.map((c) => c.socket), [1, 1, 1, 1], 'four calls, one socket');
  assert.equal(calls[3].reused, true, 'the last call was given the idle socket');
  for (const what of ['response callback', "req 'response'", "res 'data'", "res 'end'", "res 'close'"]) {
    assert.deepEqual(checks[what], { right: 4, wrong: 0 }, what);
  }
});

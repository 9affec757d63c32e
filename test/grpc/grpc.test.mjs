// gRPC: real grpc-js servers and clients in traced child processes, all four call kinds,
// statuses, deadlines, cancellation, metadata propagation in each style, isolation under
// concurrency, and one trace across HTTP -> gRPC -> gRPC.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startService, devAgentModule, byTrace } from '../helpers/apps.mjs';

let agent;
const started = [];

after(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await agent.close();
});

async function start(env, file = 'grpc/member.cjs') {
  const s = await startService(file, { agentUrl: agent.url, env });
  started.push(s);
  return s;
}

/** A member server and an HTTP caller in separate processes. */
async function pair(tag, { stubs = 'proto', esm = false, env = {} } = {}) {
  const server = await start({ ROLE: 'server', STUBS: stubs, DD_SERVICE: `member-${tag}`, ...env }, esm ? 'grpc/member.mjs' : 'grpc/member.cjs');
  const caller = await start({ ROLE: 'caller', STUBS: stubs, DD_SERVICE: `caller-${tag}`, GRPC_TARGET: `127.0.0.1:${server.grpcPort ?? server.port}`, ...env });
  return { server, caller };
}

// node:http, not fetch: fetch gives up connecting after 10 s, which 100 calls at once to a
// service on a loaded core can take.
const call = (caller, body) =>
  new Promise((resolve, reject) => {
    const req = request(`${caller.url}/call`, { method: 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error(`${res.statusCode} from the caller: ${text}`));
        }
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
const spansOf = (service) => agent.allSpans().filter((s) => s.service === service);
const waitSpans = (service, pred, n = 1) => agent.waitFor(() => spansOf(service).filter(pred).length >= n, 30_000);

let p;
before(async () => {
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
  p = await pair('main');
});

test('unary: client and server spans with names, rpc tags, status, peer, parentage', async () => {
  const out = await call(p.caller, { kind: 'unary', member_no: '42' });
  assert.equal(out.value.name, 'Ada');
  await waitSpans('member-main', (s) => s.name === 'member.lookup');
  await waitSpans('caller-main', (s) => s.name === 'grpc.client');
  const server = spansOf('member-main').find((s) => s.name === 'grpc.server' && s.meta['rpc.method'] === 'GetMemberInfo');
  const client = spansOf('caller-main').find((s) => s.name === 'grpc.client' && s.span_id === server.parent_id);
  assert.ok(client, 'server span is a child of the client span');
  const lookup = spansOf('member-main').find((s) => s.name === 'member.lookup' && s.trace_id === server.trace_id);
  assert.equal(lookup.parent_id, server.span_id, 'a span made in the handler is a child of the server span');
  assert.equal(out.value.trace_note, server.span_id.toString(16).padStart(16, '0'), 'the handler ran inside the server span');
  for (const s of [server, client]) {
    assert.equal(s.resource, '/member.v1.MemberService/GetMemberInfo');
    assert.equal(s.meta['rpc.system'], 'grpc');
    assert.equal(s.meta['rpc.service'], 'member.v1.MemberService');
    assert.equal(s.meta['rpc.method'], 'GetMemberInfo');
    assert.equal(s.meta.component, 'grpc');
    assert.equal(s.metrics['grpc.status.code'], 0);
    assert.equal(s.error, 0);
  }
  assert.equal(server.meta['span.kind'], 'server');
  assert.equal(server.meta['grpc.method.kind'], 'unary');
  assert.equal(server.type, 'web');
  assert.equal(server.meta['network.peer.address'], '127.0.0.1');
  assert.equal(client.meta['span.kind'], 'client');
  assert.equal(client.type, 'http');
  assert.equal(client.meta['out.host'], '127.0.0.1');
  assert.equal(client.metrics['network.destination.port'], p.server.grpcPort);
  // The caller's HTTP server span is the client span's parent: one trace HTTP -> gRPC.
  const http = spansOf('caller-main').find((s) => s.span_id === client.parent_id);
  assert.equal(http.name, 'web.request');
  assert.equal(out.callbackSpan, out.callerSpan, 'the client callback runs in the caller context');
});

for (const [member, code, name, serverError] of [
  ['missing', 5, 'NOT_FOUND', 0],
  ['internal', 13, 'INTERNAL', 1],
  ['throw', 2, 'UNKNOWN', 1],
]) {
  test(`unary ${name}: status on both sides, error per side's rules`, async () => {
    const out = await call(p.caller, { kind: 'unary', member_no: member });
    assert.equal(out.error.code, code);
    await waitSpans('member-main', (s) => s.name === 'grpc.server' && s.metrics['grpc.status.code'] === code);
    await waitSpans('caller-main', (s) => s.name === 'grpc.client' && s.metrics['grpc.status.code'] === code);
    const server = spansOf('member-main').find((s) => s.name === 'grpc.server' && s.metrics['grpc.status.code'] === code);
    const client = spansOf('caller-main').find((s) => s.name === 'grpc.client' && s.metrics['grpc.status.code'] === code);
    assert.equal(server.error, serverError);
    assert.equal(client.error, 1, 'every non-OK status is a client error by default');
    assert.equal(client.meta['error.type'], name);
    assert.ok(client.meta['error.message'].length > 0);
    if (serverError) assert.equal(server.meta['error.type'], name);
  });
}

test('deadline exceeded is recorded on both sides', async () => {
  const out = await call(p.caller, { kind: 'unary', member_no: 'slow', deadlineMs: 100 });
  assert.equal(out.error.code, 4);
  await waitSpans('caller-main', (s) => s.metrics['grpc.status.code'] === 4);
  await waitSpans('member-main', (s) => s.name === 'grpc.server' && (s.metrics['grpc.status.code'] === 4 || s.metrics['grpc.status.code'] === 1));
  const client = spansOf('caller-main').find((s) => s.metrics['grpc.status.code'] === 4);
  assert.equal(client.meta['error.type'], 'DEADLINE_EXCEEDED');
  // The client span ends at the deadline (100 ms), not when the slow handler's work (a 400 ms
  // sleep in member.lookup) is done: shorter than that span of the same call, in the same run.
  await waitSpans('member-main', (s) => s.name === 'member.lookup' && s.trace_id === client.trace_id);
  const lookup = spansOf('member-main').find((s) => s.name === 'member.lookup' && s.trace_id === client.trace_id);
  assert.ok(client.duration < lookup.duration, `client ${Number(client.duration) / 1e6} ms, the handler's 400 ms sleep ${Number(lookup.duration) / 1e6} ms`);
});

test('client cancellation ends both spans exactly once', async () => {
  const before = spansOf('member-main').filter((s) => s.meta['rpc.method'] === 'ListVisits').length;
  const out = await call(p.caller, { kind: 'serverStream', member_no: 'forever', cancelAfterMs: 1 });
  assert.equal(out.error.code, 1);
  await waitSpans('caller-main', (s) => s.meta['rpc.method'] === 'ListVisits' && s.metrics['grpc.status.code'] === 1);
  await waitSpans('member-main', (s) => s.meta['rpc.method'] === 'ListVisits', before + 1);
  await new Promise((r) => setTimeout(r, 300));
  const servers = spansOf('member-main').filter((s) => s.meta['rpc.method'] === 'ListVisits');
  assert.equal(servers.length, before + 1, 'one server span, ended once');
  assert.equal(servers.at(-1).metrics['grpc.status.code'], 1);
});

test('server streaming: OK, and an error mid-stream', async () => {
  const ok = await call(p.caller, { kind: 'serverStream', member_no: 's1' });
  assert.equal(ok.items.length, 3);
  const failed = await call(p.caller, { kind: 'serverStream', member_no: 'fail' });
  assert.equal(failed.error.code, 15);
  await waitSpans('member-main', (s) => s.meta['rpc.method'] === 'ListVisits' && s.metrics['grpc.status.code'] === 15);
  const server = spansOf('member-main').find((s) => s.meta['rpc.method'] === 'ListVisits' && s.metrics['grpc.status.code'] === 15);
  assert.equal(server.meta['grpc.method.kind'], 'server_streaming');
  assert.equal(server.error, 1);
  assert.equal(server.meta['error.type'], 'DATA_LOSS');
  const okServer = spansOf('member-main').find((s) => s.meta['rpc.method'] === 'ListVisits' && s.metrics['grpc.status.code'] === 0);
  const hex = okServer.span_id.toString(16).padStart(16, '0');
  assert.ok(ok.items.every((v) => v.active_span === hex), 'timer callbacks in the handler see the server span');
  assert.equal(ok.endSpan, ok.callerSpan, "the client's stream events run in the caller context");
});

test('client streaming and bidi: stream events inside the server span', async () => {
  const up = await call(p.caller, { kind: 'clientStream', member_no: 'c1' });
  assert.equal(up.value.count, 4, 'every data event ran inside the span');
  const chat = await call(p.caller, { kind: 'bidi', member_no: 'b1' });
  assert.equal(chat.items.length, 3);
  await waitSpans('member-main', (s) => s.meta['rpc.method'] === 'Chat');
  const bidi = spansOf('member-main').find((s) => s.meta['rpc.method'] === 'Chat');
  assert.equal(bidi.meta['grpc.method.kind'], 'bidi_streaming');
  assert.ok(chat.items.every((v) => v.active_span === bidi.span_id.toString(16).padStart(16, '0')));
  const cs = spansOf('member-main').find((s) => s.meta['rpc.method'] === 'UploadVisits');
  assert.equal(cs.meta['grpc.method.kind'], 'client_streaming');
});

test('100 concurrent calls keep their contexts apart', async () => {
  const outs = await Promise.all(Array.from({ length: 100 }, (_, i) => call(p.caller, { kind: 'unary', member_no: `c${i}` })));
  assert.ok(outs.every((o) => o.value), `every call answered: ${JSON.stringify(outs.find((o) => !o.value))}`);
  const serverHex = () => new Map(spansOf('member-main').filter((s) => s.name === 'grpc.server').map((s) => [s.span_id.toString(16).padStart(16, '0'), s]));
  // The server span each handler saw has arrived, and the client span that is its parent (the
  // two services flush on their own schedules): counted by these calls' own ids, not by totals
  // that spans of earlier tests could meet.
  await agent.waitFor(() => {
    const have = serverHex();
    if (!outs.every((o) => have.has(o.value.trace_note))) return false;
    const clients = new Set(spansOf('caller-main').filter((s) => s.name === 'grpc.client').map((s) => s.span_id));
    return outs.every((o) => clients.has(have.get(o.value.trace_note).parent_id));
  }, 30_000);
  const servers = serverHex();
  for (const out of outs) {
    const server = servers.get(out.value.trace_note);
    assert.ok(server, `handler of ${out.value.member_no} saw its own span`);
    const client = spansOf('caller-main').find((s) => s.span_id === server.parent_id);
    assert.equal(client.trace_id, server.trace_id);
    assert.equal(spansOf('caller-main').find((s) => s.span_id === client.parent_id).name, 'web.request');
  }
  assert.equal(new Set(outs.map((o) => o.value.trace_note)).size, 100);
});

// The caller drops every trace by a rule (priority -1, user reject), a decision the server would
// never make itself (it would keep, 1): the server's priority shows what crossed the wire. b3
// carries only sampled or not, so there the server gets 0 (auto reject).
for (const [style, expected] of [
  ['datadog', -1],
  ['tracecontext', -1],
  ['b3', 0],
  ['b3multi', 0],
]) {
  test(`metadata propagation round-trips in the ${style} style, with the caller's sampling decision`, async () => {
    const server = await start({ ROLE: 'server', STUBS: 'proto', DD_SERVICE: `member-${style}`, DD_TRACE_PROPAGATION_STYLE: style });
    const caller = await start({ ROLE: 'caller', STUBS: 'proto', DD_SERVICE: `caller-${style}`, GRPC_TARGET: `127.0.0.1:${server.grpcPort ?? server.port}`, DD_TRACE_PROPAGATION_STYLE: style, DD_TRACE_SAMPLING_RULES: '[{"sample_rate":0}]' });
    await call(caller, { kind: 'unary', member_no: 'x' });
    await waitSpans(`member-${style}`, (s) => s.name === 'grpc.server');
    await waitSpans(`caller-${style}`, (s) => s.name === 'grpc.client');
    const got = spansOf(`member-${style}`).find((s) => s.name === 'grpc.server');
    const client = spansOf(`caller-${style}`).find((s) => s.name === 'grpc.client');
    assert.equal(got.trace_id, client.trace_id);
    assert.equal(got.parent_id, client.span_id);
    // The caller's decision sits on its local root (the HTTP server span), the server's on its own.
    const callerRoot = spansOf(`caller-${style}`).find((s) => s.span_id === client.parent_id);
    assert.equal(callerRoot.metrics._sampling_priority_v1, -1, 'the caller rejected the trace by its rule');
    assert.equal(got.metrics._sampling_priority_v1, expected, `the server took the caller's decision (${style})`);
  });
}

test('static stubs and an ESM server: HTTP -> gRPC -> gRPC is one trace', async () => {
  const leaf = await start({ ROLE: 'server', STUBS: 'static', DD_SERVICE: 'leaf' });
  const mid = await start({ ROLE: 'server', STUBS: 'static', DD_SERVICE: 'mid-esm', GRPC_TARGET: `127.0.0.1:${leaf.grpcPort}` }, 'grpc/member.mjs');
  const front = await start({ ROLE: 'caller', STUBS: 'static', DD_SERVICE: 'front', GRPC_TARGET: `127.0.0.1:${mid.grpcPort}` });
  const out = await call(front, { kind: 'unary', member_no: 'chain' });
  assert.ok(out.value, JSON.stringify(out) + mid.stderr());
  assert.match(out.value.trace_note, /^[0-9a-f]{16}>[0-9a-f]{16}$/);
  await agent.waitFor(
    () => spansOf('leaf').some((s) => s.name === 'grpc.server') && spansOf('mid-esm').some((s) => s.name === 'grpc.client') && spansOf('mid-esm').some((s) => s.name === 'grpc.server') && spansOf('front').some((s) => s.name === 'grpc.client') && spansOf('front').some((s) => s.name === 'web.request'),
    8000,
  );
  const trace = byTrace(agent.allSpans().filter((s) => ['front', 'mid-esm', 'leaf'].includes(s.service)));
  const spans = [...trace.values()].find((t) => t.some((s) => s.service === 'leaf'));
  const by = (service, name) => spans.find((s) => s.service === service && s.name === name);
  const chain = [by('front', 'web.request'), by('front', 'grpc.client'), by('mid-esm', 'grpc.server'), by('mid-esm', 'grpc.client'), by('leaf', 'grpc.server')];
  for (let i = 1; i < chain.length; i++) assert.equal(chain[i].parent_id, chain[i - 1].span_id, `${chain[i].service}/${chain[i].name}`);
  assert.equal(by('front', 'web.request').parent_id, 0n);
});

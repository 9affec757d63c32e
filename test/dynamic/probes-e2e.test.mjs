// Dynamic probes in real services (Fastify, gRPC, an ES module, TypeScript through its source
// map), defined by environment or by a watched file, checked at the dev agent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { startService, agentPool } from '../helpers/apps.mjs';
import { lineOf, waitForProbe, postJson, HAS_REGISTER_HOOKS } from './helpers.mjs';
import { until } from '../helpers/common.mjs';
// A time budget no scheduling pause of a busy CI machine reaches: these tests check what is
// captured; the budget itself has its own test (TRACEWELL_PROBE_BUDGET_MS=1).
const ROOMY = { TRACEWELL_PROBE_BUDGET_MS: '1000' };

const pool = agentPool();
after(() => pool.closeAll());

const FASTIFY = 'probes/fastify-members.cjs';

test('a probe from TRACEWELL_PROBES on the Fastify handler line puts the body on the span, member_no redacted', async () => {
  const agent = await pool.newAgent();
  const id = `${FASTIFY}:${lineOf(FASTIFY, '// probe: handler')} body`;
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES: id, TRACEWELL_REDACT: 'member_no' } });
  try {
    const { status } = await waitForProbe(svc, id, ['INSTALLED']);
    // Known before the service's modules load: the call is put in the source as it loads.
    assert.equal(status.technique, 'load-time');
    assert.match(status.installedAt, /fastify-members\.cjs:\d+:\d+$/);
    const res = await postJson(svc.url + '/members', { member_no: 'M-1001', plan: 'gold', apiKey: 'k-123' });
    assert.deepEqual(res.body, { ok: true, name: 'Ada', lookups: 1 });
    await svc.flush();
    await agent.waitFor((a) => a.allSpans().some((s) => s.meta.body !== undefined));
    const span = agent.allSpans().find((s) => s.meta.body !== undefined);
    assert.equal(span.resource, 'POST /members');
    assert.equal(span.meta.body, "{ member_no: '[redacted]', plan: 'gold', apiKey: '[redacted]' }");
    assert.equal(span.meta['_dd.di.body.probe_id'], id);
    const { stats } = await waitForProbe(svc, id, ['EMITTING']);
    assert.equal(stats.probes.hits, 1);
    assert.equal(stats.probes.redacted, 2);
    // The agent saw the statuses too.
    await agent.waitFor((a) => a.probeDiagnostics.some((d) => d.probeId === id && d.status === 'EMITTING'));
    assert.deepEqual([...new Set(agent.probeDiagnostics.filter((d) => d.probeId === id).map((d) => d.status))].filter((s) => s !== 'RECEIVED'), ['INSTALLED', 'EMITTING']);
  } finally {
    await svc.stop();
  }
});

test('the gRPC member service: a JSON probe on the handler line puts the request on the grpc.server span', async () => {
  const agent = await pool.newAgent();
  const line = lineOf('grpc/member.cjs', 'grpc', { text: 'const no = call.request.member_no;' });
  const probe = { id: 'grpc-request', version: 2, type: 'SPAN_DECORATION_PROBE', where: { sourceFile: 'grpc/member.cjs', lines: [String(line)] }, decorations: [{ tags: [{ name: 'request', value: { segments: [{ json: { getmember: [{ ref: 'call' }, 'request'] }, dsl: 'call.request' }] } }] }] };
  const svc = await startService('probes/grpc-member.cjs', { agentUrl: agent.url, env: { ...ROOMY, ROLE: 'both', TRACEWELL_PROBES: JSON.stringify([probe]), TRACEWELL_REDACT: 'member_no' } });
  try {
    await waitForProbe(svc, 'grpc-request', ['INSTALLED']);
    const res = await postJson(svc.url + '/call', { kind: 'unary', member_no: 'M-7' });
    assert.equal(res.body.value.member_no, 'M-7', JSON.stringify(res.body));
    await svc.flush();
    await agent.waitFor((a) => a.allSpans().some((s) => s.name === 'grpc.server' && s.meta.request !== undefined));
    const span = agent.allSpans().find((s) => s.name === 'grpc.server');
    assert.equal(span.resource, '/member.v1.MemberService/GetMemberInfo');
    assert.equal(span.meta.request, "{ member_no: '[redacted]' }");
    assert.equal(span.meta['_dd.di.request.probe_id'], 'grpc-request');
  } finally {
    await svc.stop();
  }
});

test('an ES module: a log probe sends snapshots with the trace and span ids, one per second per probe', async () => {
  const agent = await pool.newAgent();
  const line = lineOf('probes/members.mjs', '// probe: esm');
  const id = `log probes/members.mjs:${line} member {member.name} on {member.plan}`;
  const svc = await startService('probes/members.mjs', { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES: id, TRACEWELL_REDACT: 'member_no' } });
  try {
    const { status: installed } = await waitForProbe(svc, id, ['INSTALLED']);
    // The service's main module: placed as it loads where module hooks exist, else by live edit once loaded.
    assert.equal(installed.technique, HAS_REGISTER_HOOKS ? 'load-time' : 'live-edit');
    const answers = [];
    const started = Date.now();
    for (let i = 0; i < 5; i++) answers.push((await postJson(svc.url, { name: 'Ada', plan: 'gold', member_no: 'M-1', password: 'pw' })).body.label);
    // 1 per second, no burst: one snapshot, plus one per full second the five requests took.
    const allowed = 1 + Math.floor((Date.now() - started) / 1000);
    assert.deepEqual(new Set(answers), new Set(['Ada (gold)']));
    await svc.flush();
    await agent.waitFor((a) => a.snapshots.length >= 1 && a.allSpans().length >= 5);
    const { stats } = await waitForProbe(svc, id, ['EMITTING']);
    const status = stats.probes.statuses[0];
    const sent = status.emitted;
    assert.ok(sent >= 1 && sent <= allowed, `${sent} snapshots for 5 hits, at most ${allowed} allowed`);
    assert.equal(status.hits, 5);
    assert.equal(status.rateLimited, 5 - sent);
    await agent.waitFor((a) => a.snapshots.length === sent);
    const snap = agent.snapshots[0];
    assert.equal(snap.message, 'member Ada on gold');
    assert.equal(snap.ddsource, 'dd_debugger');
    assert.equal(snap.service, 'fixture');
    assert.equal(snap.debugger.snapshot.probe.id, id);
    const captured = snap.debugger.snapshot.captures.lines[String(line)];
    assert.deepEqual(Object.keys(captured.arguments), ['member']);
    assert.equal(captured.arguments.member.fields.name.value, 'Ada');
    assert.equal(captured.arguments.member.fields.member_no.notCapturedReason, 'redactedIdent');
    assert.equal(captured.arguments.member.fields.password.notCapturedReason, 'redactedIdent');
    // The snapshot belongs to the request's server span.
    const span = agent.allSpans().find((s) => s.span_id.toString() === snap.dd.span_id);
    assert.ok(span, `a span with id ${snap.dd.span_id}`);
    assert.equal(span.trace_id.toString(), snap.dd.trace_id);
    assert.equal(span.name, 'web.request');
    // A second later the probe may send again.
    await new Promise((r) => setTimeout(r, 1100));
    await postJson(svc.url, { name: 'Bob', plan: 'free' });
    await agent.waitFor((a) => a.snapshots.length === sent + 1);
    assert.equal(agent.snapshots[sent].message, 'member Bob on free');
  } finally {
    await svc.stop();
  }
});

test('metric probes: a count and a gauge reach DogStatsD over UDP', async () => {
  const agent = await pool.newAgent();
  const udp = createSocket('udp4');
  const lines = [];
  udp.on('message', (m) => lines.push(...m.toString().split('\n')));
  await new Promise((r) => udp.bind(0, '127.0.0.1', r));
  const line = lineOf(FASTIFY, '// probe: lookup');
  const probes = [`count ${FASTIFY}:${line} members.lookups`, `gauge ${FASTIFY}:${line} members.no_length len(memberNo)`, `histogram ${FASTIFY}:${line} members.bad memberNo.nothing.here`].join(';');
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES: probes, TRACEWELL_DOGSTATSD_URL: `udp://127.0.0.1:${udp.address().port}` } });
  try {
    await waitForProbe(svc, `count ${FASTIFY}:${line} members.lookups`, ['INSTALLED']);
    await postJson(svc.url + '/members', { member_no: 'M-1001' });
    await postJson(svc.url + '/members', { member_no: 'M-22' });
    // Counts are sent per interval as deltas: the two hits may come in one packet or two.
    const count = () => lines.filter((l) => l.startsWith('members.lookups:')).reduce((sum, l) => sum + Number(/^members\.lookups:(\d+)\|c\|#/.exec(l)[1]), 0);
    await until(() => count() >= 2 && lines.filter((l) => l.startsWith('members.no_length:')).length >= 1, 'the count and the gauge', 10_000, 25).catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(count(), 2);
    const gauge = lines.filter((l) => l.startsWith('members.no_length:')).at(-1);
    assert.match(gauge, /^members\.no_length:4\|g\|#service:fixture,env:test,.*probe_id:gauge_/);
    assert.equal(lines.filter((l) => l.startsWith('members.bad')).length, 0);
    const { status } = await waitForProbe(svc, `histogram ${FASTIFY}:${line} members.bad memberNo.nothing.here`, ['INSTALLED']);
    assert.equal(status.evaluationErrors, 2);
    assert.match(status.lastEvaluationError, /strings have no member "nothing"/);
  } finally {
    await svc.stop();
    udp.close();
  }
});

test('a probe that overruns its time budget is turned off with an ERROR status; the app carries on', async () => {
  const agent = await pool.newAgent();
  const line = lineOf(FASTIFY, '// probe: hostile');
  const id = `${FASTIFY}:${line} value`;
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { TRACEWELL_PROBES: id, TRACEWELL_PROBE_BUDGET_MS: '1', TRACEWELL_REDACT: '' } });
  try {
    await waitForProbe(svc, id, ['INSTALLED']);
    // Each capture of the 1e5-key object enumerates its keys: far over 1 ms.
    for (let i = 0; i < 4; i++) assert.deepEqual(await fetch(`${svc.url}/hostile/huge`).then((r) => r.json()), { seen: 'object', appCodeRuns: 0 });
    const { status } = await waitForProbe(svc, id, ['ERROR']);
    assert.equal(status.errorType, 'Overrun');
    assert.match(status.message, /over the 1 ms budget; the probe is off/);
    assert.equal(status.hits, 3, 'off after the third slow hit in a row');
    assert.match(svc.stderr(), /TW_PROBE_ERROR\] probe .* ERROR \(Overrun\)/);
  } finally {
    await svc.stop();
  }
});

test('a probe on an ES module imported later waits, then is installed once the module has loaded', async () => {
  const agent = await pool.newAgent();
  const id = `probes/later-esm.mjs:${lineOf('probes/later-esm.mjs', '// probe: later-esm')} n`;
  const svc = await startService('probes/members.mjs', { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES: id } });
  try {
    assert.match((await waitForProbe(svc, id, ['RECEIVED'])).status.message, /waiting for probes\/later-esm\.mjs to load/);
    assert.deepEqual(await fetch(svc.url + '/later-esm/4').then((r) => r.json()), { double: 8 });
    // Node 22.15+, 24, 26: placed in its source as it loads (a module.registerHooks load hook),
    // so the call right after the import is seen; Node 20: at the next timed re-check (up to 5 s here).
    const { status } = await waitForProbe(svc, id, ['INSTALLED', 'EMITTING'], 15_000);
    assert.equal(status.technique, HAS_REGISTER_HOOKS ? 'load-time' : 'live-edit');
    assert.deepEqual(await fetch(svc.url + '/later-esm/21').then((r) => r.json()), { double: 42 });
    await svc.flush();
    await agent.waitFor((a) => a.allSpans().some((s) => s.meta.n === '21'));
    if (HAS_REGISTER_HOOKS) assert.ok(agent.allSpans().some((s) => s.meta.n === '4'), 'the first call, in the tick of the import, is seen');
  } finally {
    await svc.stop();
  }
});

test('load time: a call that would not compile where a probe asks for it is left out (ERROR), the module loads as written; an ES module top-level line is probed where module hooks exist', async () => {
  const agent = await pool.newAgent();
  const top = `log probes/shapes.mjs:${lineOf('probes/shapes.mjs', 'top-level-esm')} sides {sides.square}`;
  const cjs = `probes/shapes.cjs:${lineOf('probes/shapes.cjs', 'literal-cjs')} kind`;
  const esm = `probes/shapes.mjs:${lineOf('probes/shapes.mjs', 'literal-esm')} kind`;
  const svc = await startService('probes/shapes-service.mjs', { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES: [top, cjs, esm].join(';') } });
  try {
    // Inside an object literal: our scope reading takes `{` for a block, V8 does not. Checked
    // before compiling (load time) or refused by V8 (live edit, ES modules on Node 20).
    const { status: c } = await waitForProbe(svc, cjs, ['ERROR']);
    assert.equal(c.errorType, 'NoStatement');
    assert.match(c.message, /^the call would not compile at this line \(SyntaxError: .*\); the module loads without it$/);
    const { status: e } = await waitForProbe(svc, esm, ['ERROR']);
    assert.equal(e.errorType, 'NoStatement');
    assert.match(e.message, HAS_REGISTER_HOOKS ? /^the call would not compile at this line \(SyntaxError: .*\); the module loads without it$/ : /^V8 did not accept the edit/);
    assert.deepEqual(await fetch(svc.url).then((r) => r.json()), { esm: { kind: 'square', sides: 4 }, cjs: { kind: 'triangle', sides: 3 }, ready: 2 });
    if (HAS_REGISTER_HOOKS) {
      // Its one run, as the module was evaluated, was seen.
      const { status } = await waitForProbe(svc, top, ['EMITTING']);
      assert.equal(status.technique, 'load-time');
      assert.equal(status.hits, 1);
      await svc.flush();
      await agent.waitFor((a) => a.snapshots.length >= 1);
      assert.equal(agent.snapshots[0].message, 'sides 4');
    } else {
      // Node 20: found loaded, and V8 refuses to edit a module's top-level code.
      const { status } = await waitForProbe(svc, top, ['ERROR']);
      assert.equal(status.errorType, 'BlockedByTopLevelEsModuleChange');
    }
  } finally {
    await svc.stop();
  }
});

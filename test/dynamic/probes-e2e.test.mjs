// Dynamic probes in real services (Fastify, gRPC, an ES module, TypeScript through its source
// map), defined by environment or by a watched file, checked at the dev agent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService, agentPool } from '../helpers/apps.mjs';
import { lineOf, waitForProbe, postJson } from './helpers.mjs';

const pool = agentPool();
after(() => pool.closeAll());

const FASTIFY = 'probes/fastify-members.cjs';

test('a probe from TRACEWELL_PROBES on the Fastify handler line puts the body on the span, member_no redacted', async () => {
  const agent = await pool.newAgent();
  const id = `${FASTIFY}:${lineOf(FASTIFY, 'handler')} body`;
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { TRACEWELL_PROBES: id, TRACEWELL_REDACT: 'member_no' } });
  try {
    const { status } = await waitForProbe(svc, id, ['INSTALLED']);
    assert.equal(status.technique, 'live-edit');
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
  const svc = await startService('probes/grpc-member.cjs', { agentUrl: agent.url, env: { ROLE: 'both', TRACEWELL_PROBES: JSON.stringify([probe]), TRACEWELL_REDACT: 'member_no' } });
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

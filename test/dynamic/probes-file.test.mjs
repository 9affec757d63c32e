// Probes from a watched file (added, changed, removed at run time), bad definitions, a module
// loaded later, a TypeScript line, and hostile values.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService, agentPool } from '../helpers/apps.mjs';
import { lineOf, waitForProbe, waitUntil, postJson, compileTs, HAS_LIVE_EDIT } from './helpers.mjs';
import { root, until } from '../helpers/common.mjs';
// A time budget no scheduling pause of a busy CI machine reaches: these tests check what is
// captured; the budget itself has its own test (TRACEWELL_PROBE_BUDGET_MS=1).
const ROOMY = { TRACEWELL_PROBE_BUDGET_MS: '1000' };

const pool = agentPool();
after(() => pool.closeAll());
const FASTIFY = 'probes/fastify-members.cjs';
const tmp = mkdtempSync(join(tmpdir(), 'tw-probes-'));

/** Replaces the file the way editors and config tools do: write aside, then rename over it. */
function writeAtomically(file, text) {
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
}

const decoration = (id, line, tag, expr) => ({ id, version: 1, type: 'SPAN_DECORATION_PROBE', where: { sourceFile: FASTIFY, lines: [line] }, decorations: [{ tags: [{ name: tag, value: { segments: [{ dsl: expr }] } }] }] });

/** The POST /members span of one request, with the tags probes put on it. */
function members(svc, agent) {
  return async (memberNo) => {
    agent.reset();
    await postJson(svc.url + '/members', { member_no: memberNo });
    await svc.flush();
    await agent.waitFor((a) => a.allSpans().some((s) => s.resource === 'POST /members'));
    return agent.allSpans().find((s) => s.resource === 'POST /members');
  };
}

/** Waits until probe `id` has `version` and one of `statuses`. */
function waitForVersion(svc, id, version, statuses) {
  return waitUntil(async () => {
    const stats = await svc.stats();
    const status = stats.probes.statuses.find((s) => s.id === id && s.version === version && statuses.includes(s.status));
    return status && { stats, status };
  }, `probe ${id} version ${version} ${statuses.join('/')}`);
}

const NO_LIVE_EDIT = new RegExp(`cannot change code that has loaded \\(V8 no longer has live edit\\)`);

test('a probe file: a probe added, changed and removed at run time, without a restart (live edit); on Node 26 a clear ERROR, and the probe is placed at the next start', async () => {
  const agent = await pool.newAgent();
  const file = join(tmp, 'probes.json');
  writeFileSync(file, '[]');
  const line = lineOf(FASTIFY, 'lookup');
  const handler = lineOf(FASTIFY, 'handler');
  let svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES_FILE: file, TRACEWELL_REDACT: 'member_no' } });
  try {
    const spanOf = members(svc, agent);
    writeAtomically(file, JSON.stringify([decoration('p1', handler, 'body', 'body')]));
    if (HAS_LIVE_EDIT) {
      const { status } = await waitForProbe(svc, 'p1', ['INSTALLED']);
      assert.equal(status.technique, 'live-edit');
      assert.equal((await spanOf('M-1001')).meta.body, "{ member_no: '[redacted]' }");
    } else {
      // The module was loaded before the probe existed, and V8 in Node 26 cannot change loaded code.
      const { status } = await waitForProbe(svc, 'p1', ['ERROR']);
      assert.equal(status.errorType, 'LoadedBeforeProbe');
      assert.match(status.message, /^\/.*\/fastify-members\.cjs was loaded before this probe was defined, and Node 26\.\d+\.\d+ cannot change code that has loaded \(V8 no longer has live edit\); the probe is placed when the file loads at the next start$/);
      assert.ok(svc.stderr().includes(`[TW_PROBE_ERROR] probe p1 (${FASTIFY}:${handler}) ERROR (LoadedBeforeProbe): ${status.message}`), svc.stderr());
      assert.equal((await spanOf('M-1001')).meta.body, undefined);
    }

    writeAtomically(file, JSON.stringify([{ ...decoration('p1', line, 'length', 'len(memberNo)'), version: 2 }]));
    if (HAS_LIVE_EDIT) {
      await waitForVersion(svc, 'p1', 2, ['INSTALLED']);
      const changed = await spanOf('M-1001');
      assert.equal(changed.meta.length, '6');
      assert.equal(changed.meta.body, undefined);
    } else {
      const { status } = await waitForVersion(svc, 'p1', 2, ['ERROR']);
      assert.equal(status.errorType, 'LoadedBeforeProbe');
      assert.equal((await spanOf('M-1001')).meta.length, undefined);
      // Placed at the next start: the file is read before the service's modules load.
      await svc.stop();
      svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES_FILE: file, TRACEWELL_REDACT: 'member_no' } });
      const restarted = await waitForVersion(svc, 'p1', 2, ['INSTALLED']);
      assert.equal(restarted.status.technique, 'load-time');
      assert.equal((await members(svc, agent)('M-1001')).meta.length, '6');
    }

    writeAtomically(file, '[]');
    await waitUntil(async () => (await svc.stats()).probes.statuses.length === 0, 'the probe to be removed');
    const removed = await members(svc, agent)('M-1001');
    assert.equal(removed.meta.length, undefined);
    assert.equal(removed.meta['_dd.di.length.probe_id'], undefined);

    // A probe added at run time on a module not loaded yet: placed as it loads, on every line.
    const later = `probes/later.cjs:${lineOf('probes/later.cjs', 'later')} items`;
    writeAtomically(file, later + '\n');
    assert.match((await waitForProbe(svc, later, ['RECEIVED'])).status.message, /waiting for probes\/later\.cjs to load/);
    agent.reset();
    assert.deepEqual(await fetch(svc.url + '/later').then((r) => r.json()), { total: 6 });
    assert.equal((await waitForProbe(svc, later, ['INSTALLED', 'EMITTING'])).status.technique, 'load-time');
    await svc.flush();
    await agent.waitFor((a) => a.allSpans().some((s) => s.resource === 'GET /later' && s.meta.items === '[ 0, 2, 4 ]'));
  } finally {
    await svc.stop();
  }
});

test('probes in the file at start are placed at load time; changed on the same line they take the call already there at once; removed, they stop at once', async () => {
  const agent = await pool.newAgent();
  const file = join(tmp, 'at-start.json');
  const handler = lineOf(FASTIFY, 'handler');
  const lookup = lineOf(FASTIFY, 'lookup');
  writeFileSync(file, JSON.stringify([decoration('p2', handler, 'body', 'body'), decoration('gone', lookup, 'member', 'memberNo')]));
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES_FILE: file } });
  const spanOf = members(svc, agent);
  const probed = () => fetch(svc.url + '/probed').then((r) => r.json());
  try {
    for (const id of ['p2', 'gone']) {
      const { status } = await waitForProbe(svc, id, ['INSTALLED']);
      assert.equal(status.technique, 'load-time', id);
      assert.match(status.message, /^placed at load time in \/.*fastify-members\.cjs:\d+:\d+, capturing /, id);
    }
    const first = await spanOf('M-1001');
    assert.equal(first.meta.body, "{ member_no: 'M-1001' }");
    assert.equal(first.meta.member, 'M-1001');
    assert.deepEqual(await probed(), { lookup: true });

    // Changed, on the same line, reading only what its call passes (body): bound to that call, no code change.
    writeAtomically(file, JSON.stringify([{ ...decoration('p2', handler, 'plan', 'body.plan'), version: 2 }, decoration('gone', lookup, 'member', 'memberNo')]));
    const { status: bound } = await waitForVersion(svc, 'p2', 2, ['INSTALLED']);
    assert.equal(bound.technique, 'load-time');
    assert.match(bound.message, /^bound to the call placed at load time at \/.*fastify-members\.cjs:\d+:\d+, capturing body$/);
    const changed = await postJson(svc.url + '/members', { member_no: 'M-1001', plan: 'gold' }).then(async () => {
      await svc.flush();
      await agent.waitFor((a) => a.allSpans().some((s) => s.meta.plan !== undefined));
      return agent.allSpans().find((s) => s.meta.plan !== undefined);
    });
    assert.equal(changed.meta.plan, 'gold');
    assert.equal(changed.meta.body, undefined);

    // Removed: off as soon as the file is read. Node 20-24 take the call out by live edit;
    // Node 26 cannot, and leaves it in place, inert (it returns at once), until a restart.
    writeAtomically(file, JSON.stringify([{ ...decoration('p2', handler, 'plan', 'body.plan'), version: 2 }]));
    await waitUntil(async () => (await svc.stats()).probes.statuses.length === 1, 'the probe to be removed');
    const after = await spanOf('M-1001');
    assert.equal(after.meta.member, undefined);
    assert.equal(after.meta['_dd.di.member.probe_id'], undefined);
    assert.deepEqual(await probed(), { lookup: !HAS_LIVE_EDIT });

    // Defined again: on Node 26 it takes its inert call back at once; elsewhere a new one by live edit.
    writeAtomically(file, JSON.stringify([{ ...decoration('p2', handler, 'plan', 'body.plan'), version: 2 }, decoration('gone', lookup, 'member', 'memberNo')]));
    const { status: again } = await waitForProbe(svc, 'gone', ['INSTALLED']);
    assert.equal(again.technique, HAS_LIVE_EDIT ? 'live-edit' : 'load-time');
    assert.equal((await spanOf('M-1001')).meta.member, 'M-1001');

    // Changed to read a name its call does not pass (request): a new call by live edit, or on Node 26 a clear ERROR.
    writeAtomically(file, JSON.stringify([{ ...decoration('p2', handler, 'no', 'request.body.member_no'), version: 3 }, decoration('gone', lookup, 'member', 'memberNo')]));
    if (HAS_LIVE_EDIT) {
      const { status } = await waitForVersion(svc, 'p2', 3, ['INSTALLED']);
      assert.equal(status.technique, 'live-edit');
      assert.equal((await spanOf('M-1001')).meta.no, 'M-1001');
    } else {
      const { status } = await waitForVersion(svc, 'p2', 3, ['ERROR']);
      assert.equal(status.errorType, 'LoadedBeforeProbe');
      assert.match(status.message, /^the call placed in \/.*fastify-members\.cjs when it loaded passes body; this version of the probe also reads request, and Node 26\.\d+\.\d+ cannot change code that has loaded \(V8 no longer has live edit\); this version is placed when the file loads at the next start$/);
      assert.match(status.message, NO_LIVE_EDIT);
      assert.equal((await spanOf('M-1001')).meta.no, undefined);
    }
  } finally {
    await svc.stop();
  }
});

test('each kind of bad definition gets its own ERROR status; the good probes beside them (a line, a class method) run', async () => {
  const agent = await pool.newAgent();
  const file = join(tmp, 'broken.json');
  writeFileSync(file, '[{"id": "oops",');
  const lookup = lineOf(FASTIFY, '// probe: lookup');
  const blank = readFileSync(join(root, 'test/fixtures', FASTIFY), 'utf8').split('\n').findIndex((l) => l.trim() === '') + 1;
  const comment = 1;
  const text = readFileSync(join(root, 'test/fixtures', FASTIFY), 'utf8');
  const fileLines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  const probes = [
    decoration('good', lookup, 'member', 'memberNo'),
    decoration('unknown-file', 3, 'x', 'x'),
    decoration('blank-line', blank, 'x', 'memberNo'),
    decoration('comment-line', comment, 'x', 'memberNo'),
    decoration('bad-expr', lookup, 'x', 'memberNo =='),
    { id: 'no-type', where: { sourceFile: FASTIFY, lines: [lookup] } },
    { ...decoration('method', 0, 'store.member', 'memberNo'), where: { sourceFile: FASTIFY, typeName: 'MemberStore', methodName: 'find' } },
    { ...decoration('unknown-method', 0, 'x', 'x'), where: { sourceFile: FASTIFY, typeName: 'MemberStore', methodName: 'remove' } },
    decoration('declared-on-the-line', lookup, 'found', 'found'),
    decoration('not-declared', lookup, 'x', 'nosuch.thing'),
    decoration('past-end', fileLines + 1, 'x', 'memberNo'),
    decoration('far-past-end', fileLines + 20, 'x', 'memberNo'),
  ];
  probes[1].where.sourceFile = 'no/such/file.js';
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES: JSON.stringify(probes), TRACEWELL_PROBES_FILE: file } });
  try {
    await waitForProbe(svc, 'good', ['INSTALLED']);
    const { stats } = await waitForProbe(svc, 'blank-line', ['ERROR']);
    const by = Object.fromEntries(stats.probes.statuses.map((s) => [s.id, s]));
    assert.equal(by['unknown-file'].errorType, 'UnknownFile');
    assert.match(by['unknown-file'].message, /no loaded script and no file .* ends with "no\/such\/file\.js"/);
    assert.equal(by['blank-line'].errorType, 'NoCode');
    // The status says why; the probe and its location are fields of their own.
    assert.equal(by['blank-line'].message, `line ${blank} has no code (blank or a comment)`);
    assert.equal(by['blank-line'].location, `${FASTIFY}:${blank}`);
    assert.equal(by['comment-line'].errorType, 'NoCode');
    // The file ends with a new line: that is the end of its last line, not a line of its own.
    for (const [id, line] of [['past-end', fileLines + 1], ['far-past-end', fileLines + 20]]) {
      const { status } = await waitForProbe(svc, id, ['ERROR']);
      assert.equal(status.errorType, 'NoCode', id);
      assert.match(status.message, new RegExp(`line ${line} is past the end of the file \\(${fileLines} lines\\)$`), id);
    }
    assert.equal(by['bad-expr'].errorType, 'BadExpression');
    assert.match(by['bad-expr'].message, /memberNo ==.*ends too early/);
    assert.equal(by['no-type'].errorType, 'BadDefinition');
    assert.equal(by['unknown-method'].errorType, 'UnknownMethod');
    assert.match(by['unknown-method'].message, /no method MemberStore\.remove in .*fastify-members\.cjs/);
    assert.equal(by.method.location, `${FASTIFY}#MemberStore.find`);
    assert.match(by.method.installedAt, /fastify-members\.cjs:\d+:5$/);
    const fileError = stats.probes.statuses.find((s) => s.errorType === 'BadJson');
    assert.match(fileError.message, /^not valid JSON: /);
    assert.equal(fileError.location, file);
    assert.ok(stats.probes.errors >= 6);
    // The log line names the probe once, with its location, then why.
    const errorLines = svc.stderr().split('\n').filter((l) => l.includes('[TW_PROBE_ERROR] probe '));
    assert.ok(errorLines.includes(`tracewell warn: [TW_PROBE_ERROR] probe blank-line (${FASTIFY}:${blank}) ERROR (NoCode): line ${blank} has no code (blank or a comment)`), errorLines.join('\n'));
    assert.ok(errorLines.some((l) => /^tracewell warn: \[TW_PROBE_ERROR\] probe no-type \(TRACEWELL_PROBES\) ERROR \(BadDefinition\): "type" must be /.test(l)), errorLines.join('\n'));
    for (const l of errorLines) {
      const id = /probe (\S+)/.exec(l)[1];
      assert.equal(l.split(id).length - 1, 1, `"${id}" once in: ${l}`);
    }
    assert.equal((await postJson(svc.url + '/members', { member_no: 'M-1001' })).body.name, 'Ada');
    await svc.flush();
    await agent.waitFor((a) => a.allSpans().some((s) => s.meta.member === 'M-1001' && s.meta['store.member'] === 'M-1001'));
    // Names that cannot be read at the line fail on the first hit: those probes are taken out.
    const tdz = (await waitForProbe(svc, 'declared-on-the-line', ['ERROR'])).status;
    assert.equal(tdz.errorType, 'NotInScope');
    assert.match(tdz.message, /Cannot access 'found' before initialization at this line \(a probe runs before its line/);
    const undeclared = (await waitForProbe(svc, 'not-declared', ['ERROR'])).status;
    assert.match(undeclared.message, /nosuch is not defined at this line/);
    assert.equal(undeclared.hits, 1);
    assert.equal((await postJson(svc.url + '/members', { member_no: 'M-1001' })).body.name, 'Ada');
    assert.equal((await svc.stats()).probes.statuses.find((s) => s.id === 'not-declared').hits, 1, 'taken out: no more hits');
    await agent.waitFor((a) => a.probeDiagnostics.some((d) => d.probeId === 'unknown-file' && d.status === 'ERROR' && d.exception?.type === 'UnknownFile'));
  } finally {
    await svc.stop();
  }
});

test('compact probes that cannot be installed or read: each ERROR line names the probe once, then why', async () => {
  const agent = await pool.newAgent();
  const text = readFileSync(join(root, 'test/fixtures', FASTIFY), 'utf8');
  const blank = text.split('\n').findIndex((l) => l.trim() === '') + 1;
  const past = text.split('\n').length + 5;
  const defs = [`${FASTIFY}:${blank} memberNo`, `${FASTIFY}:${past} memberNo`, 'nope', `${FASTIFY}:${blank}`];
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES: defs.join('; ') } });
  try {
    for (const id of defs) await waitForProbe(svc, id, ['ERROR']);
    const errorLines = svc.stderr().split('\n').filter((l) => l.includes('[TW_PROBE_ERROR] probe '));
    const expected = [
      `probe ${defs[0]} ERROR (NoCode): line ${blank} has no code (blank or a comment)`,
      `probe ${defs[1]} ERROR (NoCode): line ${past} is past the end of the file (${past - 6} lines)`,
      `probe nope (TRACEWELL_PROBES) ERROR (BadDefinition): expected "[log|count|gauge|histogram] file:line ..." (e.g. "src/member.ts:42 request")`,
      `probe ${defs[3]} (TRACEWELL_PROBES) ERROR (BadDefinition): name what to put on the span, e.g. "${defs[3]} request"`,
    ];
    for (const e of expected) assert.ok(errorLines.includes(`tracewell warn: [TW_PROBE_ERROR] ${e}`), `${e}\nnot in:\n${errorLines.join('\n')}`);
  } finally {
    await svc.stop();
  }
});

test('a probe on a module loaded later waits (RECEIVED), then catches the first call after the load', async () => {
  const agent = await pool.newAgent();
  const id = `probes/later.cjs:${lineOf('probes/later.cjs', '// probe: later')} items`;
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES: id } });
  try {
    const { status } = await waitForProbe(svc, id, ['RECEIVED']);
    assert.match(status.message, /waiting for probes\/later\.cjs to load/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await waitForProbe(svc, id, ['RECEIVED'])).status.status, 'RECEIVED');
    const res = await fetch(svc.url + '/later').then((r) => r.json());
    assert.deepEqual(res, { total: 6 });
    await svc.flush();
    await agent.waitFor((a) => a.allSpans().some((s) => s.resource === 'GET /later' && s.meta.items !== undefined));
    assert.equal(agent.allSpans().find((s) => s.resource === 'GET /later').meta.items, '[ 0, 2, 4 ]');
  } finally {
    await svc.stop();
  }
});

test('a probe on a TypeScript line is placed through the source map', async () => {
  const agent = await pool.newAgent();
  const dir = mkdtempSync(join(tmp, 'ts-'));
  writeFileSync(join(dir, 'pricing.ts'), readFileSync(join(root, 'test/fixtures/probes/pricing.ts')));
  compileTs(join(dir, 'pricing.ts'), join(dir, 'dist'), { target: 'ES2019' });
  const line = lineOf('probes/pricing.ts', '// probe: ts');
  const probe = { id: 'ts-probe', type: 'SPAN_DECORATION_PROBE', where: { sourceFile: 'pricing.ts', lines: [line] }, decorations: [{ tags: [{ name: 'subtotal', value: { template: '{subtotal}' } }, { name: 'member', value: { template: 'member {order.member_no}' } }] }] };
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TS_MODULE: join(dir, 'dist', 'pricing.js'), TRACEWELL_PROBES: JSON.stringify(probe) } });
  try {
    const { status } = await waitForProbe(svc, 'ts-probe', ['INSTALLED']);
    // The compiled file is required at start: its source map is read from its text as it loads.
    assert.equal(status.technique, 'load-time');
    assert.match(status.installedAt, /dist\/pricing\.js:\d+:\d+$/);
    assert.match(status.message, new RegExp(`pricing\\.ts:${line} through its source map`));
    const res = await postJson(svc.url + '/ts', { member_no: 'M-3', items: [{ sku: 'a', price: 80 }, { sku: 'b', price: 40 }] });
    assert.equal(res.body.result, 110);
    await svc.flush();
    await agent.waitFor((a) => a.allSpans().some((s) => s.meta.subtotal !== undefined));
    const span = agent.allSpans().find((s) => s.meta.subtotal !== undefined);
    assert.equal(span.meta.subtotal, '120');
    assert.equal(span.meta.member, 'member M-3');
  } finally {
    await svc.stop();
  }
});

test('hostile values (throwing getters, a Proxy, cycles, 1e5 keys) never reach the app; the snapshot says what was not read', async () => {
  const agent = await pool.newAgent();
  const line = lineOf(FASTIFY, '// probe: hostile');
  const probe = { id: 'hostile', type: 'LOG_PROBE', where: { sourceFile: FASTIFY, lines: [line] }, template: 'value {value}', captureSnapshot: true, sampling: { snapshotsPerSecond: 100 } };
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { TRACEWELL_PROBES: JSON.stringify([probe]), TRACEWELL_PROBE_BUDGET_MS: '10000' } });
  try {
    await waitForProbe(svc, 'hostile', ['INSTALLED']);
    for (const kind of ['getter', 'proxy', 'cycle', 'huge']) {
      const r = await fetch(`${svc.url}/hostile/${kind}`);
      assert.equal(r.status, 200, kind);
      assert.deepEqual(await r.json(), { seen: 'object', appCodeRuns: 0 }, kind);
    }
    await agent.waitFor((a) => a.snapshots.length >= 4, 10_000);
    const byKind = agent.snapshots.map((s) => s.debugger.snapshot.captures.lines[String(line)].locals.value);
    assert.deepEqual(byKind[0].fields.secret, { type: 'accessor', notCapturedReason: 'getter' });
    assert.equal(byKind[1].notCapturedReason, 'proxy');
    assert.equal(byKind[2].fields.self.notCapturedReason, 'circular');
    assert.equal(byKind[2].fields.list.elements[1].fields.back.notCapturedReason, 'circular');
    assert.equal(byKind[3].notCapturedReason, 'fieldCount');
    assert.equal(byKind[3].size, 1e5);
    assert.equal(Object.keys(byKind[3].fields).length, 20);
    assert.deepEqual(agent.snapshots.map((s) => s.message), ['value { secret: [Getter], plain: 1 }', 'value [Proxy]', "value { name: 'a', self: [Circular], list: [ [Circular], { back: [Circular] } ] }", agent.snapshots[3].message]);
    assert.match(agent.snapshots[3].message, /^value \{ k0: 0, k1: 1, .* … 99980 more \}$/);
  } finally {
    await svc.stop();
  }
});

test('V8 refuses to edit a suspended async function: the probe waits and retries, then installs once it can (live edit); on Node 26 a clear ERROR at once', async () => {
  const agent = await pool.newAgent();
  const file = join(tmp, 'hang.json');
  writeFileSync(file, '[]');
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES_FILE: file } });
  try {
    const first = fetch(svc.url + '/hang/1').then((r) => r.json());
    await new Promise((r) => setTimeout(r, 200));
    writeAtomically(file, JSON.stringify([decoration('hang', lineOf(FASTIFY, 'hang'), 'hang.id', 'id')]));
    if (!HAS_LIVE_EDIT) {
      // No edit to retry: the module was loaded before the probe, and Node 26 cannot change loaded code.
      const { status } = await waitForProbe(svc, 'hang', ['ERROR']);
      assert.equal(status.errorType, 'LoadedBeforeProbe');
      assert.match(status.message, NO_LIVE_EDIT);
      assert.deepEqual(await postJson(svc.url + '/release', {}).then((r) => r.body), { released: true });
      assert.deepEqual(await first, { done: 'released 1' });
      return;
    }
    let status;
    await until(
      async () => {
        status = (await svc.stats()).probes.statuses.find((s) => s.id === 'hang');
        return status && /refused the edit .* suspended .* retry \d+ of 10/.test(status.message);
      },
      'the hang probe to be retried',
      30_000,
      20,
      async () => JSON.stringify(status),
    );
    assert.equal(status.status, 'RECEIVED');
    assert.match(status.message, /retry \d+ of 10/);
    assert.deepEqual(await postJson(svc.url + '/release', {}).then((r) => r.body), { released: true });
    assert.deepEqual(await first, { done: 'released 1' });
    await waitForProbe(svc, 'hang', ['INSTALLED']);
    const second = fetch(svc.url + '/hang/2').then((r) => r.json());
    await waitUntil(async () => (await postJson(svc.url + '/release', {})).body.released, 'the second request to reach the probed line and be released');
    assert.deepEqual(await second, { done: 'released 2' });
    await svc.flush();
    await agent.waitFor((a) => a.allSpans().some((s) => s.meta['hang.id'] === '2')).catch(async (err) => {
      throw new Error(`${err.message}; probe: ${JSON.stringify((await svc.stats()).probes.statuses)}; spans: ${JSON.stringify(agent.allSpans().map((s) => [s.resource, s.meta]), (k, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 3000)}`);
    });
  } finally {
    await svc.stop();
  }
});

test('an async function probed from the start: placed at load time, nothing to refuse, the first call is seen', async () => {
  const agent = await pool.newAgent();
  const svc = await startService(FASTIFY, { agentUrl: agent.url, env: { ...ROOMY, TRACEWELL_PROBES: JSON.stringify([decoration('hang', lineOf(FASTIFY, 'hang'), 'hang.id', 'id')]) } });
  try {
    const { status } = await waitForProbe(svc, 'hang', ['INSTALLED']);
    assert.equal(status.technique, 'load-time');
    const first = fetch(svc.url + '/hang/1').then((r) => r.json());
    await waitUntil(async () => (await postJson(svc.url + '/release', {})).body.released, 'the call to wait at its await');
    assert.deepEqual(await first, { done: 'released 1' });
    await svc.flush();
    await agent.waitFor((a) => a.allSpans().some((s) => s.meta['hang.id'] === '1'));
  } finally {
    await svc.stop();
  }
});

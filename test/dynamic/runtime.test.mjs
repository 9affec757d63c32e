// The probe runtime in-process: the global snapshot limit shared by log probes, and what a
// hit leaves behind (nothing of the app's values).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { agentPool, startService } from '../helpers/apps.mjs';
import { lineOf, require, root } from '../helpers/common.mjs';
import { afterBacklogSettles } from '../exporter/helpers.mjs';
import { waitForProbe } from './helpers.mjs';

const pool = agentPool();
after(() => pool.closeAll());

const { ProbeRuntime } = require(join(root, 'dist/cjs/dynamic/runtime.js'));
const { Intake } = require(join(root, 'dist/cjs/dynamic/intake.js'));
const { Redactor } = require(join(root, 'dist/cjs/internal/redact.js'));
const { parseDefinitions } = require(join(root, 'dist/cjs/dynamic/definitions.js'));
const { resolveConfig } = require(join(root, 'dist/cjs/config/resolve.js'));

async function setup(globalPerSecond) {
  const agent = await pool.newAgent();
  const { config } = resolveConfig({ agentUrl: agent.url, logLevel: 'off' }, {});
  const intake = new Intake(config);
  /** Sends what the probes produced to the dev agent; resolves with what it received. */
  const delivered = async () => {
    await intake.flush();
    return agent.snapshots;
  };
  const runtime = new ProbeRuntime(new Redactor(), intake, 1000, globalPerSecond, 'svc');
  const install = (num, def) => {
    const { probes, bad } = parseDefinitions(JSON.stringify([def]), 'test');
    assert.deepEqual(bad, []);
    const spec = probes[0];
    const report = { id: spec.id, version: 0, type: spec.type, status: 'INSTALLED', message: '', location: 'x', hits: 0, emitted: 0, evaluationErrors: 0, rateLimited: 0 };
    const p = runtime.prepare({
      num, spec, report, names: ['request'], argc: 1, packed: false, off: false, overruns: 0, emitting: false,
      params: ['request'], locals: [], metric: null,
      tokens: spec.log.snapshotsPerSecond, perSecond: spec.log.snapshotsPerSecond, lastRefill: performance.now(),
      location: { file: 'x.js', line: 3 }, onOverrun() {}, onNotInScope() {}, onFirstEmit() {},
    });
    runtime.table[num] = p;
    return p;
  };
  return { runtime, install, delivered };
}

const logProbe = (id, captureSnapshot) => ({ id, type: 'LOG_PROBE', where: { sourceFile: 'x.js', lines: [3] }, template: 'member {request.name}', captureSnapshot, sampling: { snapshotsPerSecond: 1000 } });

test('snapshots are limited across probes (the global limit), probe logs without a snapshot are not', async () => {
  const { runtime, install, delivered } = await setup(3);
  const a = install(1, logProbe('a', true));
  const b = install(2, logProbe('b', true));
  const c = install(3, logProbe('c', false));
  for (let i = 0; i < 10; i++) {
    runtime.hook(1, { name: 'Ada' });
    runtime.hook(2, { name: 'Bob' });
    runtime.hook(3, { name: 'Cy' });
  }
  const queued = await delivered();
  const snapshots = queued.filter((e) => e.debugger.snapshot.probe.id !== 'c');
  assert.equal(snapshots.length, 3, 'three snapshots for the whole process');
  assert.equal(a.report.emitted + b.report.emitted, 3);
  assert.equal(a.report.rateLimited + b.report.rateLimited, 17);
  assert.equal(c.report.emitted, 10);
  assert.equal(c.report.rateLimited, 0);
  assert.deepEqual(queued.find((e) => e.debugger.snapshot.probe.id === 'c').message, 'member Cy');
  // The frame keeps no app value between hits.
  assert.deepEqual(a.frame, new Array(a.frame.length).fill(undefined));
});

test('end to end: two log probes hit in a tight loop send at most 100 snapshots a second between them, as the agent counts them', async () => {
  const agent = await pool.newAgent();
  const FILE = 'probes/burst.cjs';
  // Each probe alone would allow 5000 a second: only the global limit holds them to 100.
  const probe = (id, marker) => ({ id, version: 1, type: 'LOG_PROBE', where: { sourceFile: FILE, lines: [String(lineOf(FILE, marker))] }, template: 'hit {i}', captureSnapshot: true, sampling: { snapshotsPerSecond: 5000 } });
  const svc = await startService(FILE, {
    agentUrl: agent.url,
    env: { TRACEWELL_PROBE_BUDGET_MS: '1000', TRACEWELL_PROBES: JSON.stringify([probe('burst-first', '// probe: burst-first'), probe('burst-second', '// probe: burst-second')]) },
  });
  try {
    await waitForProbe(svc, 'burst-first', ['INSTALLED', 'EMITTING']);
    await waitForProbe(svc, 'burst-second', ['INSTALLED', 'EMITTING']);
    // The window the hits ran in, as this test sees it: from before the request to after the
    // answer (a slow machine only widens it, and with it what the limit allows).
    const started = performance.now();
    const answer = await (await fetch(svc.url + '/burst/3000')).json();
    const windowMs = performance.now() - started;
    assert.equal(answer.n, 3000);
    await svc.flush();
    const mine = () => agent.snapshots.filter((e) => e.debugger.snapshot.probe.id.startsWith('burst-'));
    await afterBacklogSettles(() => mine().length, () => mine().length >= 100);
    const got = mine();
    // A full bucket (100) to start with, refilled at 100 a second over the window.
    const allowed = 100 + Math.ceil((100 * windowMs) / 1000);
    assert.ok(got.length >= 100 && got.length <= allowed, `${got.length} snapshots reached the agent from 6000 hits in ${windowMs.toFixed(0)} ms; the limit allows ${allowed}`);
    assert.ok(got.every((e) => e.debugger.snapshot.captures !== undefined), 'each a snapshot with captures');
    const stats = await svc.stats();
    const reports = stats.probes.statuses.filter((x) => x.id.startsWith('burst-'));
    assert.equal(reports.reduce((a, r) => a + r.emitted, 0), got.length, 'what the probes emitted is what arrived');
    assert.equal(reports.reduce((a, r) => a + r.emitted + r.rateLimited, 0), 6000, 'every other hit counted as rate limited');
  } finally {
    await svc.stop();
  }
});

test('a hit never throws into its caller, even when the probe fails inside', async () => {
  const { runtime, install } = await setup(100);
  const p = install(1, { id: 'm', type: 'LOG_PROBE', where: { sourceFile: 'x.js', lines: [3] }, template: '{request.name.first}', sampling: { snapshotsPerSecond: 1000 } });
  const hostile = Object.defineProperty({}, 'name', { get() { throw new Error('getter ran'); } });
  assert.doesNotThrow(() => runtime.hook(1, hostile));
  assert.doesNotThrow(() => runtime.hook(1, null));
  assert.doesNotThrow(() => runtime.hook(99, 1), 'an unknown probe number');
  assert.equal(p.report.hits, 2);
  assert.equal(p.report.evaluationErrors, 2);
  assert.match(p.report.lastEvaluationError, /cannot read "name" of null/);
});

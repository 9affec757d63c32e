// The delivery layer as producers share it: probe snapshots and statuses survive an agent
// outage like traces (dead-lettered, replayed once, counted), and traces, profiles and probe
// output to one agent go over one connection pool. Real child processes, the real dev agent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { agentPool, startService } from '../helpers/apps.mjs';
import { afterBacklogSettles, cleanup, deadPort, tempDir } from '../exporter/helpers.mjs';
import { lineOf, postJson, waitForProbe } from '../dynamic/helpers.mjs';
import { until } from '../helpers/common.mjs';

const pool = agentPool();
after(() => Promise.all([pool.closeAll(), Promise.resolve(cleanup())]));

const FAST = {
  TRACEWELL_FLUSH_INTERVAL_MS: '50',
  TRACEWELL_EXPORT_BACKOFF_MS: '20',
  TRACEWELL_EXPORT_RETRY_DEADLINE_MS: '2000',
  TRACEWELL_BREAKER_PROBE_MS: '50',
  TRACEWELL_BREAKER_PROBE_MAX_MS: '200',
  TRACEWELL_DLQ_REPLAY_BYTES_PER_SEC: '104857600',
  TRACEWELL_PROBE_BUDGET_MS: '1000',
};

test('probe snapshots and statuses made while the agent refuses connections arrive once it is back, each exactly once', async () => {
  const dir = tempDir();
  const port = await deadPort();
  const line = lineOf('probes/members.mjs', 'esm');
  const id = 'outage-log';
  const probe = { id, version: 1, type: 'LOG_PROBE', where: { sourceFile: 'probes/members.mjs', lines: [line] }, template: 'member {member.name}', captureSnapshot: true, sampling: { snapshotsPerSecond: 1000 } };
  const svc = await startService('probes/members.mjs', {
    agentUrl: `http://127.0.0.1:${port}`,
    env: { ...FAST, DD_SERVICE: 'probe-outage', TRACEWELL_DLQ_DIR: dir, TRACEWELL_PROBES: JSON.stringify([probe]) },
  });
  try {
    await waitForProbe(svc, id, ['INSTALLED']);
    const N = 12;
    for (let i = 0; i < N; i++) assert.equal((await postJson(svc.url, { name: `m${i}`, plan: 'gold' })).body.label, `m${i} (gold)`);
    const during = await until(async () => {
      const st = await svc.stats();
      return st.probes.snapshotsDeadLettered === N && st.circuit !== 'closed' && st;
    }, `${N} snapshots in the dead-letter file`);
    assert.equal(during.probes.snapshotsSent, 0);
    assert.equal(during.probes.snapshotsDropped, 0);
    const files = readdirSync(join(dir, 'probe-outage'));
    assert.ok(files.some((f) => /^snapshots-\d{13}-\d+-[0-9a-f]{8}-\d{6}\.dlq$/.test(f)), files.join());
    assert.ok(files.some((f) => /^statuses-/.test(f)), files.join());

    const agent = await pool.newAgent({ port });
    // Settled: every snapshot replayed, nothing left pending, then counted at the agent.
    await until(async () => {
      const st = await svc.stats();
      return st.probes.snapshotsReplayed === N && st.probes.snapshotsSent === N && st.circuit === 'closed';
    }, 'the snapshots replayed');
    await until(() => agent.probeDiagnostics.some((d) => d.probeId === id && d.status === 'INSTALLED'), 'the INSTALLED status at the agent');
    await svc.flush();
    // ...after what the agent received stayed put: a payload sent once more lands before that.
    await afterBacklogSettles(() => agent.snapshots.length, () => true);
    const mine = agent.snapshots.filter((s) => s.debugger.snapshot.probe.id === id);
    assert.equal(mine.length, N, 'each snapshot once');
    assert.deepEqual(mine.map((s) => s.message).sort(), Array.from({ length: N }, (_, i) => `member m${i}`).sort());
    assert.equal(new Set(mine.map((s) => s.debugger.snapshot.id)).size, N);
    // Nothing left to send twice later.
    const left = readdirSync(join(dir, 'probe-outage')).filter((f) => f.startsWith('snapshots-'));
    assert.deepEqual(left, [], 'the snapshot files are gone once replayed');
    assert.match(svc.stderr(), /cannot send traces, probe snapshots and probe statuses to http:\/\/127\.0\.0\.1:\d+/);
    assert.equal(svc.stderr().split('\n').filter((l) => l.includes('TW_EXPORT_FAILED')).length, 1, 'one warning for the outage');
  } finally {
    await svc.stop();
  }
});

test('traces and profile uploads to one agent share one connection pool', async () => {
  const agent = await pool.newAgent();
  const svc = await startService('apps/service.cjs', {
    agentUrl: agent.url,
    env: { FRAMEWORK: 'http', DD_SERVICE: 'one-pool', DD_PROFILING_ENABLED: 'true', TRACEWELL_PROFILING_UPLOAD_PERIOD: '1', TRACEWELL_PROFILING_HEAP: 'false' },
  });
  try {
    assert.equal((await fetch(svc.url + '/users/1')).status, 200);
    await agent.waitFor((a) => a.requests.some((r) => /^\/v0\.[45]\/traces$/.test(r.path) && r.status === 200), 10_000);
    const traceReq = agent.requests.find((r) => /^\/v0\.[45]\/traces$/.test(r.path));
    const after = agent.requests.length;
    const opened = new Set(agent.requests.map((r) => r.remotePort));
    await agent.waitFor((a) => a.requests.slice(after).some((r) => r.path === '/profiling/v1/input'), 10_000);
    const profileReq = agent.requests.slice(after).find((r) => r.path === '/profiling/v1/input');
    // A request of the same pool reuses one of its idle keep-alive connections (a client port
    // the traces already used); a pool of its own would have opened a connection of its own.
    assert.ok(opened.has(profileReq.remotePort), `the profile came from port ${profileReq.remotePort}; traces and /info used ${[...opened].join(', ')} (trace ${traceReq.remotePort})`);
    const ports = new Set(agent.requests.map((r) => r.remotePort));
    assert.ok(ports.size <= 4, `at most the pool's 4 connections: ${[...ports].join(', ')}`);
  } finally {
    await svc.stop();
  }
});

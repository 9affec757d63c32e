// Profile uploads when the agent cannot take them: retried, kept in the service's dead-letter
// folder (files of kind `profile`), replayed after live uploads once the agent answers; an
// upload the agent refuses is kept in the rejected file, never sent again by itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devAgentModule, startService } from '../helpers/apps.mjs';
import { fixtures, profiler, runNode } from './helpers.mjs';

let agent;
let dlq;
before(async () => {
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
  dlq = mkdtempSync(join(tmpdir(), 'tw-prof-dlq-'));
});
after(async () => {
  await agent?.close();
  rmSync(dlq, { recursive: true, force: true });
});

const env = () => ({
  DD_PROFILING_ENABLED: 'true',
  DD_TRACE_AGENT_URL: agent.url,
  TRACEWELL_DLQ_DIR: dlq,
  TRACEWELL_EXPORT_RETRIES: '2',
  TRACEWELL_EXPORT_BACKOFF_MS: '20',
  PROFILE_MS: '300',
});
const kept = (prefix = 'profile-') => {
  try {
    return readdirSync(join(dlq, 'profiled')).filter((f) => f.startsWith(prefix) && f.endsWith('.dlq'));
  } catch {
    return [];
  }
};
const profileRequests = () => agent.requests.filter((r) => r.path === '/profiling/v1/input');

test('an agent answering 503: the upload is retried, then kept; the next run sends it after its own', async () => {
  agent.reset();
  agent.setResponder((req) => (req.path === '/profiling/v1/input' ? { status: 503, body: '{"error":"busy"}' } : null));
  const first = await runNode(join(fixtures, 'hot.cjs'), { env: env() });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(profileRequests().length, 3, 'one attempt and two retries');
  assert.equal(kept().length, 1, 'kept in <dlqDir>/<service>, a profile-*.dlq file');
  const warnings = first.stderr.split('\n').filter((l) => l.includes('TW_EXPORT_FAILED'));
  assert.equal(warnings.length, 1, first.stderr);
  // One warning for the agent, whatever it carries (traces and profiles share its circuit).
  assert.match(warnings[0], /cannot send traces and profiles to .* \(the agent answered 503\); .*profiles are written to the dead-letter file in .*profiled and sent once it answers again/);

  agent.setResponder(null);
  agent.reset();
  const second = await runNode(join(fixtures, 'hot.cjs'), { env: env() });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(agent.profiles.length, 2, 'its own upload, then the kept one');
  const [live, replayed] = agent.profiles;
  assert.ok(Date.parse(replayed.event.end) < Date.parse(live.event.start), 'the kept upload is the older period');
  assert.notEqual(live.tags['runtime-id'], replayed.tags['runtime-id'], 'from the first process');
  assert.ok(replayed.profiles['wall.pprof'].samples.length > 0, 'and decodes whole');
  assert.equal(kept().length, 0, 'and is gone from the folder');
});

test('an agent refusing the upload (400): not retried, one warning, kept in the rejected file only', async () => {
  agent.reset();
  agent.setResponder((req) => (req.path === '/profiling/v1/input' ? { status: 400, body: '{"error":"bad"}' } : null));
  const r = await runNode(join(fixtures, 'hot.cjs'), { env: env() });
  agent.setResponder(null);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(profileRequests().length, 1, 'never retried');
  assert.equal(kept().length, 0, 'never replayed');
  assert.equal(kept('rejected-profile-').length, 1, 'kept for `tracewell dlq show`');
  assert.match(r.stderr, /\[TW_EXPORT_REJECTED\] .* rejected a payload of 1 profiles with 400/);
  for (const f of kept('rejected-profile-')) rmSync(join(dlq, 'profiled', f));
});

test('process.exit(): the last period is written synchronously, to the folder and for the agent', async () => {
  agent.reset();
  const dir = mkdtempSync(join(tmpdir(), 'tw-prof-exit-'));
  try {
    const r = await runNode(join(fixtures, 'hot.cjs'), { env: { ...env(), EXIT: '1', TRACEWELL_PROFILING_DIR: dir } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /done true/);
    const walls = readdirSync(dir).filter((f) => f.startsWith('wall-'));
    assert.equal(walls.length, 1, readdirSync(dir).join());
    const { decodePprof, top } = profiler();
    const first = top(decodePprof(readFileSync(join(dir, walls[0]))), { by: 'line' }).entries[0];
    assert.equal(first.name, 'hotA');
    assert.equal(agent.profiles.length, 0, 'no time to send at exit');
    assert.equal(kept().length, 1, 'so the upload is kept for the next run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const f of kept()) rmSync(join(dlq, 'profiled', f));
  }
});

test('SIGTERM: the last period is sent before the process ends by the signal', async () => {
  agent.reset();
  const svc = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_PROFILING_ENABLED: 'true', DD_SERVICE: 'sigterm' } });
  assert.equal((await fetch(svc.url + '/users/1')).status, 200);
  const exited = new Promise((resolve) => svc.child.once('exit', (code, signal) => resolve(signal)));
  svc.child.kill('SIGTERM');
  assert.equal(await exited, 'SIGTERM', 'ends as the signal would have ended it');
  await agent.waitForProfiles(1, 5000);
  assert.equal(agent.profiles[0].tags.service, 'sigterm');
  assert.deepEqual(agent.profiles[0].event.endpoint_counts, { GET: 1 });
});

// Linked mode end to end on whichever Node runs the tests: nested spans across awaits and
// concurrent requests, every sample labelled with the span it ran under, and no span kept
// alive by the profiler. Node 24+ (async context frames) must take the path where the profiler
// reads each span's holder from the tracer's own store; Node 20/22 the async-hook path that
// calls the binding only when the span changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';
import { profiler } from './helpers.mjs';

const major = Number(process.versions.node.split('.')[0]);
let agent;
before(async () => {
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
});
after(async () => {
  await agent?.close();
});

const env = { DD_PROFILING_ENABLED: 'true', TRACEWELL_PROFILING_MODE: 'linked', TRACEWELL_PROFILING_INTERVAL_MS: '5', TRACEWELL_LOG_LEVEL: 'info', TRACEWELL_PROFILING_HEAP: 'false' };

/** Waves of concurrent requests to both endpoints, interleaved. */
async function load(url, waves, perWave, ms) {
  for (let w = 0; w < waves; w++) {
    const all = [];
    for (let i = 0; i < perWave; i++) all.push(fetch(`${url}/${i % 2 ? 'b' : 'a'}/${ms}`).then((r) => r.status));
    for (const status of await Promise.all(all)) assert.equal(status, 200);
  }
}

test('linked mode: nested spans across awaits and concurrent requests, each sample carries its own span, local root and endpoint', async () => {
  agent.reset();
  const svc = await startService('profiler/nested-service.cjs', { agentUrl: agent.url, env });
  try {
    await load(svc.url, 3, 8, 8);
    await agent.waitForSpans(24 * 3);
  } finally {
    assert.equal(await svc.stop(), 0);
  }
  const path = /profiling \(linked, span context read from the tracer's async context frames/.test(svc.stderr());
  assert.equal(path, major >= 24, `Node ${major}: ${major >= 24 ? 'holders read from the tracer store' : 'the async-hook path'} (stderr: ${svc.stderr().slice(0, 600)})`);
  await agent.waitForProfiles(1, 8000);
  const wall = agent.profiles.at(-1).profiles['wall.pprof'];
  const { framesOf } = { ...devAgentModule(), ...profiler() };

  // What each span is: its endpoint ('a'/'b'), its level, and its local root.
  const spans = agent.allSpans();
  const byId = new Map(spans.map((s) => [s.span_id.toString(), s]));
  const info = new Map();
  for (const s of spans) {
    let root = s;
    while (root.parent_id !== 0n && byId.has(root.parent_id.toString())) root = byId.get(root.parent_id.toString());
    const level = s === root ? 'root' : s.name.split('-')[0];
    const e = (root.resource.match(/^GET \/(a|b)\//) ?? [])[1];
    info.set(s.span_id.toString(), { e, level, root: root.span_id.toString(), endpoint: root.resource });
  }
  assert.equal([...info.values()].filter((i) => i.level === 'grandchild').length, 24);

  const counted = {};
  let marked = 0;
  for (const s of wall.samples) {
    const fn = framesOf(wall, s)
      .map((f) => f.name)
      .find((n) => /^burn_[ab]_/.test(n));
    if (fn === undefined) continue;
    marked++;
    const [, e, level] = fn.split('_');
    const id = s.labels['span id'];
    const span = info.get(id);
    assert.ok(span !== undefined, `a sample in ${fn} is labelled with span ${id}, not a span of this service (labels ${JSON.stringify(s.labels)})`);
    const want = level === 'childAgain' ? 'child' : level;
    assert.equal(span.e, e, `${fn} ran under a span of /${span.e}: labels of concurrent requests mixed`);
    assert.equal(span.level, want, `${fn} is labelled with a ${span.level} span, not its ${want}`);
    assert.equal(s.labels['local root span id'], span.root, `${fn}: local root`);
    assert.equal(s.labels['trace endpoint'], span.endpoint, `${fn}: endpoint`);
    counted[fn] = (counted[fn] ?? 0) + 1;
  }
  for (const e of ['a', 'b']) for (const level of ['root', 'child', 'grandchild', 'childAgain']) assert.ok((counted[`burn_${e}_${level}`] ?? 0) >= 3, `samples per function: ${JSON.stringify(counted)}`);
  assert.ok(marked >= 40, `${marked} marked samples`);
});

test('linked mode keeps no finished span alive, children and grandchildren included', async () => {
  async function aliveAfter(extra) {
    agent.reset();
    const svc = await startService('profiler/nested-service.cjs', { agentUrl: agent.url, env: extra });
    try {
      await load(svc.url, 2, 6, 3);
      await agent.waitForSpans(36);
      const reply = await new Promise((resolve) => {
        const on = (m) => {
          if (m && typeof m === 'object' && 'alive' in m) {
            svc.child.off('message', on);
            resolve(m);
          }
        };
        svc.child.on('message', on);
        svc.child.send('alive');
      });
      assert.equal(reply.total, 36);
      return reply;
    } finally {
      await svc.stop();
    }
  }
  const off = await aliveAfter({ DD_PROFILING_ENABLED: 'false' });
  const linked = await aliveAfter({ ...env, DD_PROFILING_UPLOAD_PERIOD: '300', TRACEWELL_PROFILING_UPLOAD: 'false' });
  assert.equal(linked.stats.profilesCollected, 0, 'no profile was cut before counting');
  assert.ok(linked.alive <= off.alive + 1, `${linked.alive} of 36 finished spans alive with linked profiling, ${off.alive} with the profiler off`);
});

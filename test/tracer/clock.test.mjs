// Span times follow the system clock when it is stepped after start-up (NTP stepping it, a VM
// resumed or restored from a snapshot): a service that kept its start-up origin would place
// its spans seconds away from its callers' and callees' for as long as it runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';
import { PATIENCE_MS } from '../helpers/common.mjs';

let agent;
let svc;
before(async () => {
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
  svc = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: 'clock-fixture' } });
});
after(async () => {
  await svc?.stop();
  await agent?.close();
});

let n = 0;
/** One request; its server span's start and end (epoch ms) and the test's wall clock around it. */
async function request() {
  const id = `c${++n}`;
  const t0 = Date.now();
  const res = await fetch(`${svc.url}/users/${id}`);
  await res.arrayBuffer();
  const t1 = Date.now();
  assert.equal(res.status, 200);
  await svc.flush();
  const mine = () => agent.allSpans().find((s) => s.service === 'clock-fixture' && s.meta['http.url']?.endsWith(`/users/${id}`));
  await agent.waitFor(() => mine() !== undefined);
  const span = mine();
  const start = Number(span.start) / 1e6;
  return { t0, t1, start, end: start + Number(span.duration) / 1e6 };
}

/** Asks the service to step its wall clock to `ms` away from the true one. */
function step(ms) {
  const reply = new Promise((resolve) => svc.child.on('message', function on(m) {
    if (m && m.stepped === ms) resolve(svc.child.off('message', on));
  }));
  svc.child.send({ stepClock: ms });
  return reply;
}

/** Requests until one's span lies where the process's wall clock (true + `offset`) says it ran; that span. */
async function followed(offset) {
  const deadline = Date.now() + PATIENCE_MS;
  let last;
  while (Date.now() < deadline) {
    last = await request();
    // Date.now() is whole milliseconds: 2 ms either side.
    if (last.start >= last.t0 + offset - 2 && last.end <= last.t1 + offset + 2) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`spans never followed the clock stepped by ${offset} ms: the last ran ${last.t0}-${last.t1} (+${offset}) and was sent as ${last.start}-${last.end}`);
}

test('span times follow the wall clock: at start-up, stepped 5 s forward, then 5 s back', async () => {
  const first = await request();
  assert.ok(first.start >= first.t0 - 2 && first.end <= first.t1 + 2, `ran ${first.t0}-${first.t1}, sent as ${first.start}-${first.end}`);

  await step(5000);
  const ahead = await followed(5000);
  assert.ok(ahead.end - ahead.start <= ahead.t1 - ahead.t0 + 2, 'its duration from the monotonic clock, not the step');

  await step(0);
  await followed(0);
});

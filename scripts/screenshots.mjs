// The README's pictures of the dev agent's page: starts the agent and the demo's services
// (examples/demo-services.mjs), sends them traffic, then has headless Chromium (Debian's
// package) save what it shows:
//   docs/agent-trace.png   a trace across the three services, the users API's span selected
//   docs/agent-flame.png   the flame graph of what was hot under GET /users/:id
//
//   npm run docs:screenshots
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { get, probes, startDemoServices } from '../examples/demo-services.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { startDevAgent } = require(join(root, 'dist/cjs/dev-agent/index.js'));
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (chromium === undefined) {
  process.stderr.write('no /usr/bin/chromium here (apt-get install chromium)\n');
  process.exit(1);
}

const scratch = mkdtempSync(join(tmpdir(), 'tw-shots-'));
const agent = await startDevAgent({ port: 0, dir: null, dlqDir: join(scratch, 'dlq') });
const services = await startDemoServices({ agentUrl: agent.url, stdio: 'ignore', env: { DD_PROFILING_UPLOAD_PERIOD: '2', TRACEWELL_DLQ_DIR: join(scratch, 'services-dlq') } });
try {
  const placed = (a) => [probes.caller, probes.lookup].every((id) => [...a.store.probes.values()].some((p) => p.probeId === id && p.latest.status !== 'RECEIVED'));
  await agent.waitFor(placed, 30_000);
  for (let i = 0; i < 24; i++) await get(services.users, `/users/${1 + (i % 2)}`);
  await get(services.users, '/users/3');
  await get(services.users, '/users/1/visits');
  const endpoint = 'GET /users/:id';
  const trafficEnd = Date.now();
  // Every sample of that traffic: an upload whose period ends after it.
  await agent.waitFor(() => agent.store.profiles.some((p) => p.profile.tags.service === 'users-api' && Date.parse(p.profile.event.end) > trafficEnd), 20_000);
  // A trace of the three services whose profiles lookup sent a probe log line.
  const trace = [...agent.store.traces.values()].find((t) => new Set(t.spans.map((s) => s.service)).size === 3 && t.snapshots.length > 0) ?? [...agent.store.traces.values()].find((t) => t.spans.length === 5);
  const rootSpan = trace.spans.find((s) => s.parent_id === 0n);
  const id = (trace.high || '0'.repeat(16)) + trace.low;
  const shots = {
    'agent-trace.png': `${agent.uiUrl}/trace/${id}?span=${rootSpan.span_id.toString(16).padStart(16, '0')}`,
    'agent-flame.png': `${agent.uiUrl}/profiles?service=users-api&endpoint=${encodeURIComponent(endpoint)}`,
  };
  for (const [file, url] of Object.entries(shots)) {
    const profile = join(scratch, 'chromium');
    // Not execFileSync: the agent answering the browser runs in this process.
    await promisify(execFile)(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--hide-scrollbars', `--user-data-dir=${profile}`, '--window-size=1280,800', `--screenshot=${join(root, 'docs', file)}`, url], { timeout: 60_000 });
    process.stdout.write(`docs/${file}: ${url}\n`);
  }
} finally {
  await services.stop();
  await agent.close();
  rmSync(scratch, { recursive: true, force: true });
}

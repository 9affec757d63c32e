// HTTP load from wrk (Debian's `wrk`, C, epoll): the same window protocol as load.mjs, for
// saturated windows only (--rate 0). Why: an undici load generator spends about as much CPU per
// request as a hello-world server, so two of them on one CPU cannot saturate two servers on the
// other and a "saturated" pair was limited by its load generators (the paired table's warning);
// wrk needs a few µs per request. Every request carries the same W3C traceparent as load.mjs.
//   node benchmarks/lib/load-wrk.mjs --port 3000 [--connections 16] [--ramp-ms 300]
//     [--duration-ms 4000] [--path /hello/world]
// Requests and rps are counted by the server over the window (measure.mjs); this process
// reports wrk's latency percentiles over the whole run and wrk's CPU over the window.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { parseFlags } = require('./load-loop.cjs');

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const flags = parseFlags(process.argv.slice(2));
const port = Number(flags.port);
const connections = Number(flags.connections ?? 16);
const rampMs = Number(flags.rampMs ?? 300);
const durationMs = Number(flags.durationMs ?? 4000);
const rate = Number(flags.rate ?? 0);
const path = typeof flags.path === 'string' ? flags.path : '/hello/world';
const send = process.send ? (m) => new Promise((resolve) => process.send(m, () => resolve())) : async (m) => console.log(JSON.stringify(m));

if (rate !== 0) {
  console.error('load-wrk: only saturated windows (--rate 0); use load.mjs for a paced rate');
  process.exit(2);
}
if (spawnSync('wrk', ['--version']).error) {
  console.error('load-wrk: wrk is not installed (apt-get install wrk)');
  process.exit(2);
}

/** utime + stime of a process, in µs (clock ticks of 10 ms). */
function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return NaN;
  }
}

// Longer than the window: wrk is stopped with SIGINT once the window has ended.
const seconds = Math.ceil((rampMs + durationMs) / 1000) + 30;
const wrk = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '10s', '-H', `traceparent: ${TRACEPARENT}`, `http://127.0.0.1:${port}${path}`], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
wrk.stdout.setEncoding('utf8').on('data', (d) => (out += d));
wrk.stderr.setEncoding('utf8').on('data', (d) => (out += d));
const exited = new Promise((resolve) => wrk.once('exit', resolve));

await new Promise((r) => setTimeout(r, rampMs));
const cpu0 = cpuOf(wrk.pid);
const t0 = process.hrtime.bigint();
await send({ type: 'window-start' });
await new Promise((r) => setTimeout(r, durationMs));
await send({ type: 'window-end' });
const windowS = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu1 = cpuOf(wrk.pid);
wrk.kill('SIGINT');
const hard = setTimeout(() => wrk.kill('SIGKILL'), 5000);
await exited;
clearTimeout(hard);

const ms = (s) => {
  const m = /([\d.]+)(us|ms|s)\b/.exec(s ?? '');
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1);
};
const pct = (p) => ms(new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(out)?.[1]);
const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + [...out.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce((s, m) => s + Number(m[2]), 0);
await send({
  type: 'result',
  // Counted by the server over the window instead (measure.mjs).
  rps: undefined,
  requests: total,
  errors,
  errorSamples: errors > 0 ? [out.split('\n').filter((l) => /errors|Non-2xx/.test(l)).join('; ')] : [],
  seconds: windowS,
  latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99) },
  loadCpuPct: ((cpu1 - cpu0) / 1e6 / windowS) * 100,
});
process.exit(0);

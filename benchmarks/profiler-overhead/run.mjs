// What the continuous profiler costs a traced Fastify service: profiler off, line-level, and
// span-linked, interleaved in one run; throughput ratios to "off", and the longest event-loop
// stall per profile. See README.md.
// Usage: node benchmarks/profiler-overhead/run.mjs [--quick] [--period S (profile period, default 10)]
//   [--interval-ms 10] [--rounds 5] [--window-ms 5000] [--warmup-ms 2000] [--connections 32] [--node 22]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, intArg, machine, markdownTables, runInterleaved, saveJson, scenarioOptions } from '../lib/harness.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
let args;
let options;
try {
  ({ args, options } = scenarioOptions(process.argv.slice(2), { variants: 'baseline' }));
  options.rate = 0;
  args.period = intArg(args, 'period', 10, 1, 3600);
  args.intervalMs = intArg(args, 'intervalMs', 10, 1, 1000);
} catch (err) {
  console.error(`profiler-overhead: ${err.message}`);
  process.exit(2);
}
const stallDir = mkdtempSync(join(tmpdir(), 'tw-prof-bench-'));
const traced = ['--import', 'tracewell/register'];
const profiled = { DD_PROFILING_ENABLED: 'true', DD_PROFILING_UPLOAD_PERIOD: String(args.period), TRACEWELL_PROFILING_INTERVAL_MS: String(args.intervalMs) };
// "baseline" is the traced service with the profiler off: the ratios are what profiling adds.
const variants = [
  { name: 'baseline', execArgv: traced, env: { BENCH_VARIANT: 'baseline' } },
  { name: 'lines', execArgv: traced, env: { ...profiled, TRACEWELL_PROFILING_MODE: 'lines', BENCH_VARIANT: 'lines' } },
  { name: 'linked', execArgv: traced, env: { ...profiled, TRACEWELL_PROFILING_MODE: 'linked', BENCH_VARIANT: 'linked' } },
];
const opts = {
  ...options,
  variants,
  serverScript: join(here, 'server.mjs'),
  serverEnv: { STALL_DIR: stallDir },
  loadScript: join(here, '..', 'lib', 'load.mjs'),
};
process.stderr.write(
  `profiler-overhead: traced Fastify, profiler off / lines / linked at ${args.intervalMs} ms, one profile per ${args.period} s; ` +
    `${opts.rounds} rounds of ${opts.windowMs} ms per variant, ${opts.connections} connections\n`,
);
const run = await runInterleaved(opts);
await new Promise((r) => setTimeout(r, 200));

// Stalls, as each server last wrote them.
const stalls = {};
for (const f of readdirSync(stallDir)) {
  const name = f.replace(/-\d+\.json$/, '');
  try {
    stalls[name] = JSON.parse(readFileSync(join(stallDir, f), 'utf8'));
  } catch {
    /* a server that never wrote */
  }
}
rmSync(stallDir, { recursive: true, force: true });

const m = machine(opts.execPath);
console.log(`\n## profiler-overhead: Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
if (Object.keys(run.results).length) console.log(markdownTables(run, { unit: 'req' }));
console.log('\nStalls over the whole run (every window and warm-up):\n');
console.log('| variant | profiles | longest stop+serialize ms (own timing) | longest event-loop delay ms | event-loop p99 ms |');
console.log('| --- | --- | --- | --- | --- |');
for (const v of variants) {
  const s = stalls[v.name];
  if (!s) continue;
  console.log(`| ${v.name} | ${s.profiler?.profilesCollected ?? 0} | ${s.profiler && s.profiler.profilesCollected > 0 ? fmt(s.profiler.maxStallMs, 1) : 'n/a'} | ${fmt(s.eventLoopMaxMs, 1)} | ${fmt(s.eventLoopP99Ms, 1)} |`);
}
console.log('');
const target = { lines: 0.97, linked: 0.95 };
for (const name of ['lines', 'linked']) {
  const r = run.results[name];
  const ratio = r?.saturated.rpsRatio.median;
  const stall = stalls[name]?.profiler?.maxStallMs;
  console.log(
    `${name}: throughput ratio vs profiler off ${fmt(ratio, 3)} (target >= ${target[name]}${ratio >= target[name] ? ', met' : ratio === undefined ? '' : ', MISSED'}); ` +
      `longest stall per profile ${fmt(stall, 1)} ms (target <= 20${stall <= 20 ? ', met' : stall === undefined ? '' : ', MISSED'}); event-loop max ${fmt(stalls[name]?.eventLoopMaxMs, 1)} ms vs ${fmt(stalls.baseline?.eventLoopMaxMs, 1)} ms with the profiler off`,
  );
}
const file = saveJson('profiler-overhead', { scenario: 'profiler-overhead', machine: m, options: { ...opts, period: args.period, intervalMs: args.intervalMs }, stalls, ...run });
console.log(`\nraw results: ${file}`);

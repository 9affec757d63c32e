// What the continuous profiler costs a traced Fastify service: profiler off, line-level, and
// span-linked, interleaved in one run; throughput ratios to "off", and the longest event-loop
// stall per profile. See README.md.
// Usage: node benchmarks/profiler-overhead/run.mjs [--quick] [--period S (profile period, default 10)]
//   [--interval-ms 10] [--variants baseline,lines,linked,span-lines,lines-noheap,lines-v8guard,off-again]
//   [--rounds 5] [--window-ms 5000] [--warmup-ms 2000] [--connections 32] [--rate 0] [--node 22]
//   [--pin] [--paired RATE]
// TRACEWELL_REF=/path/to/built/checkout adds variants linked-ref and lines-ref: those modes on that build.
// --paired RATE: instead of the interleaved windows, each variant is measured at the same time
// as the baseline, both servers held to RATE req/s (lib/paired.mjs): CPU per request per pair,
// and the throughput ratio it implies. The A/A variant (off-again) then shows the noise floor
// of that method.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, intArg, machine, markdownTables, range, runInterleaved, saveJson, scenarioOptions } from '../lib/harness.mjs';
import { runPaired } from '../lib/paired.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
let args;
let options;
try {
  // The harness knows tracer variants only; ours are picked below from --variants.
  const argv = process.argv.slice(2);
  const at = argv.findIndex((a) => a === '--variants' || a.startsWith('--variants='));
  let list = 'baseline,lines,linked,span-lines';
  if (at >= 0) {
    list = argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
    argv.splice(at, argv[at].includes('=') ? 1 : 2);
  }
  ({ args, options } = scenarioOptions(argv, { variants: 'baseline' }));
  args.list = list;
  options.rate = 0;
  args.period = intArg(args, 'period', 10, 1, 3600);
  args.intervalMs = intArg(args, 'intervalMs', 10, 1, 1000);
  args.paired = intArg(args, 'paired', 0, 0, 1_000_000);
} catch (err) {
  console.error(`profiler-overhead: ${err.message}`);
  process.exit(2);
}
const stallDir = mkdtempSync(join(tmpdir(), 'tw-prof-bench-'));
const traced = ['--import', 'tracewell/register'];
const profiled = { DD_PROFILING_ENABLED: 'true', DD_PROFILING_UPLOAD_PERIOD: String(args.period), TRACEWELL_PROFILING_INTERVAL_MS: String(args.intervalMs) };
// "baseline" is the traced service with the profiler off: the ratios are what profiling adds.
const known = {
  baseline: {},
  lines: { ...profiled, TRACEWELL_PROFILING_MODE: 'lines' },
  linked: { ...profiled, TRACEWELL_PROFILING_MODE: 'linked' },
  'span-lines': { ...profiled, TRACEWELL_PROFILING_MODE: 'span-lines' },
  // Line mode without the heap profile: what the heap sampler's share is.
  'lines-noheap': { ...profiled, TRACEWELL_PROFILING_MODE: 'lines', TRACEWELL_PROFILING_HEAP: 'false' },
  // Line mode with the binding's V8-bug guard on (it waits for sampling signals at each cut).
  'lines-v8guard': { ...profiled, TRACEWELL_PROFILING_MODE: 'lines', TRACEWELL_PROFILING_V8_BUG_WORKAROUND: 'true' },
  // The profiler off again, a second server: how far two identical variants differ here (the noise floor of every ratio).
  'off-again': {},
  ...(process.env.TRACEWELL_REF ? { 'linked-ref': { ...profiled, TRACEWELL_PROFILING_MODE: 'linked' }, 'lines-ref': { ...profiled, TRACEWELL_PROFILING_MODE: 'lines' } } : {}),
};
const variants = String(args.list)
  .split(',')
  .map((n) => n.trim())
  .filter(Boolean)
  .map((name) => {
    if (!known[name]) {
      console.error(`profiler-overhead: unknown variant "${name}"; known: ${Object.keys(known).join(', ')}`);
      process.exit(2);
    }
    // `*-ref`: the same mode on another build (TRACEWELL_REF=/path/to/checkout, built), for a
    // before/after in one run.
    const execArgv = name.endsWith('-ref') ? ['--import', pathToFileURL(join(process.env.TRACEWELL_REF, 'dist', 'esm', 'register.mjs')).href] : traced;
    return { name, execArgv, env: { ...known[name], BENCH_VARIANT: name } };
  });
if (variants[0]?.name !== 'baseline') {
  console.error('profiler-overhead: --variants must start with baseline (the profiler off), the reference of every ratio');
  process.exit(2);
}
const opts = {
  ...options,
  // --rate N: also a paced window per round (every server held to N req/s), whose CPU per
  // request is steadier than saturated throughput on a shared machine. 0 (default): saturated only.
  rate: intArg(args, 'rate', 0, 0, 1_000_000),
  variants,
  serverScript: join(here, 'server.mjs'),
  serverEnv: { STALL_DIR: stallDir },
  loadScript: join(here, '..', 'lib', 'load.mjs'),
};
process.stderr.write(
  `profiler-overhead: traced Fastify, ${variants.map((v) => v.name).join(' / ')} at ${args.intervalMs} ms, one profile per ${args.period} s; ` +
    `${opts.rounds} rounds of ${opts.windowMs} ms per variant, ${opts.connections} connections\n`,
);
const run = args.paired > 0 ? await runPaired({ ...opts, rate: args.paired }) : await runInterleaved(opts);
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
if (args.paired > 0) {
  console.log(`Paired (each variant measured at the same time as baseline, both servers at ${args.paired} req/s${opts.pin ? `, servers on CPU ${opts.pin.server}, load on CPU ${opts.pin.load}` : ''}); median [min, max] over rounds of the per-pair values:\n`);
  console.log('| variant | rounds | baseline CPU µs/req | variant CPU µs/req | added µs/req | implied throughput ratio | main thread: baseline, variant µs/req | main thread added | implied by the main thread |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, r] of Object.entries(run.results)) console.log(`| ${name} | ${r.rounds} | ${range(r.baseCpu)} | ${range(r.cpu)} | ${range(r.added)} | ${range(r.impliedThroughput, 3)} | ${range(r.baseMain)}, ${range(r.main)} | ${range(r.addedMain)} | ${range(r.impliedMainThroughput, 3)} |`);
  console.log('\n"implied throughput ratio": baseline CPU / variant CPU, all threads on one CPU (as with --pin). "implied by the main thread": the same from the main thread\'s CPU alone, the bound of a Node server whose other threads (the profiler\'s sampling and processing threads, GC helpers) have a core of their own.');
  for (const [name, why] of Object.entries(run.failed)) console.log(`\n${name}: ${why}`);
} else if (Object.keys(run.results).length) console.log(markdownTables(run, { unit: 'req', rate: opts.rate }));
console.log('\nStalls over the whole run (every window and warm-up):\n');
console.log('| variant | profiles | longest pause ms (own timing) | first profile ms | later profiles: median, max ms | longest event-loop delay ms | event-loop p99 ms |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const v of variants) {
  const s = stalls[v.name];
  if (!s) continue;
  const p = s.profiler;
  const on = p && p.profilesCollected > 0;
  // stallsMs holds the last 20 steps (wall, heap, wall, heap...); the first profile is the cold one.
  const steps = on ? p.stallsMs : [];
  // Builds that report it: the first profile's longest step (linked mode on Node 24+ has three
  // steps per profile: cut, serialize, heap); stallsMs then holds later profiles only once 7 or
  // more were taken.
  const own = on && typeof p.firstProfileMaxStallMs === 'number';
  const first = own ? p.firstProfileMaxStallMs : on && p.profilesCollected * (v.name === 'lines-noheap' ? 1 : 2) <= 20 ? Math.max(...steps.slice(0, v.name === 'lines-noheap' ? 1 : 2)) : NaN;
  const later = !on ? [] : own && p.profilesCollected >= 7 ? [...steps].sort((a, b) => a - b) : steps.slice(p.profilesCollected * (v.name === 'lines-noheap' ? 1 : 2) <= 20 ? (v.name === 'lines-noheap' ? 1 : 2) : 0).sort((a, b) => a - b);
  const med = later.length ? later[Math.floor(later.length / 2)] : NaN;
  console.log(`| ${v.name} | ${p?.profilesCollected ?? 0} | ${on ? fmt(p.maxStallMs, 1) : 'n/a'} | ${fmt(first, 1)} | ${fmt(med, 1)}, ${fmt(later.at(-1), 1)} | ${fmt(s.eventLoopMaxMs, 1)} | ${fmt(s.eventLoopP99Ms, 1)} |`);
}
console.log('');
const target = { lines: 0.97, linked: 0.95, 'linked-ref': 0.95, 'lines-ref': 0.97, 'span-lines': 0.95, 'lines-noheap': 0.97, 'lines-v8guard': 0.97 };
for (const { name } of variants.slice(1)) {
  const r = run.results[name];
  const q = args.paired > 0 ? r?.impliedThroughput : r?.saturated.rpsRatio;
  const qm = args.paired > 0 ? r?.impliedMainThroughput : undefined;
  const ratio = q?.median;
  const what = args.paired > 0 ? 'throughput ratio implied by paired CPU per request' : 'throughput ratio';
  if (name === 'off-again') {
    console.log(`off-again (the profiler off, a second server: the noise floor): ${what} ${fmt(ratio, 3)} [${fmt(q?.min, 3)}, ${fmt(q?.max, 3)}]`);
    continue;
  }
  const stall = stalls[name]?.profiler?.maxStallMs;
  const firstStall = stalls[name]?.profiler?.firstProfileMaxStallMs;
  const steps = stalls[name]?.profiler?.stallsMs ?? [];
  const perStep = name === 'lines-noheap' ? 1 : 2;
  // stallsMs keeps the last 20 steps: it holds the first profile's only while few were taken.
  const profiles = stalls[name]?.profiler?.profilesCollected ?? 0;
  const later = profiles * perStep <= 20 ? steps.slice(perStep) : steps;
  const steady = later.length > 0 ? Math.max(...later) : undefined;
  console.log(
    `${name}: ${what} vs profiler off ${fmt(ratio, 3)} [${fmt(q?.min, 3)}, ${fmt(q?.max, 3)}]${qm ? ` (main thread alone: ${fmt(qm.median, 3)} [${fmt(qm.min, 3)}, ${fmt(qm.max, 3)}])` : ''} (target >= ${target[name]}${ratio >= target[name] ? ', met' : ratio === undefined ? '' : ', MISSED'}); ` +
      `longest stall per profile ${fmt(stall, 1)} ms${firstStall === undefined ? '' : `, first profile ${fmt(firstStall, 1)} ms (target <= 20${firstStall <= 20 ? ', met' : ', MISSED'})`}, after the first profile ${fmt(steady, 1)} ms (target <= 10${steady <= 10 ? ', met' : steady === undefined ? '' : ', MISSED'}); event-loop max ${fmt(stalls[name]?.eventLoopMaxMs, 1)} ms vs ${fmt(stalls.baseline?.eventLoopMaxMs, 1)} ms with the profiler off`,
  );
}
const file = saveJson('profiler-overhead', { scenario: 'profiler-overhead', machine: m, options: { ...opts, period: args.period, intervalMs: args.intervalMs, paired: args.paired }, stalls, ...run });
console.log(`\nraw results: ${file}`);

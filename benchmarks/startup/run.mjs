// Start-up time added by each tracer's preload: `node -e 0` with and without it, runs
// interleaved (A B C D A B C D ...), median and min-max wall time per variant.
// Usage: node benchmarks/startup/run.mjs [--quick] [--runs 15] [--node 22]
import { spawnSync } from 'node:child_process';
import { machine, saveJson, parseArgs, pickVariants, tracerVariants, summarize, repoRoot } from '../lib/harness.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';

const args = parseArgs(process.argv.slice(2), { variants: 'baseline,tracewell,dd-trace,otel' });
const runs = Number(args.runs ?? (args.quick ? 7 : 15));
const execPath = nodeBinary(args.node);
const variants = pickVariants(tracerVariants(), args.variants);
const times = Object.fromEntries(variants.map((v) => [v.name, []]));
for (let r = 0; r < runs + 1; r++) {
  for (const v of variants) {
    const start = process.hrtime.bigint();
    const run = spawnSync(execPath, [...(v.execArgv ?? []), '-e', '0'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', DD_ENV: 'bench', DD_SERVICE: 'bench', TRACEWELL_LOG_LEVEL: 'off', ...(v.env ?? {}) },
      stdio: 'ignore',
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (run.status !== 0) throw new Error(`${v.name} exited with ${run.status}`);
    if (r > 0) times[v.name].push(ms); // the first round warms the file cache
  }
}
const m = machine(execPath);
const base = summarize(times.baseline ?? []).median;
console.log(`\n## startup — Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
console.log('| variant | `node -e 0` ms | added ms |\n|---|---|---|');
for (const [name, t] of Object.entries(times)) {
  const s = summarize(t);
  console.log(`| ${name} | ${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)}) | ${Number.isFinite(base) ? (s.median - base).toFixed(0) : 'n/a'} |`);
}
console.log(`\nraw results: ${saveJson('startup', { machine: m, runs, times })}`);

// Start-up time added by each tracer's preload: `node -e 0` with and without it, runs
// interleaved (A B C D A B C D ...), median and min-max wall time per variant (lib/startup.mjs).
// Usage: node benchmarks/startup/run.mjs [--quick] [--runs 15] [--node 22]
import { machine, saveJson, parseArgs, pickVariants, tracerVariants, range } from '../lib/harness.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';
import { startupSummary, startupTimes } from '../lib/startup.mjs';

const args = parseArgs(process.argv.slice(2), { variants: 'baseline,tracewell,dd-trace,otel' });
const runs = Number(args.runs ?? (args.quick ? 7 : 15));
const execPath = nodeBinary(args.node);
const variants = pickVariants(tracerVariants(), args.variants);
const times = startupTimes(variants, { execPath, runs });
const sum = startupSummary(times);
const m = machine(execPath);
console.log(`\n## startup — Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
console.log(`${runs} interleaved runs per variant; median [min, max]; "added" is taken per round against the baseline of the same round.\n`);
console.log('| variant | `node -e 0` ms (wall) | added ms | CPU ms (user + system) | CPU added ms |\n|---|---|---|---|---|');
for (const [name, s] of Object.entries(sum)) console.log(`| ${name} | ${range(s.ms, 0)} | ${name === 'baseline' ? '' : range(s.added, 0)} | ${range(s.cpuMs, 0)} | ${name === 'baseline' ? '' : range(s.cpuAdded, 0)} |`);
console.log(`\nraw results: ${saveJson('startup', { machine: m, runs, times, cpu: times.cpu })}`);

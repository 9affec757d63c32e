// Fastify (or Express, node:http) hello-world: untraced, the AsyncLocalStorage floor, and
// Tracewell, interleaved in one run. Prints the throughput ratio and the server CPU µs per
// request each adds. Usage: node benchmarks/http-overhead/run.mjs [--quick] [--framework fastify]
//   [--variants baseline,als-floor,tracewell] [--rounds 5] [--rate 5000] [--node 22]
import { runInterleaved, markdownTable, machine, saveJson, scenarioOptions } from '../lib/harness.mjs';

const { args, options } = await scenarioOptions(process.argv.slice(2), { framework: 'fastify', variants: 'baseline,als-floor,tracewell' });
const { variants, execPath } = options;
const opts = {
  ...options,
  framework: args.framework,
  rate: Number(args.rate ?? (args.framework === 'express' ? 2000 : 5000)),
};
process.stderr.write(`http-overhead: ${opts.framework}, ${variants.map((v) => v.name).join(' / ')}, ${opts.rounds} rounds of ${opts.windowMs} ms saturated + ${opts.windowMs} ms at ${opts.rate} req/s\n`);
const out = await runInterleaved(opts);
const m = machine(execPath);
console.log(`\n## http-overhead (${opts.framework}) — Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
console.log(markdownTable(out.results));
const tw = out.results.tracewell;
const floor = out.results['als-floor'];
if (tw) {
  console.log(`\ntracewell throughput ratio vs baseline: ${tw.rpsRatio.median.toFixed(3)}`);
  console.log(`tracewell CPU µs/request added vs baseline (at ${opts.rate} req/s): ${tw.cpuAddedPaced.median.toFixed(1)}`);
  if (floor) console.log(`tracewell µs/request above the ALS floor (at ${opts.rate} req/s): ${(tw.cpuAddedPaced.median - floor.cpuAddedPaced.median).toFixed(1)}`);
}
for (const [name, why] of Object.entries(out.failed)) console.log(`\n${name}: did not run (${why})`);
const file = saveJson(`http-overhead-${opts.framework}`, { machine: m, options: opts, ...out });
console.log(`\nraw results: ${file}`);

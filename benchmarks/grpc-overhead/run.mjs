// gRPC unary calls: untraced vs Tracewell, interleaved in one run; prints the throughput
// ratio and the server CPU µs per call added. Usage: node benchmarks/grpc-overhead/run.mjs
//   [--quick] [--variants baseline,tracewell,dd-trace,otel] [--rounds 5] [--rate 1500] [--node 22]
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInterleaved, markdownTable, machine, saveJson, scenarioOptions } from '../lib/harness.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const { args, options } = await scenarioOptions(process.argv.slice(2), { variants: 'baseline,tracewell' });
const { variants, execPath } = options;
const opts = {
  ...options,
  framework: 'grpc',
  rate: Number(args.rate ?? 1500),
  connections: 32,
  serverScript: join(here, 'server.cjs'),
  loadScript: join(here, 'load.cjs'),
};
process.stderr.write(`grpc-overhead: unary, ${variants.map((v) => v.name).join(' / ')}, ${opts.rounds} rounds\n`);
const out = await runInterleaved(opts);
const m = machine(execPath);
console.log(`\n## grpc-overhead (unary) — Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
console.log(markdownTable(out.results));
const tw = out.results.tracewell;
if (tw) {
  console.log(`\ntracewell throughput ratio vs baseline: ${tw.rpsRatio.median.toFixed(3)}`);
  console.log(`tracewell CPU µs/call added vs baseline (at ${opts.rate} calls/s): ${tw.cpuAddedPaced.median.toFixed(1)}`);
}
for (const [name, why] of Object.entries(out.failed)) console.log(`\n${name}: did not run (${why})`);
console.log(`\nraw results: ${saveJson('grpc-overhead', { machine: m, options: opts, ...out })}`);

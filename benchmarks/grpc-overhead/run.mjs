// gRPC unary calls: untraced vs Tracewell (and peers), interleaved in one run; prints the
// throughput ratio and the server CPU µs per call added. See README.md.
// Usage: node benchmarks/grpc-overhead/run.mjs [--quick] [--variants baseline,tracewell,dd-trace,otel]
//   [--rate 1500 (0: saturated only)] [--rounds 5] [--window-ms 5000] [--node 22]
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headlines, intArg, machine, markdownTables, runInterleaved, saveJson, scenarioOptions } from '../lib/harness.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
let args;
let options;
try {
  ({ args, options } = scenarioOptions(process.argv.slice(2), { variants: 'baseline,tracewell' }));
  options.rate = intArg(args, 'rate', 1500, 0, 1_000_000);
} catch (err) {
  console.error(`grpc-overhead: ${err.message}`);
  process.exit(2);
}
const opts = { ...options, serverScript: join(here, 'server.cjs'), loadScript: join(here, 'load.cjs') };
const names = opts.variants.map((v) => v.name);
process.stderr.write(`grpc-overhead: unary, ${names.join(' / ')}, ${opts.rounds} rounds\n`);
const run = await runInterleaved(opts);
const m = machine(opts.execPath);
console.log(`\n## grpc-overhead (unary): Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
if (Object.keys(run.results).length) console.log(markdownTables(run, { unit: 'call', rate: opts.rate }));
console.log(`\n${headlines(run, { subject: 'tracewell', unit: 'call', rate: opts.rate, selected: names })}`);
console.log(`\nraw results: ${saveJson('grpc-overhead', { scenario: 'grpc-overhead', machine: m, options: opts, ...run })}`);

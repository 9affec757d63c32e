// gRPC unary calls: untraced vs Tracewell (and peers), interleaved in one run; prints the
// throughput ratio and the server CPU µs per call added. See README.md.
// Usage: node benchmarks/grpc-overhead/run.mjs [--quick] [--variants baseline,tracewell,dd-trace,otel]
//   [--method paired|interleaved] [--rounds N] [--window-ms MS] [--rss-ms 60000] [--node 22]
//   [--rate 1500 (interleaved: paced windows; 0: saturated only)] [--client h2|grpc-js]
// --method paired (the default): as in http-overhead (lib/paired-scenario.mjs).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headlines, intArg, machine, markdownTables, runInterleaved, saveJson, scenarioOptions } from '../lib/harness.mjs';
import { pairedDefaults, runPairedScenario } from '../lib/paired-scenario.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
let args;
let options;
try {
  ({ args, options } = scenarioOptions(process.argv.slice(2), { variants: 'baseline,tracewell' }));
  options.rate = intArg(args, 'rate', 1500, 0, 1_000_000);
  args.method ??= 'paired';
  // The load: node:http2 with the request framed once (load-h2.cjs, default), or grpc-js's client (load.cjs).
  args.client ??= 'h2';
  if (!['h2', 'grpc-js'].includes(args.client)) throw new Error(`--client must be h2 or grpc-js, not ${args.client}`);
  if (!['paired', 'interleaved'].includes(args.method)) throw new Error(`--method must be paired or interleaved, not ${args.method}`);
} catch (err) {
  console.error(`grpc-overhead: ${err.message}`);
  process.exit(2);
}
const opts = { ...options, serverScript: join(here, 'server.cjs'), loadScript: join(here, args.client === 'h2' ? 'load-h2.cjs' : 'load.cjs') };
const names = opts.variants.map((v) => v.name);
if (args.method === 'paired') {
  const m = machine(opts.execPath);
  const popts = { ...opts, ...pairedDefaults(opts, args) };
  const { text, run, startup } = await runPairedScenario({ opts: popts, unit: 'call' });
  console.log(`\n## grpc-overhead (unary), paired: Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
  console.log(text);
  console.log(`\nraw results: ${saveJson('grpc-overhead', { scenario: 'grpc-overhead', method: 'paired', machine: m, options: popts, ...run, startup })}`);
  process.exit(0);
}
process.stderr.write(`grpc-overhead: unary, ${names.join(' / ')}, ${opts.rounds} rounds\n`);
const run = await runInterleaved(opts);
const m = machine(opts.execPath);
console.log(`\n## grpc-overhead (unary): Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
if (Object.keys(run.results).length) console.log(markdownTables(run, { unit: 'call', rate: opts.rate }));
console.log(`\n${headlines(run, { subject: 'tracewell', unit: 'call', rate: opts.rate, selected: names })}`);
console.log(`\nraw results: ${saveJson('grpc-overhead', { scenario: 'grpc-overhead', machine: m, options: opts, ...run })}`);

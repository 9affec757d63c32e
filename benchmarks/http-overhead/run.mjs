// What a tracer costs a hello-world web service per request: untraced, the AsyncLocalStorage
// floor, Tracewell (and peers), interleaved in one run. See README.md.
// Usage: node benchmarks/http-overhead/run.mjs [--quick] [--variants baseline,als-floor,tracewell]
//   [--framework fastify|express|http|hono|koa] [--method paired|interleaved] [--rounds N] [--window-ms MS]
//   [--rss-ms 60000] [--startup-runs 15] [--warmup-ms 2000] [--connections 32] [--node 22] [--pin]
//   [--paired RATE] [--rate 5000 (interleaved: paced windows; 0: saturated only)] [--load wrk|undici]
// --method paired (the default): each variant saturated at the same time as the first one
// listed, servers on one CPU and load on the other (lib/paired-scenario.mjs), then RSS after
// --rss-ms alone at saturation and start-up per variant; its load is wrk (lib/load-wrk.mjs)
// when installed, which needs a few µs per request where the undici generator needs about as
// much as the server (`--load undici` for that one). --method interleaved: the windows one
// variant after the other (lib/interleave.mjs), saturated and paced at --rate.
// --paired RATE: instead of the interleaved windows, each variant is measured at the same time
// as the first one listed, both servers held to RATE req/s (lib/paired.mjs): CPU per request
// per pair. For small differences, e.g. a change against the build before it:
// TRACEWELL_REF=/path/to/built/checkout ... --pin --paired 2000 --variants tracewell-ref,tracewell,tracewell-ref-aa
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, headlines, intArg, machine, markdownTables, range, runInterleaved, saveJson, scenarioOptions } from '../lib/harness.mjs';
import { runPaired } from '../lib/paired.mjs';
import { pairedDefaults, runPairedScenario } from '../lib/paired-scenario.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
let args;
let options;
try {
  ({ args, options } = scenarioOptions(process.argv.slice(2), { framework: 'fastify', variants: 'baseline,als-floor,tracewell' }));
  if (!['fastify', 'express', 'http', 'hono', 'koa'].includes(args.framework)) throw new Error(`--framework must be fastify, express, http, hono or koa, not ${args.framework}`);
  // Paced windows run every variant at the same rate, below saturation (Express saturates lower).
  options.rate = intArg(args, 'rate', args.framework === 'express' ? 2000 : 5000, 0, 1_000_000);
  args.paired = intArg(args, 'paired', 0, 0, 1_000_000);
  args.method ??= 'paired';
  // Saturated paired windows: wrk when installed (see load-wrk.mjs); paced windows: undici.
  const saturatedPaired = args.method === 'paired' && !(args.paired > 0);
  args.load ??= saturatedPaired && !spawnSync('wrk', ['--version']).error ? 'wrk' : 'undici';
  if (!['wrk', 'undici'].includes(args.load)) throw new Error(`--load must be wrk or undici, not ${args.load}`);
  if (args.load === 'wrk' && !saturatedPaired) throw new Error('--load wrk is for the saturated paired method only (no --paired RATE, no --method interleaved)');
  if (!['paired', 'interleaved'].includes(args.method)) throw new Error(`--method must be paired or interleaved, not ${args.method}`);
} catch (err) {
  console.error(`http-overhead: ${err.message}`);
  process.exit(2);
}
const opts = {
  ...options,
  serverScript: join(here, 'server.mjs'),
  serverEnv: { FRAMEWORK: args.framework },
  loadScript: join(here, '..', 'lib', args.load === 'wrk' ? 'load-wrk.mjs' : 'load.mjs'),
};
const names = opts.variants.map((v) => v.name);
const m = machine(opts.execPath);
if (args.paired > 0) {
  if (names.length < 2) {
    console.error('http-overhead: --paired needs at least two variants, the first one the reference');
    process.exit(2);
  }
  process.stderr.write(
    `http-overhead: ${args.framework}, paired: ${names.slice(1).join(', ')}, each at the same time as ${names[0]}, both at ${args.paired} req/s; ` +
      `${opts.rounds} rounds of ${opts.windowMs} ms${opts.pin ? `, servers on CPU ${opts.pin.server}, load on CPU ${opts.pin.load}` : ''}\n`,
  );
  const run = await runPaired({ ...opts, rate: args.paired });
  console.log(`\n## http-overhead (${args.framework}), paired: Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
  console.log(`Each variant measured at the same time as ${names[0]}, both servers at ${args.paired} req/s${opts.pin ? `, servers on CPU ${opts.pin.server}, load on CPU ${opts.pin.load}` : ''}; median [min, max] over rounds of the per-pair values:\n`);
  console.log(`| variant | rounds | ${names[0]} CPU µs/req | variant CPU µs/req | added µs/req | implied throughput ratio | main thread added µs/req |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, r] of Object.entries(run.results)) console.log(`| ${name} | ${r.rounds} | ${range(r.baseCpu)} | ${range(r.cpu)} | ${range(r.added, 2)} | ${range(r.impliedThroughput, 3)} | ${range(r.addedMain, 2)} |`);
  for (const [name, why] of Object.entries(run.failed)) console.log(`\n${name}: ${why}`);
  for (const [name, r] of Object.entries(run.results)) console.log(`\n${name} CPU µs/request added vs ${names[0]} (paired, ${args.paired} req/s): ${fmt(r.added.median, 2)} [${fmt(r.added.min, 2)}, ${fmt(r.added.max, 2)}]`);
  const file = saveJson('http-overhead', { scenario: 'http-overhead', machine: m, options: { ...opts, framework: args.framework, paired: args.paired }, ...run });
  console.log(`\nraw results: ${file}`);
  process.exit(0);
}
if (args.method === 'paired') {
  if (names.length < 2) {
    console.error('http-overhead: the paired method needs at least two variants, the first one the reference');
    process.exit(2);
  }
  const popts = { ...opts, ...pairedDefaults(opts, args), loadName: args.load };
  const { text, run, startup } = await runPairedScenario({ opts: popts, unit: 'req' });
  console.log(`\n## http-overhead (${args.framework}), paired: Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
  console.log(text);
  const file = saveJson('http-overhead', { scenario: 'http-overhead', method: 'paired', machine: m, options: { ...popts, framework: args.framework }, ...run, startup });
  console.log(`\nraw results: ${file}`);
  process.exit(0);
}
const perRound = (opts.rate > 0 ? 2 : 1) * (opts.windowMs + opts.rampMs + 150) * names.length;
process.stderr.write(
  `http-overhead: ${args.framework}, ${names.join(' / ')}; ${opts.rounds} rounds of ${opts.windowMs} ms saturated` +
    `${opts.rate > 0 ? ` + ${opts.windowMs} ms at ${opts.rate} req/s` : ''} per variant, ${opts.connections} connections; ` +
    `about ${Math.ceil((opts.rounds * perRound + names.length * (opts.warmupMs + 1500)) / 1000)} s\n`,
);

const run = await runInterleaved(opts);
console.log(`\n## http-overhead (${args.framework}): Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
if (Object.keys(run.results).length) console.log(markdownTables(run, { unit: 'req', rate: opts.rate }));
console.log(`\n${headlines(run, { subject: 'tracewell', unit: 'request', rate: opts.rate, selected: names })}`);
const file = saveJson('http-overhead', {
  scenario: 'http-overhead',
  machine: m,
  options: { ...opts, variants: opts.variants, framework: args.framework },
  ...run,
});
console.log(`\nraw results: ${file}`);

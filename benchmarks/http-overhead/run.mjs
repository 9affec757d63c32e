// What a tracer costs a hello-world web service per request: untraced, the AsyncLocalStorage
// floor, Tracewell (and peers), interleaved in one run. See README.md.
// Usage: node benchmarks/http-overhead/run.mjs [--quick] [--variants baseline,als-floor,tracewell]
//   [--framework fastify|express|http] [--rate 5000 (0: saturated only)] [--rounds 5]
//   [--window-ms 5000] [--warmup-ms 2000] [--connections 32] [--node 22]
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headlines, intArg, machine, markdownTables, runInterleaved, saveJson, scenarioOptions } from '../lib/harness.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
let args;
let options;
try {
  ({ args, options } = scenarioOptions(process.argv.slice(2), { framework: 'fastify', variants: 'baseline,als-floor,tracewell' }));
  if (!['fastify', 'express', 'http'].includes(args.framework)) throw new Error(`--framework must be fastify, express or http, not ${args.framework}`);
  // Paced windows run every variant at the same rate, below saturation (Express saturates lower).
  options.rate = intArg(args, 'rate', args.framework === 'express' ? 2000 : 5000, 0, 1_000_000);
} catch (err) {
  console.error(`http-overhead: ${err.message}`);
  process.exit(2);
}
const opts = {
  ...options,
  serverScript: join(here, 'server.mjs'),
  serverEnv: { FRAMEWORK: args.framework },
  loadScript: join(here, '..', 'lib', 'load.mjs'),
};
const names = opts.variants.map((v) => v.name);
const perRound = (opts.rate > 0 ? 2 : 1) * (opts.windowMs + opts.rampMs + 150) * names.length;
process.stderr.write(
  `http-overhead: ${args.framework}, ${names.join(' / ')}; ${opts.rounds} rounds of ${opts.windowMs} ms saturated` +
    `${opts.rate > 0 ? ` + ${opts.windowMs} ms at ${opts.rate} req/s` : ''} per variant, ${opts.connections} connections; ` +
    `about ${Math.ceil((opts.rounds * perRound + names.length * (opts.warmupMs + 1500)) / 1000)} s\n`,
);

const run = await runInterleaved(opts);
const m = machine(opts.execPath);
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

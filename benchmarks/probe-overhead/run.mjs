// What a dynamic probe costs. Part 1: ns added per hit on a hot function (no probe, a
// hand-written line doing the same, a live-edit decoration probe, a live-edit count probe),
// interleaved in one process. Part 2: Fastify hello-world throughput with a decoration probe
// on the handler's line, with the same tag written by hand, and without either, interleaved
// servers (the http-overhead harness). See README.md.
// Usage: node benchmarks/probe-overhead/run.mjs [--quick] [--node 22] [--rounds N] [--window-ms N]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headlines, machine, markdownTables, runInterleaved, saveJson, scenarioOptions } from '../lib/harness.mjs';
import { tracerVariants } from '../lib/variants.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
let args;
let options;
try {
  ({ args, options } = scenarioOptions(process.argv.slice(2), { variants: 'tracewell' }));
} catch (err) {
  console.error(`probe-overhead: ${err.message}`);
  process.exit(2);
}

const lineOf = (file, text) => readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- Part 1: the hot function
const hot = join(here, 'hot.cjs');
const probes = [`probe-overhead/hot.cjs:${lineOf(hot, 'probe: decoration')} request.id`, `count probe-overhead/hot.cjs:${lineOf(hot, 'probe: metric')} bench.calls`].join(';');
process.stderr.write('probe-overhead: hot function, interleaved in one process...\n');
const out = JSON.parse(
  execFileSync(options.execPath, ['--require', 'tracewell/register', hot], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TRACEWELL_PROBES: probes, DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', DD_DOGSTATSD_PORT: '9', DD_ENV: 'bench', ROUNDS: String(options.quick ? 5 : 11), CALLS: String(options.quick ? 200_000 : 1_000_000) },
    encoding: 'utf8',
  }),
);
const m = machine(options.execPath);
const base = median(out.ns.plain);
console.log(`\n## probe-overhead: Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
console.log('| function | ns per call (median) | ns added vs no probe |\n|---|---:|---:|');
for (const [name, label] of [['plain', 'no probe'], ['hand', 'hand-written line (active span + set tag)'], ['decorated', 'live-edit span decoration probe'], ['counted', 'live-edit count metric probe']]) {
  const v = median(out.ns[name]);
  console.log(`| ${label} | ${v.toFixed(1)} | ${name === 'plain' ? '' : (v - base).toFixed(1)} |`);
}
console.log(`\nprobes: ${out.probes.map((p) => `${p.id} ${p.status} (${p.technique}, ${p.hits} hits)`).join('; ')}`);

// ---- Part 2: Fastify throughput: no probe, the same tag written by hand, a decoration probe
const server = join(here, 'server.mjs');
const handlerLine = lineOf(server, 'probe: handler');
const tracewell = tracerVariants().tracewell;
const variants = [
  { ...tracewell, name: 'tracewell' },
  { ...tracewell, name: 'tracewell-hand-tag', env: { HAND_TAG: '1' } },
  { ...tracewell, name: 'tracewell-probe', env: { TRACEWELL_PROBES: `probe-overhead/server.mjs:${handlerLine} name=req.params.name` } },
];
const opts = { ...options, variants, baseline: 'tracewell', floor: 'none', rate: 0, serverScript: server, serverEnv: {}, loadScript: join(here, '..', 'lib', 'load.mjs') };
process.stderr.write(`probe-overhead: Fastify, tracewell / the same tag by hand / a decoration probe on server.mjs:${handlerLine}; ${opts.rounds} rounds of ${opts.windowMs} ms\n`);
const run = await runInterleaved(opts);
if (Object.keys(run.results).length) console.log('\n' + markdownTables(run, { unit: 'req', rate: 0, floor: 'none' }));
console.log(`\n${headlines(run, { subject: 'tracewell-probe', unit: 'request', rate: 0, selected: ['tracewell-probe'], floor: 'none' }).replace(/vs baseline/g, 'vs tracewell without probes')}`);
const file = saveJson('probe-overhead', { scenario: 'probe-overhead', machine: m, hot: out, options: { ...opts }, ...run });
console.log(`\nraw results: ${file}`);

// What a dynamic probe costs. Part 1: ns added per hit on a hot function (no probe, a
// hand-written line doing the same, a decoration and a count probe), interleaved in one
// process; once with the probes placed at load time, once (another process) put in by live edit. Part 2: what putting a
// probe in blocks the process for, at load time and by live edit, in a small and a 215 KB
// module. Part 3: Fastify hello-world throughput with a decoration probe on the handler's
// line, with the same tag written by hand, and without either, interleaved servers (the
// http-overhead harness). See README.md.
// Usage: node benchmarks/probe-overhead/run.mjs [--quick] [--node 22] [--rounds N] [--window-ms N] [--skip-fastify]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const scratch = mkdtempSync(join(tmpdir(), 'tw-probe-bench-'));
const hotRun = (env) =>
  JSON.parse(
    execFileSync(options.execPath, ['--require', 'tracewell/register', hot], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', DD_DOGSTATSD_PORT: '9', DD_ENV: 'bench', ROUNDS: String(options.quick ? 5 : 11), CALLS: String(options.quick ? 200_000 : 1_000_000), ...env },
      encoding: 'utf8',
    }),
  );
// The same probes, placed as the file loads and (in a process of its own) put in by live edit after.
process.stderr.write('probe-overhead: hot function, interleaved in one process; probes placed at load time, then put in by live edit...\n');
const hotRuns = { 'load-time': hotRun({ TRACEWELL_PROBES: probes }), 'live-edit': hotRun({ TRACEWELL_PROBES_FILE: join(scratch, 'hot-probes.txt'), AFTER_LOAD: probes }) };
const m = machine(options.execPath);
console.log(`\n## probe-overhead: Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
console.log('| function | probes placed at load time: ns per call (median) | ns added vs no probe | probes put in by live edit: ns per call | ns added |\n|---|---:|---:|---:|---:|');
const cell = (run, name) => {
  if (run.ns === null) return name === 'plain' ? 'n/a (no live edit on this Node line) | ' : ' | ';
  const v = median(run.ns[name]);
  return `${v.toFixed(1)} | ${name === 'plain' ? '' : (v - median(run.ns.plain)).toFixed(1)}`;
};
for (const [name, label] of [['plain', 'no probe'], ['hand', 'hand-written line (active span + set tag)'], ['decorated', 'span decoration probe'], ['counted', 'count metric probe']]) {
  console.log(`| ${label} | ${cell(hotRuns['load-time'], name)} | ${cell(hotRuns['live-edit'], name)} |`);
}
for (const [how, run] of Object.entries(hotRuns)) console.log(`\nprobes (${how} run): ${run.probes.map((p) => `${p.id} ${p.status} (${p.technique ?? p.errorType}${p.hits === undefined ? '' : `, ${p.hits} hits`})`).join('; ')}`);

// ---- Part 2: what putting a probe in costs: at load time, by live edit; a small and a 215 KB module
const install = join(here, 'install.cjs');
const sizes = { small: 2, large: 215 };
const installRuns = options.quick ? 5 : 11;
const installResults = {};
process.stderr.write(`probe-overhead: install cost, ${installRuns} processes per mode and size, interleaved...\n`);
for (const [size, kb] of Object.entries(sizes)) {
  const file = join(scratch, `${size}.cjs`);
  let text = '';
  for (let i = 0; text.length < kb * 1024; i++) text += `function f${i}(request) {\n  const total = request.id + ${i};\n  return total;\n}\n`;
  writeFileSync(file, text + 'module.exports = { f0 };\n');
  const probeLine = Math.floor(text.split('\n').length / 8) * 4 + 2;
  const probe = `${file}:${probeLine} request.id`;
  const modes = {
    baseline: { TRACEWELL_PROBES: `${join(scratch, 'never.cjs')}:1 x` },
    'load-time': { TRACEWELL_PROBES: probe },
    'live-edit': { TRACEWELL_PROBES_FILE: join(scratch, `${size}-probes.txt`) },
  };
  writeFileSync(join(scratch, 'never.cjs'), 'x;\n');
  const results = Object.fromEntries(Object.keys(modes).map((k) => [k, []]));
  for (let r = 0; r < installRuns; r++) {
    for (const [mode, env] of Object.entries(modes)) {
      if (mode === 'live-edit') writeFileSync(env.TRACEWELL_PROBES_FILE, '');
      const res = JSON.parse(
        execFileSync(options.execPath, ['--require', 'tracewell/register', install], {
          cwd: root,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, MODE: mode, MODULE: file, PROBE: probe, DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', DD_ENV: 'bench', ...env },
          encoding: 'utf8',
        }),
      );
      results[mode].push(res);
    }
  }
  installResults[size] = results;
}
rmSync(scratch, { recursive: true, force: true });
console.log('\n| module | require, no probe (ms) | require with a probe placed at load time (ms) | added at load time (ms) | live edit after load: longest event-loop block (ms) |\n|---|---:|---:|---:|---:|');
for (const [size, results] of Object.entries(installResults)) {
  const b = median(results.baseline.map((x) => x.requireMs));
  const l = median(results['load-time'].map((x) => x.requireMs));
  const edited = results['live-edit'].filter((x) => x.technique === 'live-edit');
  const e = edited.length > 0 ? `${median(edited.map((x) => x.blockMs)).toFixed(1)}` : `n/a (${results['live-edit'][0].errorType})`;
  const placed = results['load-time'].every((x) => x.technique === 'load-time');
  console.log(`| ${size} (${sizes[size]} KB) | ${b.toFixed(2)} | ${l.toFixed(2)}${placed ? '' : ' (not placed!)'} | ${(l - b).toFixed(2)} | ${e} |`);
}

// ---- Part 3: Fastify throughput: no probe, the same tag written by hand, a decoration probe
if (args.skipFastify) {
  saveJson('probe-overhead', { scenario: 'probe-overhead', machine: m, hot: hotRuns, install: installResults });
  process.exit(0);
}
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
const file = saveJson('probe-overhead', { scenario: 'probe-overhead', machine: m, hot: hotRuns, install: installResults, options: { ...opts }, ...run });
console.log(`\nraw results: ${file}`);

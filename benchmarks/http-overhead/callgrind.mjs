// Instructions per request, counted by valgrind's callgrind: repeatable whatever else runs on
// the machine, unlike CPU time. The server (server.mjs, one variant) runs under callgrind; the
// load (undici, keep-alive, a W3C traceparent on every request, as load.mjs sends) and the
// agent sink run in this process, outside it. After --warmup requests the counters are zeroed
// (`callgrind_control -z`), --requests more are sent, and the counts are dumped (`-d`): every
// instruction of every thread of the server in that window (JIT code, GC, the 1 s export timer
// and the export's requests included) divided by the requests.
// Usage: node benchmarks/http-overhead/callgrind.mjs [--framework fastify] [--variants baseline,als-floor,tracewell]
//   [--requests 4000] [--warmup 3000] [--connections 8] [--node 24] [--out /tmp/dir] [--cpu-prof 1] [--node-flags '--trace-gc']
// Prints one line per variant: instructions per request, and added vs the first variant.
// `callgrind_annotate <out>/<variant>.<pid>.2` (the dump after the window) attributes them to
// functions; V8's generated code shows as addresses (use --cpu-prof for JS functions).
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSink } from '../lib/sink.mjs';
import { tracerVariants, pickVariants } from '../lib/variants.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..');
const { Pool } = createRequire(join(repoRoot, 'package.json'))('undici');

function flags(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
    i++;
  }
  return out;
}

const args = flags(process.argv.slice(2));
const framework = args.framework ?? 'fastify';
const requests = Number(args.requests ?? 4000);
const warmup = Number(args.warmup ?? 3000);
const connections = Number(args.connections ?? 8);
const out = args.out ?? join('/tmp', `tracewell-callgrind-${process.pid}`);
const execPath = args.node ? nodeBinary(args.node) : process.execPath;
const variants = pickVariants(tracerVariants(), args.variants ?? 'baseline,als-floor,tracewell');
mkdirSync(out, { recursive: true });
// --cpu-prof: no valgrind; the server writes a V8 CPU profile (250 µs interval) of warm-up and
// window into <out>/<variant>/, for attribution to JS functions, and on Node 26+ the bytes V8
// allocated per request in the window are printed (lib/alloc-probe.cjs).
const cpuProf = args['cpu-prof'] !== undefined;
// --node-flags '--trace-gc ...': more flags for the server's node, before the variant's.
const nodeFlags = args['node-flags'] ? args['node-flags'].split(' ').filter(Boolean) : [];

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

let retried = 0;
// A reset socket of the load's (valgrind slows the server past timeouts) must not end the run.
process.on('uncaughtException', (err) => {
  retried++;
  process.stderr.write(`load: ${err.message}\n`);
});

async function load(port, n) {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1, headersTimeout: 120_000, bodyTimeout: 120_000 });
  let left = n;
  const worker = async () => {
    while (left > 0) {
      left--;
      try {
        const res = await pool.request({ path: '/hello/world', method: 'GET', headers: { traceparent: TRACEPARENT } });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
      } catch (err) {
        // A connection reset (seen under valgrind on Node 20): the request is sent again, and
        // the count says how many were; an answered request other than 200 ends the run.
        if (/^HTTP /.test(err.message)) throw err;
        retried++;
        left++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await pool.close();
}

/** The Ir total of a callgrind output file (its `totals:` or `summary:` line). */
function totalIr(file) {
  const text = readFileSync(file, 'utf8');
  const m = /^(?:totals|summary): (\d+)/m.exec(text);
  if (!m) throw new Error(`no totals in ${file}`);
  return Number(m[1]);
}

/** V8's bytes allocated so far in the server (Node 26+), null where it does not say. */
let allocIds = 0;
function allocated(child) {
  const id = ++allocIds;
  return new Promise((resolve) => {
    const on = (m) => {
      if (m?.type !== 'alloc' || m.id !== id) return;
      child.off('message', on);
      resolve(m.bytes);
    };
    child.on('message', on);
    child.send({ type: 'alloc', id });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function measure(variant, sinkUrl) {
  const prefix = join(out, variant.name);
  const nodeArgs = [...nodeFlags, ...(variant.execArgv ?? []), join(here, 'server.mjs')];
  const child = spawn(
    cpuProf ? execPath : 'valgrind',
    cpuProf
      ? ['--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', join(out, variant.name), '--require', join(here, '..', 'lib', 'alloc-probe.cjs'), ...nodeArgs]
      : ['--tool=callgrind', `--callgrind-out-file=${prefix}.%p`, '--dump-line=no', execPath, ...nodeArgs],
    {
      cwd: repoRoot,
      // In --cpu-prof runs the server's stdout goes to <out>/<variant>.stdout (NODE_OPTIONS=--trace-gc shows there).
      stdio: ['ignore', cpuProf ? openSync(`${prefix}.stdout`, 'w') : 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, ...(variant.env ?? {}), FRAMEWORK: framework, DD_TRACE_AGENT_URL: sinkUrl, DD_SERVICE: 'bench' },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const port = await new Promise((resolve, reject) => {
    child.on('message', (m) => m?.type === 'listening' && resolve(m.port));
    child.on('exit', (code) => reject(new Error(`${variant.name} exited ${code}: ${stderr.slice(-2000)}`)));
  });
  await load(port, warmup);
  await sleep(1500); // the export of the warm-up's spans, outside the window
  if (cpuProf) {
    const before = await allocated(child);
    await load(port, requests);
    const after = await allocated(child);
    if (before !== null && after !== null) process.stderr.write(`${variant.name}: ${((after - before) / requests).toFixed(0)} bytes allocated per request\n`);
    child.send({ type: 'exit' });
    await new Promise((r) => child.once('exit', r));
    return { ir: NaN, file: join(out, variant.name) };
  }
  execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
  await load(port, requests);
  await sleep(1500); // their export, inside the window (the 1 s flush timer)
  execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' });
  child.send({ type: 'exit' });
  await new Promise((r) => child.once('exit', r));
  const dumps = readdirSync(out)
    .filter((f) => f.startsWith(`${variant.name}.${child.pid}.`))
    .sort();
  const window = join(out, dumps[dumps.length - 1]);
  return { ir: totalIr(window), file: window };
}

const sink = await startSink(variants.map((v) => v.name));
const results = [];
for (const v of variants) {
  const r = await measure(v, sink.urls[v.name]);
  results.push({ name: v.name, perRequest: r.ir / requests, file: r.file });
  process.stderr.write(`${v.name}: ${(r.ir / requests).toFixed(0)} instructions/request (${r.file})\n`);
}
const stats = await sink.stats();
await sink.close();
const node = execFileSync(execPath, ['--version']).toString().trim();
console.log(`\n${framework}, Node ${node}, ${requests} requests after ${warmup} warm-up, ${connections} connections (${retried} sent again after a reset); callgrind instructions per request:\n`);
console.log('| variant | instructions/request | added vs ' + results[0].name + ' | bytes to the sink |');
console.log('| --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.name} | ${r.perRequest.toFixed(0)} | ${r === results[0] ? '' : (r.perRequest - results[0].perRequest).toFixed(0)} | ${stats[r.name]?.bytes ?? 0} |`);
}

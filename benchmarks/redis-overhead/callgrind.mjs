// Instructions per Redis GET, counted by valgrind's callgrind: repeatable whatever else runs on
// the machine (CPU time per GET on this VM moves by half from one minute to the next). The
// client (worker.cjs, one variant) runs under callgrind against a real redis-server; the
// agent sink runs in this process. After --warmup GETs the counters are zeroed
// (`callgrind_control -z`), --calls more GETs are made (--inflight at a time, each its own
// trace), and after a pause for their export (the 1 s flush) the counts are dumped (`-d`):
// every instruction of the client in that window, export included, divided by the GETs.
// Usage: node benchmarks/redis-overhead/callgrind.mjs [--clients ioredis,redis]
//   [--variants baseline,tracewell] [--calls 20000] [--warmup 20000] [--inflight 32] [--node 24] [--out DIR]
// `callgrind_annotate <out>/<client>-<variant>.<pid>.2` attributes the window to functions
// (V8's generated code shows as addresses; --cpu-prof of the same worker names JS functions).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSink } from '../lib/sink.mjs';
import { countInstructions } from '../lib/callgrind.mjs';
import { tracerVariants, pickVariants } from '../lib/variants.mjs';
import { parseArgs, intArg } from '../lib/args.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';
import { startRedis } from '../../test/helpers/servers/redis.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..');

const args = parseArgs(process.argv.slice(2), { clients: 'ioredis,redis', variants: 'baseline,tracewell' });
const clients = String(args.clients).split(',');
const calls = intArg(args, 'calls', 20000, 1);
const warmup = intArg(args, 'warmup', 20000, 0);
const inflight = intArg(args, 'inflight', 32, 1);
const out = args.out ?? join('/tmp', `tracewell-redis-callgrind-${process.pid}`);
const execPath = nodeBinary(args.node);
const variants = pickVariants(tracerVariants(), args.variants);
mkdirSync(out, { recursive: true });

function measure(kind, variant, sinkUrl, redisPort) {
  const env = { BENCH_CLIENT: kind, REDIS_PORT: String(redisPort), DD_TRACE_AGENT_URL: sinkUrl };
  return countInstructions({ name: `${kind}-${variant.name}`, worker: join(here, 'worker.cjs'), variant, env, execPath, cwd: repoRoot, out, warmup, calls, inflight });
}

const redis = await startRedis();
const sink = await startSink(clients.flatMap((k) => variants.map((v) => `${k}-${v.name}`)));
const rows = [];
try {
  for (const kind of clients) {
    let base = NaN;
    let baseMain = NaN;
    for (const v of variants) {
      const r = await measure(kind, v, sink.urls[`${kind}-${v.name}`], redis.port);
      const per = r.ir / calls;
      const main = r.mainIr / calls;
      if (v === variants[0]) [base, baseMain] = [per, main];
      rows.push({ kind, name: v.name, per, added: per - base, main, addedMain: main - baseMain, file: r.file });
      process.stderr.write(`${kind} ${v.name}: ${per.toFixed(0)} instructions/GET (${r.file})\n`);
    }
  }
} finally {
  await sink.close();
  await redis.stop();
}
const node = execFileSync(execPath, ['--version']).toString().trim();
console.log(`\nRedis GET, Node ${node}, ${calls} GETs after ${warmup} warm-up, ${inflight} in flight, each its own trace; callgrind instructions per GET (client process, export included):\n`);
console.log(`| client | variant | instructions/GET | added vs ${variants[0].name} | main thread | added |`);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  const first = r.name === variants[0].name;
  console.log(`| ${r.kind} | ${r.name} | ${r.per.toFixed(0)} | ${first ? '' : r.added.toFixed(0)} | ${r.main.toFixed(0)} | ${first ? '' : r.addedMain.toFixed(0)} |`);
}

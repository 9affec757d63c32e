// CPU each tracer adds per Redis GET, for ioredis and node-redis 5, against a real
// redis-server (Debian's package, started on a free port). Usage:
//   node benchmarks/redis-overhead/run.mjs [--quick] [--rounds N] [--calls N]
//        [--clients ioredis,redis] [--variants baseline,tracewell,dd-trace,otel] [--node 22]
// One long-lived process per variant and client (worker.cjs), all exporting to one local
// sink. Rounds interleave the variants (the order rotates each round); a window is --calls
// sequential GETs. Per round, each variant's CPU µs per GET minus the untraced baseline's of
// the same round is what the tracer adds; reported as median [min, max] over rounds.
import { forkChild, waitMessage, stopChild, parseArgs, intArg, pickVariants, tracerVariants, startSinkProcess, summarize, range, fmt, machine, saveJson } from '../lib/harness.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';
import { startRedis } from '../../test/helpers/servers/redis.mjs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs(process.argv.slice(2), { variants: 'baseline,tracewell,dd-trace,otel', clients: 'ioredis,redis' });
const quick = Boolean(args.quick);
const rounds = intArg(args, 'rounds', quick ? 3 : 7, 1, 100);
const calls = intArg(args, 'calls', quick ? 10_000 : 30_000, 100, 10_000_000);
const warmup = intArg(args, 'warmup', quick ? 20_000 : 50_000, 0, 10_000_000);
const execPath = nodeBinary(args.node);
const known = tracerVariants();
// The OTel variant loads this scenario's SDK set-up (ioredis and redis instrumentations).
known.otel = { name: 'otel', execArgv: ['--require', join(here, 'otel-preload.cjs')] };
const variants = pickVariants(known, args.variants);
const clients = String(args.clients).split(',');

const redis = await startRedis();
const sink = await startSinkProcess(variants.map((v) => v.name));
const results = {};
try {
  for (const kind of clients) {
    const workers = {};
    for (const v of variants) {
      const child = forkChild(join(here, 'worker.cjs'), [], {
        execPath,
        execArgv: v.execArgv ?? [],
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          BENCH_CLIENT: kind,
          REDIS_PORT: String(redis.port),
          DD_TRACE_AGENT_URL: sink.urls[v.name],
          DD_SERVICE: 'bench',
          DD_TRACE_STARTUP_LOGS: 'false',
          DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
          DD_REMOTE_CONFIGURATION_ENABLED: 'false',
          DD_RUNTIME_METRICS_ENABLED: 'false',
          TRACEWELL_LOG_LEVEL: 'error',
          OTEL_LOG_LEVEL: 'none',
          ...(v.env ?? {}),
        },
      });
      await waitMessage(child, (m) => m?.type === 'ready', 30_000, `${kind} ${v.name} start`);
      workers[v.name] = child;
    }
    const window = async (name, n) => {
      const child = workers[name];
      const done = waitMessage(child, (m) => m?.type === 'ran', 600_000, `${kind} ${name} window`);
      child.send({ type: 'run', calls: n });
      return done;
    };
    for (const v of variants) if (warmup > 0) await window(v.name, warmup);
    const perCall = Object.fromEntries(variants.map((v) => [v.name, []]));
    const bytes = Object.fromEntries(variants.map((v) => [v.name, 0]));
    let exported = 0;
    const added = Object.fromEntries(variants.map((v) => [v.name, []]));
    for (let r = 0; r < rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length].name);
      const round = {};
      for (const name of order) {
        const before = (await sink.stats())[name].bytes;
        const res = await window(name, calls);
        round[name] = res.cpuUs / res.calls;
        bytes[name] += (await sink.stats())[name].bytes - before;
      }
      exported += calls;
      for (const v of variants) {
        perCall[v.name].push(round[v.name]);
        if (round.baseline !== undefined) added[v.name].push(round[v.name] - round.baseline);
      }
      process.stderr.write(`${kind} round ${r + 1}/${rounds}: ${order.map((n) => `${n} ${fmt(round[n], 2)}`).join(', ')} µs/GET\n`);
    }
    results[kind] = { exportBytesPerCall: Object.fromEntries(variants.map((v) => [v.name, bytes[v.name] / exported])), perCall: Object.fromEntries(Object.entries(perCall).map(([k, v]) => [k, summarize(v)])), added: Object.fromEntries(Object.entries(added).map(([k, v]) => [k, summarize(v)])), raw: { perCall, added } };
    await Promise.all(Object.values(workers).map((c) => stopChild(c)));
  }
} finally {
  await sink.close?.();
  await redis.stop();
}

const label = { ioredis: 'ioredis 5', redis: 'node-redis 5' };
console.log('## Redis GET overhead\n');
console.log(`Sequential GETs on one connection to a local redis-server, each its own trace; ${rounds} rounds of ${calls} GETs per variant, interleaved. CPU µs per GET of the client process (export included), median [min, max] over rounds; "added" is minus the untraced baseline of the same round; "export B/GET" is what the variant sent to the sink during its windows, per GET (0: it traced nothing).\n`);
console.log('| client | variant | CPU µs/GET | added µs/GET | export B/GET |');
console.log('| --- | --- | --- | --- | --- |');
for (const kind of clients) {
  for (const v of variants) console.log(`| ${label[kind] ?? kind} | ${v.name} | ${range(results[kind].perCall[v.name], 2)} | ${range(results[kind].added[v.name], 2)} | ${fmt(results[kind].exportBytesPerCall[v.name], 0)} |`);
}
console.log('');
for (const kind of clients) {
  const a = results[kind].added;
  const tw = a.tracewell?.median;
  const peers = ['dd-trace', 'otel'].filter((p) => a[p] !== undefined).map((p) => a[p].median);
  if (tw !== undefined && peers.length > 0) {
    const cheapest = Math.min(...peers);
    console.log(`${label[kind] ?? kind}: tracewell adds ${fmt(tw, 2)} µs/GET; the cheaper peer ${fmt(cheapest, 2)} µs/GET (tracewell/peer ${fmt(tw / cheapest, 2)})`);
  }
}
const file = saveJson('redis-overhead', { machine: machine(execPath), rounds, calls, results });
console.log(`\nraw results: ${file}`);

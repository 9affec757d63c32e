// CPU each tracer adds per Redis GET, for ioredis and node-redis 5, against a real
// redis-server (Debian's package, started on a free port). Usage:
//   node benchmarks/redis-overhead/run.mjs [--quick] [--rounds N] [--window-ms MS]
//        [--clients ioredis,redis] [--variants baseline,tracewell,dd-trace,otel] [--node 22]
//        [--method paired|interleaved] [--inflight N] [--pin CLIENT_CPUS:SERVER_CPUS]
// One long-lived process per variant and client (worker.cjs), all exporting to one local
// sink.
// paired (default): every variant is measured at the same time as the untraced baseline, the
// two client processes pinned to CPU 0 and redis-server and the sink to CPU 1, each issuing
// GETs for the same window, --inflight (32) at a time on its one connection; per pair, the
// variant's CPU µs per GET minus the baseline's is what the tracer adds. A second untraced
// process (`untraced-2`) is paired the same way: its "added" is the method's noise floor.
// Why: with one GET at a time a GET costs 75-220 µs of client CPU on this VM, nearly all of it
// the socket's system calls and wake-ups, which swing by more than a tracer's whole cost and
// change with whatever else shares the CPU; with 32 in flight the client writes and reads many
// commands per system call, and what differs between variants is the work per command (which
// is what a tracer adds, whether a service's commands wait alone or not).
// interleaved: the variants one after another, the order rotating each round (--calls GETs a
// window).
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { forkChild, waitMessage, stopChild, parseArgs, intArg, pickVariants, tracerVariants, startSinkProcess, summarize, range, fmt, machine, saveJson } from '../lib/harness.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';
import { startRedis } from '../../test/helpers/servers/redis.mjs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs(process.argv.slice(2), { variants: 'baseline,tracewell,dd-trace,otel', clients: 'ioredis,redis', method: 'paired' });
const quick = Boolean(args.quick);
const paired = args.method !== 'interleaved';
if (args.method !== 'paired' && args.method !== 'interleaved') throw new Error(`--method is paired or interleaved, not ${args.method}`);
const rounds = intArg(args, 'rounds', paired ? (quick ? 5 : 9) : quick ? 3 : 7, 1, 100);
const calls = intArg(args, 'calls', quick ? 10_000 : 30_000, 100, 10_000_000);
const windowMs = intArg(args, 'windowMs', quick ? 2000 : 4000, 200, 120_000);
const warmup = intArg(args, 'warmup', quick ? 20_000 : 50_000, 0, 10_000_000);
// Paired windows: GETs in flight at once per client (1: each waits for the one before).
const inflight = intArg(args, 'inflight', 32, 1, 10_000);
const execPath = nodeBinary(args.node);
const known = tracerVariants();
// The OTel variant loads this scenario's SDK set-up (ioredis and redis instrumentations).
known.otel = { name: 'otel', execArgv: ['--require', join(here, 'otel-preload.cjs')] };
const variants = pickVariants(known, args.variants);
if (paired) {
  if (variants[0]?.name !== 'baseline') throw new Error('--method paired needs baseline as the first variant');
  variants.push({ name: 'untraced-2', execArgv: [] });
}
const clients = String(args.clients).split(',');
// Clients on CPU 0, the server and the sink on CPU 1 (one CPU: everything on it).
// `--pin C:R` puts the clients on CPUs C and the server and sink on R (e.g. 1:1, all on CPU 1).
const pinFlag = typeof args.pin === 'string' ? /^([\d,-]+):([\d,-]+)$/.exec(args.pin) : null;
if (args.pin !== undefined && pinFlag === null) throw new Error(`--pin takes CLIENT_CPUS:SERVER_CPUS like 0:1, not ${args.pin}`);
const pin = pinFlag ? { clients: pinFlag[1], rest: pinFlag[2] } : cpus().length >= 2 ? { clients: '0', rest: '1' } : { clients: '0', rest: '0' };
const pinPid = (pid) => spawnSync('taskset', ['-a', '-cp', pin.rest, String(pid)], { stdio: 'ignore' });

const redis = await startRedis();
const sink = await startSinkProcess(variants.map((v) => v.name));
if (paired) {
  pinPid(redis.pid);
  pinPid(sink.child.pid);
}
const results = {};
try {
  for (const kind of clients) {
    const workers = {};
    for (const v of variants) {
      const child = forkChild(join(here, 'worker.cjs'), [], {
        execPath,
        cpus: paired ? pin.clients : undefined,
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
    if (paired) {
      results[kind] = await pairedRounds(kind, workers);
      await Promise.all(Object.values(workers).map((c) => stopChild(c)));
      continue;
    }
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

/** Each variant at the same time as the baseline, `rounds` pairs of `windowMs`. */
async function pairedRounds(kind, workers) {
  const runFor = (name) => {
    const child = workers[name];
    const done = waitMessage(child, (m) => m?.type === 'ran', windowMs + 60_000, `${kind} ${name} window`);
    child.send({ type: 'run-for', ms: windowMs, inflight });
    return done;
  };
  const rows = Object.fromEntries(variants.slice(1).map((v) => [v.name, []]));
  const bytes = Object.fromEntries(variants.map((v) => [v.name, 0]));
  const gets = Object.fromEntries(variants.map((v) => [v.name, 0]));
  for (let r = 0; r < rounds; r++) {
    for (const v of variants.slice(1)) {
      const before = await sink.stats();
      // Which of the two starts first alternates by round.
      const order = r % 2 === 0 ? ['baseline', v.name] : [v.name, 'baseline'];
      const got = await Promise.all(order.map(runFor));
      const [b, x] = r % 2 === 0 ? got : [got[1], got[0]];
      const after = await sink.stats();
      bytes[v.name] += after[v.name].bytes - before[v.name].bytes;
      gets[v.name] += x.calls;
      const row = { baseCpu: b.cpuUs / b.calls, cpu: x.cpuUs / x.calls, baseUser: b.userUs / b.calls, user: x.userUs / x.calls, baseCalls: b.calls, calls: x.calls };
      row.added = row.cpu - row.baseCpu;
      row.addedUser = row.user - row.baseUser;
      rows[v.name].push(row);
      process.stderr.write(`${kind} round ${r + 1}/${rounds} baseline + ${v.name}: ${fmt(row.baseCpu, 2)} vs ${fmt(row.cpu, 2)} µs/GET (added ${fmt(row.added, 2)}, user ${fmt(row.addedUser, 2)}), ${b.calls} and ${x.calls} GETs\n`);
    }
  }
  const pick = (list, k) => summarize(list.map((row) => row[k]));
  return {
    exportBytesPerCall: Object.fromEntries(variants.slice(1).map((v) => [v.name, gets[v.name] > 0 ? bytes[v.name] / gets[v.name] : 0])),
    pairs: Object.fromEntries(Object.entries(rows).map(([k, list]) => [k, { baseCpu: pick(list, 'baseCpu'), cpu: pick(list, 'cpu'), added: pick(list, 'added'), addedUser: pick(list, 'addedUser'), rows: list }])),
    added: Object.fromEntries(Object.entries(rows).map(([k, list]) => [k, pick(list, 'added')])),
  };
}

const label = { ioredis: 'ioredis 5', redis: 'node-redis 5' };
if (paired) {
  console.log('## Redis GET overhead\n');
  console.log(`GETs on one connection to a local redis-server, ${inflight} in flight, each its own trace. Paired: each variant's client process measured at the same time as the untraced one for ${windowMs / 1000} s, both on CPU ${pin.clients}, redis-server and the sink on CPU ${pin.rest}; ${rounds} pairs per variant. CPU µs per GET of the client process (export included), median [min, max] over pairs; "added" is the variant minus the untraced process of the same pair (all CPU, and user CPU alone); \`untraced-2\` is a second untraced process: the noise floor. "export B/GET": what the variant sent to the sink, per GET.\n`);
  console.log('| client | variant | untraced CPU µs/GET | variant CPU µs/GET | added µs/GET | added user µs/GET | export B/GET |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const kind of clients) {
    for (const v of variants.slice(1)) {
      const p = results[kind].pairs[v.name];
      console.log(`| ${label[kind] ?? kind} | ${v.name} | ${range(p.baseCpu, 2)} | ${range(p.cpu, 2)} | ${range(p.added, 2)} | ${range(p.addedUser, 2)} | ${fmt(results[kind].exportBytesPerCall[v.name], 0)} |`);
    }
  }
} else {
console.log('## Redis GET overhead\n');
console.log('## Redis GET overhead\n');
console.log(`Sequential GETs on one connection to a local redis-server, each its own trace; ${rounds} rounds of ${calls} GETs per variant, interleaved. CPU µs per GET of the client process (export included), median [min, max] over rounds; "added" is minus the untraced baseline of the same round; "export B/GET" is what the variant sent to the sink during its windows, per GET (0: it traced nothing).\n`);
console.log('| client | variant | CPU µs/GET | added µs/GET | export B/GET |');
console.log('| --- | --- | --- | --- | --- |');
for (const kind of clients) {
  for (const v of variants) console.log(`| ${label[kind] ?? kind} | ${v.name} | ${range(results[kind].perCall[v.name], 2)} | ${range(results[kind].added[v.name], 2)} | ${fmt(results[kind].exportBytesPerCall[v.name], 0)} |`);
}
}
console.log('');
for (const kind of clients) {
  const a = results[kind].added;
  const tw = a.tracewell?.median;
  const peers = ['dd-trace', 'otel'].filter((p) => a[p] !== undefined).map((p) => a[p].median);
  if (tw !== undefined && peers.length > 0) {
    const cheapest = Math.min(...peers);
    const floor = a['untraced-2'] ? `; untraced vs untraced ${range(a['untraced-2'], 2)}` : '';
    console.log(`${label[kind] ?? kind}: tracewell adds ${fmt(tw, 2)} µs/GET (target <= 3: ${tw <= 3 ? 'met' : 'MISSED'}); the cheaper peer ${fmt(cheapest, 2)} µs/GET (tracewell/peer ${fmt(tw / cheapest, 2)}, target <= 0.33: ${tw / cheapest <= 1 / 3 ? 'met' : 'MISSED'})${floor}`);
  }
}
const file = saveJson('redis-overhead', { machine: machine(execPath), method: paired ? 'paired' : 'interleaved', inflight, rounds, calls, windowMs, results });
console.log(`\nraw results: ${file}`);

// CPU added per traced PostgreSQL select-by-key: an untraced client (`baseline`) and a traced
// one (Tracewell, dd-trace, the OpenTelemetry SDK with @opentelemetry/instrumentation-pg) run
// their windows at the same time, each at the same fixed rate against one real PostgreSQL
// (Debian's package, started by the test harness in a temp folder), round after round. What is
// compared is the client process's CPU per query, per pair. See README.md.
// Usage: node benchmarks/sql-overhead/run.mjs [--quick] [--variants baseline,tracewell,dd-trace,otel]
//   [--rate 400] [--rounds 5] [--window-ms 5000] [--cpu 1|none] [--node 22]
//   [--mode paired|toggle] [--block 2000 (toggle)] [--per-parent 0 (toggle: queries per parent span)]
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { forkChild, intArg, machine, repoRoot, saveJson, scenarioOptions, startSinkProcess, stopChild, summarize, waitMessage, fmt, range } from '../lib/harness.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
let args;
let options;
try {
  ({ args, options } = scenarioOptions(process.argv.slice(2), { variants: 'baseline,tracewell,dd-trace,otel' }));
  options.rate = intArg(args, 'rate', 400, 10, 100_000);
} catch (err) {
  console.error(`sql-overhead: ${err.message}`);
  process.exit(2);
}
const { variants, rounds, windowMs, warmupMs, execPath, rate } = options;
// Every client on one CPU (default 1; --cpu none to leave them free): the two clients of a pair
// then share the same core's speed and neighbours, and their difference is the tracer's.
const mode = args.mode === undefined ? 'paired' : String(args.mode);
// toggle mode: queries per block (a traced block ends with a flush: one export per block).
const block = intArg(args, 'block', 2000, 100, 1_000_000);
// toggle mode: queries per parent span (a request doing that many queries); 0: each query its own trace.
const perParent = intArg(args, 'perParent', 0, 0, 1000);
if (!['paired', 'toggle'].includes(mode)) {
  console.error(`sql-overhead: --mode is paired or toggle, not ${mode}`);
  process.exit(2);
}
const cpu = args.cpu === undefined ? '1' : args.cpu === 'none' ? undefined : String(args.cpu);
const names = variants.map((v) => v.name);
const base = names[0];
const log = (s) => process.stderr.write(`${s}\n`);

const { startPostgres } = await import(pathToFileURL(join(repoRoot, 'test', 'helpers', 'servers', 'postgres.mjs')).href);
log(`sql-overhead: starting PostgreSQL`);
const db = await startPostgres();
const sink = await startSinkProcess(names);
const workers = {};
const failed = {};
let nextId = 0;

async function start(v) {
  const child = forkChild(join(here, 'worker.cjs'), [], {
    execPath,
    cpus: cpu,
    execArgv: v.execArgv ?? [],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...db.env,
      DD_SERVICE: 'bench-sql',
      DD_ENV: 'bench',
      DD_TRACE_AGENT_URL: sink.urls[v.name],
      TRACEWELL_DLQ_ENABLED: 'false',
      // the OpenTelemetry preload adds its pg instrumentation for this scenario
      OTEL_BENCH_PG: '1',
      BENCH_TRACER: v.name.startsWith('tracewell') ? 'tracewell' : v.name,
      BENCH_PER_PARENT: String(mode === 'toggle' ? perParent : 0),
      ...(v.env ?? {}),
    },
  });
  await waitMessage(child, (m) => m?.type === 'ready', 30_000, `${v.name} worker`);
  return child;
}

function window(name, ms) {
  const id = ++nextId;
  const reply = waitMessage(workers[name], (m) => m?.type === 'result' && m.id === id, ms + 30_000, `${name} window`);
  workers[name].send({ type: 'window', id, ms, rate });
  return reply.then((r) => {
    if (r.error) throw new Error(r.error);
    return { ...r, cpuPerQuery: r.cpuUs / r.queries, userPerQuery: r.userUs / r.queries, qps: (r.queries * 1000) / r.ms };
  });
}

const rows = Object.fromEntries(names.slice(1).map((n) => [n, []]));
if (mode === 'toggle') await runToggle();
try {
  for (const v of variants) {
    try {
      workers[v.name] = await start(v);
    } catch (err) {
      failed[v.name] = err.message;
      log(`!! ${v.name} did not start: ${err.message}`);
    }
  }
  if (!workers[base]) throw new Error(`the baseline (${base}) did not start: ${failed[base]}`);
  for (const name of names) if (workers[name] && warmupMs > 0) await window(name, warmupMs);
  for (let r = 0; r < rounds; r++) {
    for (const name of names.slice(1)) {
      if (!workers[name]) continue;
      try {
        const first = r % 2 === 0;
        const pair = first ? [base, name] : [name, base];
        const got = await Promise.all(pair.map((n) => window(n, windowMs)));
        const [b, x] = first ? got : [got[1], got[0]];
        rows[name].push({ round: r + 1, baseCpu: b.cpuPerQuery, cpu: x.cpuPerQuery, added: x.cpuPerQuery - b.cpuPerQuery, addedUser: x.userPerQuery - b.userPerQuery, baseQps: b.qps, qps: x.qps });
        log(`round ${r + 1}/${rounds} ${base} + ${name} at ${rate}/s each: ${b.cpuPerQuery.toFixed(1)} vs ${x.cpuPerQuery.toFixed(1)} µs CPU per query (+${(x.cpuPerQuery - b.cpuPerQuery).toFixed(1)}; user time +${(x.userPerQuery - b.userPerQuery).toFixed(2)}), ${b.qps.toFixed(0)} and ${x.qps.toFixed(0)} queries/s`);
      } catch (err) {
        failed[name] = `round ${r + 1}: ${err.message}`;
        log(`!! ${name}: ${failed[name]}`);
      }
    }
  }
} finally {
  await Promise.all(Object.values(workers).map((c) => stopChild(c)));
  const sinkStats = await sink.stats().catch(() => null);
  await sink.close();
  await db.stop();
  if (sinkStats) log(`sink: ${JSON.stringify(sinkStats.byVariant ?? sinkStats).slice(0, 400)}`);
}

const m = machine(execPath);
const summary = {};
for (const name of names.slice(1)) {
  const rs = rows[name];
  summary[name] = { added: summarize(rs.map((x) => x.added)), addedUser: summarize(rs.map((x) => x.addedUser)), cpu: summarize(rs.map((x) => x.cpu)), baseCpu: summarize(rs.map((x) => x.baseCpu)), ratio: summarize(rs.map((x) => x.cpu / x.baseCpu)) };
}
console.log(`\n## sql-overhead (pg select by key, ${rate} queries/s per client): Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
console.log('| variant | client CPU µs/query | baseline in the same windows | added µs/query | of which user time | ratio to baseline |');
console.log('|---|---|---|---|---|---|');
for (const name of names.slice(1)) {
  const s = summary[name];
  if (!s || s.added.n === 0) {
    console.log(`| ${name} | failed: ${failed[name] ?? 'no rounds'} | | | | |`);
    continue;
  }
  console.log(`| ${name} | ${range(s.cpu)} | ${range(s.baseCpu)} | ${range(s.added)} | ${range(s.addedUser)} | ${range(s.ratio, 2)} |`);
}
const tw = summary.tracewell?.added.median;
const peers = ['dd-trace', 'otel'].filter((n) => summary[n]?.added.n > 0).map((n) => [n, summary[n].added.median]);
if (Number.isFinite(tw)) {
  const cheaper = peers.sort((a, b) => a[1] - b[1])[0];
  const line = cheaper ? `; the cheaper peer (${cheaper[0]}) adds ${fmt(cheaper[1])} µs, Tracewell ${fmt((tw / cheaper[1]) * 100, 0)}% of it` : '';
  console.log(`\ntracewell adds ${fmt(tw)} µs of CPU per traced query (median of ${summary.tracewell.added.n} paired rounds)${line}.`);
}
console.log(`\nraw results: ${saveJson('sql-overhead', { scenario: 'sql-overhead', machine: m, options: { ...options, variants: names }, rows, summary, failed })}`);

/**
 * --mode toggle: no second process. Each traced client switches its tracer's pg integration off
 * and on between adjacent blocks of queries (`--block`, 2000: flushed to the sink at the end of
 * each traced block, about one export a second as a service at 2000 queries/s has), round after round; the difference of each adjacent pair is what tracing
 * added, measured at one moment of the machine, in one JIT state.
 */
async function runToggle() {
  const traced = variants.filter((v) => v.name !== 'baseline');
  const out = {};
  let sinkStats = null;
  try {
    for (const v of traced) {
      try {
        workers[v.name] = await start(v);
      } catch (err) {
        failed[v.name] = err.message;
        log(`!! ${v.name} did not start: ${err.message}`);
      }
    }
    const toggleOnce = (name, pairs, perBlock) => {
      const id = ++nextId;
      const reply = waitMessage(workers[name], (m) => m?.type === 'toggled' && m.id === id, 300_000, `${name} toggle`);
      workers[name].send({ type: 'toggle', id, pairs, perBlock });
      return reply.then((r) => {
        if (r.error) throw new Error(r.error);
        return r;
      });
    };
    for (const v of traced) if (workers[v.name]) await toggleOnce(v.name, 2, block);
    for (let r = 0; r < rounds; r++) {
      for (const v of traced) {
        if (!workers[v.name]) continue;
        const { off, on, offUser, onUser } = await toggleOnce(v.name, 4, block);
        const o = (out[v.name] ??= { off: [], on: [], added: [], addedUser: [] });
        for (let i = 0; i < off.length; i++) {
          o.off.push(off[i]);
          o.on.push(on[i]);
          o.added.push(on[i] - off[i]);
          o.addedUser.push(onUser[i] - offUser[i]);
        }
        log(`round ${r + 1}/${rounds} ${v.name}: off ${summarize(off).median.toFixed(1)}, on ${summarize(on).median.toFixed(1)} µs CPU per query`);
      }
    }
  } finally {
    await Promise.all(Object.values(workers).map((c) => stopChild(c)));
    sinkStats = await sink.stats().catch(() => null);
    await sink.close();
    await db.stop();
  }
  const m = machine(execPath);
  console.log(`\n## sql-overhead, toggle mode (pg select by key, ${perParent > 0 ? `${perParent} per parent span, ` : 'each query its own trace, '}4 in flight, blocks of ${block}, clients on CPU ${cpu ?? 'any'}): Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
  console.log('| variant | CPU µs/query, integration off | on (export included) | added µs/query (median of adjacent pairs) | of which user time | pairs | KiB exported |');
  console.log('|---|---|---|---|---|---|---|');
  const summary = {};
  for (const v of traced) {
    const o = out[v.name];
    if (!o) {
      console.log(`| ${v.name} | failed: ${failed[v.name] ?? 'no rounds'} | | | | | |`);
      continue;
    }
    summary[v.name] = { off: summarize(o.off), on: summarize(o.on), added: summarize(o.added), addedUser: summarize(o.addedUser) };
    const s = summary[v.name];
    const kb = sinkStats?.[v.name]?.bytes;
    const iqr = (xs) => `${fmt(quantile(xs, 0.25))} to ${fmt(quantile(xs, 0.75))}`;
    console.log(`| ${v.name} | ${range(s.off)} | ${range(s.on)} | ${fmt(s.added.median)} (interquartile ${iqr(o.added)}) | ${fmt(s.addedUser.median)} (${iqr(o.addedUser)}) | ${s.added.n} | ${kb === undefined ? 'n/a' : fmt(kb / 1024, 0)} |`);
  }
  const tw = summary.tracewell?.added.median;
  const peers = ['dd-trace', 'otel'].filter((n) => summary[n]).map((n) => [n, summary[n].added.median]).sort((a, b) => a[1] - b[1]);
  if (Number.isFinite(tw)) {
    const line = peers.length ? `; the cheaper peer (${peers[0][0]}) adds ${fmt(peers[0][1])} µs, Tracewell ${fmt((tw / peers[0][1]) * 100, 0)}% of it` : '';
    console.log(`\ntracewell adds ${fmt(tw)} µs of CPU per traced query${line}.`);
  }
  console.log(`\nraw results: ${saveJson('sql-overhead-toggle', { scenario: 'sql-overhead', mode, machine: m, options: { ...options, variants: names }, out, summary, failed })}`);
  process.exit(0);
}

function quantile(values, q) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v[Math.min(v.length - 1, Math.floor(q * v.length))];
}

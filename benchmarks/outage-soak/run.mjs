// Outage soak: a process makes spans at a steady rate while the agent refuses connections
// for a long time, then the agent comes back. Reports how much memory grew during the outage
// and how many spans never arrived (or arrived twice) once the backlog was replayed.
// Usage: node benchmarks/outage-soak/run.mjs [--quick] [--outage-s 600] [--rate 1000]
//          [--variants tracewell[,dd-trace,otel]] [--node 22]
// Phases: warm-up with the agent up (--warmup-s, 15), outage (--outage-s: 600, 60 with
// --quick), recovery with the agent up and spans still made (--after-s, 10); then spans
// stop and the sink waits for the backlog until nothing new arrives for 30 s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkChild, waitMessage, stopChild, parseArgs, intArg, pickVariants, machine, saveJson, fmt } from '../lib/harness.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';
import { startSpanSink } from '../lib/span-sink.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs(process.argv.slice(2), { variants: 'tracewell' });
const quick = Boolean(args.quick);
const outageS = intArg(args, 'outageS', quick ? 60 : 600, 1, 24 * 3600);
const warmupS = intArg(args, 'warmupS', 15, 1, 600);
const afterS = intArg(args, 'afterS', 10, 1, 600);
const rate = intArg(args, 'rate', 1000, 10, 1_000_000);
// How long the sink may stay quiet before what has not arrived counts as lost: longer than the
// circuit's longest wait between two probes (TRACEWELL_BREAKER_PROBE_MAX_MS, 60 s by default),
// or a probe that failed just before the agent came back leaves the backlog waiting past it.
const settleMs = intArg(args, 'settleMs', 90_000, 1000, 600_000);
const execPath = nodeBinary(args.node);
const names = pickVariants(Object.fromEntries(['tracewell', 'dd-trace', 'otel', ...(process.env.TRACEWELL_REF ? ['tracewell-ref'] : [])].map((n) => [n, { name: n }])), args.variants).map((v) => v.name);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function soak(name) {
  const sink = await startSpanSink({ trackIds: true });
  const dlq = mkdtempSync(join(tmpdir(), 'tw-soak-'));
  const child = forkChild(join(here, '..', 'span-pipeline', 'worker.cjs'), [], {
    execPath,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BENCH_VARIANT: name, ...(process.env.TRACEWELL_REF ? { TRACEWELL_REF: process.env.TRACEWELL_REF } : {}), DD_TRACE_AGENT_URL: sink.url, TRACEWELL_DLQ_DIR: dlq, TRACEWELL_LOG_LEVEL: 'warn', DD_TRACE_STARTUP_LOGS: 'false', DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false', DD_REMOTE_CONFIGURATION_ENABLED: 'false', OTEL_LOG_LEVEL: 'none' },
  });
  const probe = async () => {
    const reply = waitMessage(child, (m) => m?.type === 'cpu', 10_000, `${name} stats`);
    child.send({ type: 'cpu' });
    return reply;
  };
  const samples = [];
  const sampleFor = async (ms, phase) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await sleep(Math.min(5000, end - Date.now()));
      const s = await probe();
      samples.push({ t: Date.now(), phase, rssMb: s.rssMb, received: sink.stats.unique, deadLetter: s.stats?.deadLetter ?? null });
      process.stderr.write(`${name} ${phase}: rss ${fmt(s.rssMb, 0)} MB, received ${sink.stats.unique}${s.stats ? `, on disk ${fmt(s.stats.deadLetter.bytesOnDisk / 1048576, 1)} MB` : ''}\n`);
    }
  };
  try {
    await waitMessage(child, (m) => m?.type === 'ready', 30_000, `${name} start`);
    child.send({ type: 'pace', spansPerSec: rate });
    await sampleFor(warmupS * 1000, 'warm-up');
    const rssBefore = samples.at(-1).rssMb;
    await sink.refuse();
    const outageStart = Date.now();
    await sampleFor(outageS * 1000, 'outage');
    const rssPeak = Math.max(...samples.filter((s) => s.phase === 'outage').map((s) => s.rssMb));
    const rssEnd = samples.at(-1).rssMb;
    await sink.accept();
    const back = Date.now();
    await sampleFor(afterS * 1000, 'recovery');
    const stopped = waitMessage(child, (m) => m?.type === 'stopped', 10_000, `${name} stop`);
    child.send({ type: 'stop' });
    const { created } = await stopped;
    let last = -1;
    let lastChange = Date.now();
    while (sink.stats.unique < created && Date.now() - lastChange < settleMs) {
      await sleep(250);
      if (sink.stats.unique !== last) {
        last = sink.stats.unique;
        lastChange = Date.now();
      }
    }
    const drainedS = (sink.stats.lastAt - back) / 1000;
    const final = await probe();
    return {
      name,
      outageS: (back - outageStart) / 1000,
      created,
      received: sink.stats.unique,
      duplicates: sink.stats.duplicates,
      lost: created - sink.stats.unique,
      rssBefore,
      rssPeak,
      rssEnd,
      rssGrowthMb: rssPeak - rssBefore,
      maxOnDiskMb: Math.max(0, ...samples.map((s) => (s.deadLetter ? s.deadLetter.bytesOnDisk / 1048576 : 0))),
      drainedS,
      stats: final.stats,
      samples,
    };
  } finally {
    await stopChild(child, 3000);
    await sink.close();
    rmSync(dlq, { recursive: true, force: true });
  }
}

const results = [];
for (const name of names) {
  try {
    results.push(await soak(name));
  } catch (err) {
    results.push({ name, error: err.message.split('\n')[0] });
  }
}
const m = machine(execPath);
console.log(`\n## outage-soak: Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
console.log(`${rate} spans/s (traces of 10 manual spans); the agent refuses connections for ${outageS} s after a ${warmupS} s warm-up, then answers again for ${afterS} s of spans and until the backlog has drained. Targets for Tracewell: RSS growth <= 20 MB, 0 spans lost.\n`);
console.log('| variant | outage s | spans made | received | lost | sent twice | RSS before MB | RSS growth MB (peak) | dead-letter max MB | backlog drained after s |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  if (r.error) console.log(`| ${r.name} | error: ${r.error} | | | | | | | | |`);
  else console.log(`| ${r.name} | ${fmt(r.outageS, 0)} | ${r.created} | ${r.received} | ${r.lost} | ${r.duplicates} | ${fmt(r.rssBefore, 0)} | ${fmt(r.rssGrowthMb, 1)} | ${fmt(r.maxOnDiskMb, 1)} | ${fmt(r.drainedS, 1)} |`);
}
console.log('');
for (const r of results.filter((x) => !x.error)) console.log(`${r.name}: RSS +${fmt(r.rssGrowthMb, 1)} MB over a ${fmt(r.outageS, 0)} s outage at ${rate} spans/s, ${r.lost} spans lost, ${r.duplicates} sent twice`);
console.log(`\nraw results: ${saveJson('outage-soak', { machine: m, rate, outageS, warmupS, afterS, results })}`);

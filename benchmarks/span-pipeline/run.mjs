// Manual spans through each tracer's whole pipeline: created, ended, encoded and sent to a
// sink that decodes every payload and counts the spans in it.
// Usage: node benchmarks/span-pipeline/run.mjs [--quick] [--rounds N] [--spans N]
//          [--burst N] [--variants none,tracewell,dd-trace,otel] [--node 22] [--pin]
// Two modes per variant, each run in a fresh process, variants interleaved round by round:
//   steady: --spans spans (default 200k) in chunks of 1000 at --rate spans a second (default
//           50k: a busy service), so every tracer can keep up and the CPU per span is what it
//           costs a service in its steady state;
//   burst:  --burst spans (default 1M; 200k with --quick) in one synchronous loop: what a
//           tracer keeps of a burst it cannot send as fast as it is made.
// Reported per span: CPU of the create/end loop alone, and all the process's CPU until the
// sink stopped receiving (create, end, encode, send); spans the sink received, lost, duplicated.
// `none` makes the same OTel API calls with no SDK (the API's no-op tracer): the harness's own
// cost (pacing timers, IPC, the calls). Each tracer's "added" CPU is its CPU minus `none`'s in
// the same round and mode: what the tracer's pipeline costs, without the harness.
// --pin runs every tracer process on CPU 0 and this process (with the sink) on CPU 1: on a VM
// whose two vCPUs run at different speeds (seen here: one 1.7x slower than the other for
// minutes), an unpinned process lands on either, and that difference swamps the tracers'.
import { forkChild, waitMessage, stopChild, parseArgs, intArg, pickVariants, machine, saveJson, summarize, range, fmt } from '../lib/harness.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';
import { startSpanSink } from '../lib/span-sink.mjs';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs(process.argv.slice(2), { variants: 'none,tracewell,dd-trace,otel' });
const quick = Boolean(args.quick);
const rounds = intArg(args, 'rounds', quick ? 2 : 3, 1, 50);
const steadySpans = intArg(args, 'spans', quick ? 100_000 : 200_000, 1000, 10_000_000);
const burstSpans = intArg(args, 'burst', quick ? 200_000 : 1_000_000, 0, 10_000_000);
// Longer than any tracer's flush interval (OTel's batch processor waits 5 s).
const settleMs = intArg(args, 'settleMs', 6500, 1000, 60_000);
const rate = intArg(args, 'rate', 50_000, 1000, 10_000_000);
// Made and exported before measuring, on the measured schedule (steady): JIT, lazy loads, the
// first connection. Functions that run a few times a second (sending a payload, its answer)
// take seconds to be optimized: a 20k-span warm-up left ~30 of them compiling, and a fifth of
// the CPU on the compiler threads, inside the measured window.
const warmupSpans = intArg(args, 'warmup', 200_000, 0, 2_000_000);
const pin = Boolean(args.pin);
if (pin) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
const execPath = nodeBinary(args.node);
const names = pickVariants(Object.fromEntries(['none', 'tracewell', 'dd-trace', 'otel', ...(process.env.TRACEWELL_REF ? ['tracewell-ref'] : [])].map((n) => [n, { name: n }])), args.variants).map((v) => v.name);
const modes = burstSpans > 0 ? ['steady', 'burst'] : ['steady'];

async function once(name, mode) {
  const spans = mode === 'burst' ? burstSpans : steadySpans;
  const sink = await startSpanSink();
  // A dead-letter folder of its own: files another run left would be adopted and replayed here.
  const dlq = mkdtempSync(join(tmpdir(), 'tw-pipeline-'));
  const child = forkChild(join(here, 'worker.cjs'), [], {
    execPath,
    cpus: pin ? '0' : undefined,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, BENCH_VARIANT: name, ...(process.env.TRACEWELL_REF ? { TRACEWELL_REF: process.env.TRACEWELL_REF } : {}), DD_TRACE_AGENT_URL: sink.url, TRACEWELL_DLQ_DIR: dlq, DD_TRACE_STARTUP_LOGS: 'false', DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false', DD_REMOTE_CONFIGURATION_ENABLED: 'false', TRACEWELL_LOG_LEVEL: 'error', OTEL_LOG_LEVEL: 'none' },
  });
  try {
    await waitMessage(child, (m) => m?.type === 'ready', 30_000, `${name} start`);
    const warm = waitMessage(child, (m) => m?.type === 'warm', 120_000, `${name} warm-up`);
    // The pause is longer than any tracer's export interval (OTel's batch processor: 5 s), so
    // the warm-up spans have arrived before the sink's counts are taken as the zero.
    child.send({ type: 'run', spans, mode, rate, warmup: warmupSpans, warmupPauseMs: warmupSpans > 0 ? 6000 : 0 });
    await warm;
    const zero = { spans: sink.stats.spans, bytes: sink.stats.bytes, requests: sink.stats.requests };
    const ran = await waitMessage(child, (m) => m?.type === 'ran', 600_000, `${name} ${mode} run`);
    // Wait until the sink has every span, or has seen nothing new for settleMs.
    let last = -1;
    let lastChange = Date.now();
    // The no-op API sends nothing: nothing to wait for (idle time would count as its CPU).
    const expected = name === 'none' ? 0 : ran.created;
    while (sink.stats.spans - zero.spans < expected && Date.now() - lastChange < settleMs) {
      await new Promise((r) => setTimeout(r, 100));
      if (sink.stats.spans !== last) {
        last = sink.stats.spans;
        lastChange = Date.now();
      }
    }
    const cpu = waitMessage(child, (m) => m?.type === 'cpu', 10_000, `${name} cpu`);
    child.send({ type: 'cpu' });
    return { name, mode, created: ran.created, loopCpuUs: ran.loopCpuUs, ...(await cpu), received: sink.stats.spans - zero.spans, bytes: sink.stats.bytes - zero.bytes, requests: sink.stats.requests - zero.requests, undecodable: sink.stats.undecodable };
  } finally {
    await stopChild(child, 2000);
    await sink.close();
    rmSync(dlq, { recursive: true, force: true });
  }
}

const results = [];
for (let r = 0; r < rounds; r++) {
  for (const mode of modes) {
    for (const name of names) {
      let res;
      try {
        res = await once(name, mode);
      } catch (err) {
        res = { name, mode, error: err.message.split('\n')[0] };
      }
      results.push({ round: r + 1, ...res });
      const line = res.error
        ? `error: ${res.error}`
        : `${fmt((res.loopCpuUs * 1000) / res.created, 0)} ns/span create+end, ${fmt((res.totalCpuUs * 1000) / res.created, 0)} ns/span in all, received ${res.received}/${res.created}`;
      process.stderr.write(`round ${r + 1}/${rounds} ${mode} ${name}: ${line}\n`);
    }
  }
}

const m = machine(execPath);
console.log(`\n## span-pipeline: Node ${m.node}, ${m.cores} cores, ${m.cpu}\n`);
console.log(`Traces of 10 manual spans (a root and 9 children, 2 attributes each) through each tracer's API and exporter to a sink that decodes every payload. steady = ${steadySpans} spans in chunks of 1000 at ${rate} spans/s; burst = ${burstSpans} spans in one synchronous loop. CPU is the tracer process's user+system time after a warm-up of ${warmupSpans} spans (made, exported, not counted); "in all" runs until the sink stopped receiving. Median [min, max] over ${rounds} rounds.${pin ? ' Tracer processes pinned to CPU 0, the sink to CPU 1 (--pin).' : ''}\n`);
console.log('`added` = the variant\'s CPU minus the no-op API\'s (`none`) in the same round and mode: the tracer\'s pipeline without the harness\'s own timers and calls.\n');
console.log('| variant | mode | create+end ns/span | in all ns/span (create, end, encode, send) | added ns/span (in all minus none) | received | lost | RSS MB | export B/span |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
/** A variant's "in all" ns/span minus `none`'s in the same round and mode (NaN without it). */
const added = (x) => {
  const base = results.find((b) => b.name === 'none' && b.mode === x.mode && b.round === x.round && !b.error);
  return base ? ((x.totalCpuUs - base.totalCpuUs * (x.created / base.created)) * 1000) / x.created : NaN;
};
const summary = {};
for (const mode of modes) {
  for (const name of names) {
    const ok = results.filter((x) => x.name === name && x.mode === mode && !x.error);
    if (ok.length === 0) {
      console.log(`| ${name} | ${mode} | error: ${results.find((x) => x.name === name && x.mode === mode)?.error ?? 'no result'} | | | | | | |`);
      continue;
    }
    const loop = summarize(ok.map((x) => (x.loopCpuUs * 1000) / x.created));
    const all = summarize(ok.map((x) => (x.totalCpuUs * 1000) / x.created));
    const net = summarize(ok.map(added));
    const recv = summarize(ok.map((x) => (100 * x.received) / x.created));
    const lost = summarize(ok.map((x) => Math.max(0, x.created - x.received)));
    const rss = summarize(ok.map((x) => x.rssMb));
    const bps = summarize(ok.map((x) => (x.received > 0 ? x.bytes / x.received : NaN)));
    summary[`${name} ${mode}`] = { createEndNs: loop.median, allNs: all.median, addedNs: net.median, receivedPct: recv.median, lost: lost.median };
    console.log(`| ${name} | ${mode} | ${range(loop, 0)} | ${range(all, 0)} | ${name === 'none' ? '(baseline)' : range(net, 0)} | ${name === 'none' ? 'n/a' : `${range(recv, 1)}%`} | ${name === 'none' ? 'n/a' : range(lost, 0)} | ${fmt(rss.median, 0)} | ${name === 'none' ? 'n/a' : fmt(bps.median, 0)} |`);
  }
}
console.log('');
for (const [k, v] of Object.entries(summary)) {
  if (k.startsWith('none ')) console.log(`${k}: ${fmt(v.allNs, 0)} ns/span (the harness alone)`);
  else console.log(`${k}: ${fmt(v.allNs, 0)} ns/span in all, ${fmt(v.addedNs, 0)} ns/span added over the no-op API, ${fmt(v.receivedPct, 1)}% received`);
}
console.log(`\nraw results: ${saveJson('span-pipeline', { machine: m, rounds, steadySpans, burstSpans, warmupSpans, pin, results })}`);

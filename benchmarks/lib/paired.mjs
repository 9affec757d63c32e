// Paired rounds: the baseline server and one variant's server are measured at the same time,
// each held to the same request rate by its own load generator (or both as fast as they
// answer: rate 0), with every server on the same CPU(s). Both windows then see the same machine: the same CPU speed, the same other work.
//
// Why: on a small VM the speed of a vCPU drifts by 30-70% within minutes, and two identical
// servers measured one after the other differed by up to 25% in throughput (the A/A variant of
// an interleaved run), wider than the effects a profiler or tracer is held to. Measured at
// once, what differs between the two windows is the variant.
//
// What is compared is server CPU per request at an equal rate, per round. For a server whose
// throughput is bound by its CPU (a saturated Node server), throughput is inversely
// proportional to it, so baseline CPU / variant CPU is the throughput ratio it implies.
import { measureWindow } from './measure.mjs';
import { startVariantServers } from './server-process.mjs';
import { startSinkProcess } from './sink.mjs';
import { summarize } from './stats.mjs';

/**
 * @param opts.variants   [{ name, execArgv?, env? }], the first is the baseline
 * @param opts.rate       requests/s for each of the two servers of a pair (keep the sum below
 *                        what the servers' CPU can serve together); 0: both saturated, closed
 *                        loop, so the two share the CPU and each one's req/s is its throughput
 *                        with the same share
 * @param opts.rssMs      then each server alone at saturation for this long; its RSS at the end
 *                        (results.rss[name].mb). 0: none
 * @param opts.serverScript, serverEnv, loadScript, loadArgs, rounds, warmupMs, windowMs,
 *        rampMs, connections, execPath, pin ({ server, load }), log
 */
export async function runPaired(opts) {
  const { variants, serverScript, serverEnv = {}, loadScript, loadArgs = [], rounds, warmupMs, windowMs, rampMs = 300, connections = 32, execPath = process.execPath, rate, pin = null } = opts;
  const log = opts.log ?? ((s) => process.stderr.write(`${s}\n`));
  if (!(rate >= 0)) throw new Error('runPaired needs a rate (0: both servers saturated)');
  const rssMs = opts.rssMs ?? 0;
  const names = variants.map((v) => v.name);
  const base = names[0];
  const sink = await startSinkProcess(names);
  let servers = {};
  let failed = {};
  const rows = Object.fromEntries(names.slice(1).map((n) => [n, []]));
  const rss = {};
  const conns = Math.max(1, connections >> 1);
  const window = (s, durationMs) => measureWindow(s, { loadScript, loadArgs, connections: conns, rampMs, durationMs, rate, cpus: pin?.load });
  try {
    ({ servers, failed } = await startVariantServers(variants, { script: serverScript, serverEnv, execPath, cpus: pin?.server, sink, log }));
    if (!servers[base]) throw new Error(`the baseline (${base}) did not start: ${failed[base]}`);
    // Warm-up: each server alone, as fast as it answers (JIT, lazy loads, first profiles).
    for (const s of Object.values(servers)) {
      if (warmupMs > 0) await measureWindow(s, { loadScript, loadArgs, connections, rampMs, durationMs: warmupMs, rate: 0, cpus: pin?.load }).catch(() => null);
    }
    for (let r = 0; r < rounds; r++) {
      for (const name of names.slice(1)) {
        if (!servers[name]) continue;
        try {
          // Which of the two load generators starts first alternates by round: the one started
          // first was seen to give its server consistently cheaper requests (an A/A pair
          // differed by ~10% every round in one order).
          const first = r % 2 === 0;
          const pair = first ? [servers[base], servers[name]] : [servers[name], servers[base]];
          const got = await Promise.all(pair.map((s) => window(s, windowMs)));
          const [b, x] = first ? got : [got[1], got[0]];
          const row = { round: r + 1, baseFirst: first, baseCpu: b.server.cpuPerRequest, cpu: x.server.cpuPerRequest, baseMain: b.server.mainCpuPerRequest, main: x.server.mainCpuPerRequest, baseRps: b.rps, rps: x.rps, otherCpuPct: x.otherCpuPct, serversCpuPct: b.server.cpuPct + x.server.cpuPct, loadCpuPct: b.loadCpuPct + x.loadCpuPct, baseP99: b.latencyMs?.p99, p99: x.latencyMs?.p99 };
          rows[name].push(row);
          log(`round ${r + 1}/${rounds} ${base} + ${name} ${rate > 0 ? `at ${rate}/s each` : 'both saturated'}: ${row.baseCpu.toFixed(1)} vs ${row.cpu.toFixed(1)} µs CPU per request (${(row.cpu - row.baseCpu).toFixed(1)}; main thread ${row.baseMain.toFixed(1)} vs ${row.main.toFixed(1)}), ${row.baseRps.toFixed(0)} and ${row.rps.toFixed(0)} req/s`);
        } catch (err) {
          failed[name] = `round ${r + 1}: ${err.message}`;
          log(`!! ${name}: ${failed[name]}`);
        }
      }
    }
    // Memory: each server alone, as fast as it answers, for rssMs; RSS read at the end.
    if (rssMs > 0) {
      for (const [name, s] of Object.entries(servers)) {
        try {
          const w = await measureWindow(s, { loadScript, loadArgs, connections, rampMs, durationMs: rssMs, rate: 0, cpus: pin?.load });
          rss[name] = { mb: w.server.rssMb, seconds: rssMs / 1000, rps: w.rps };
          log(`${name}: RSS ${w.server.rssMb.toFixed(1)} MB after ${rssMs / 1000} s alone at saturation (${w.rps.toFixed(0)} req/s)`);
        } catch (err) {
          log(`!! ${name}: RSS window: ${err.message}`);
        }
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    await sink.close();
  }
  const results = {};
  for (const [name, rs] of Object.entries(rows)) {
    if (rs.length === 0) continue;
    results[name] = {
      rounds: rs.length,
      baseCpu: summarize(rs.map((x) => x.baseCpu)),
      cpu: summarize(rs.map((x) => x.cpu)),
      added: summarize(rs.map((x) => x.cpu - x.baseCpu)),
      cpuRatio: summarize(rs.map((x) => x.cpu / x.baseCpu)),
      /** The throughput ratio the CPU per request implies (baseline CPU / variant CPU). */
      impliedThroughput: summarize(rs.map((x) => x.baseCpu / x.cpu)),
      /** Throughput ratio measured (variant req/s / baseline req/s in the same pair): with both saturated on one CPU, what each got done with its share. */
      rpsRatio: summarize(rs.map((x) => x.rps / x.baseRps)),
      /** The same from the main thread's CPU alone: the bound when the other threads have a core of their own. */
      baseMain: summarize(rs.map((x) => x.baseMain)),
      main: summarize(rs.map((x) => x.main)),
      addedMain: summarize(rs.map((x) => x.main - x.baseMain)),
      impliedMainThroughput: summarize(rs.map((x) => x.baseMain / x.main)),
      rows: rs,
    };
  }
  return { rate, results, failed, rss };
}

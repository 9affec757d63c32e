// Interleaved rounds. Every variant is its own long-lived server process, started once and
// kept warm for the whole run; each round drives load at one variant at a time, in the order
// given (A B C A B C ...), so drift of the machine (other work, thermal, caches) falls on all
// variants alike, and ratios are taken per round. A variant that does not start, or dies,
// is reported and dropped; the others go on.
//
// Each round measures each variant in one or two modes:
//   saturated: closed loop, `connections` connections, as fast as the server answers;
//   paced:     the same connections held to `rate` requests/s in total (skipped if rate is 0),
//              below every variant's saturation, so all variants do the same work per second.
import { measureWindow } from './measure.mjs';
import { startVariantServers } from './server-process.mjs';
import { startSinkProcess } from './sink.mjs';
import { perRound, summarize } from './stats.mjs';

/**
 * @param opts.variants    [{ name, execArgv?, env? }]
 * @param opts.serverScript the server under test (speaks serve-usage.cjs)
 * @param opts.serverEnv   extra environment for every server (DD_* and the sink URL are added)
 * @param opts.loadScript  the load generator (uses load-loop.cjs); opts.loadArgs extra flags
 * @param opts.rounds, warmupMs, windowMs, rampMs, rate, connections, execPath
 * @param opts.pin        { server: '0', load: '1' } to pin servers and load processes to CPUs
 * @param opts.maxOtherPct, opts.noisyRetries  remeasure a window when other work took more
 *                         than this % of a core (default 25, up to 2 more times)
 * @param opts.baseline, opts.floor names of the reference variants ('baseline', 'als-floor')
 */
export async function runInterleaved(opts) {
  const {
    variants,
    serverScript,
    serverEnv = {},
    loadScript,
    loadArgs = [],
    rounds,
    warmupMs,
    windowMs,
    rampMs = 300,
    rate = 0,
    connections = 32,
    execPath = process.execPath,
    pin = null,
    maxOtherPct = 25,
    noisyRetries = 2,
    baseline = 'baseline',
    floor = 'als-floor',
    log = (s) => process.stderr.write(`${s}\n`),
  } = opts;
  const names = variants.map((v) => v.name);
  const modes = rate > 0 ? ['saturated', 'paced'] : ['saturated'];
  const sink = await startSinkProcess(names);
  let servers = {};
  let failed = {};
  const finalUsage = {};
  const raw = Object.fromEntries(names.map((n) => [n, { saturated: [], paced: [] }]));

  // A window during which other work took more than maxOtherPct of a core is measured again
  // (up to noisyRetries times); the quietest attempt is kept, with its retry count.
  async function measureNotNoisy(server, windowOpts) {
    let best;
    for (let attempt = 0; attempt <= noisyRetries; attempt++) {
      const w = await measureWindow(server, windowOpts);
      w.retries = attempt;
      if (!best || w.otherCpuPct < best.otherCpuPct) best = w;
      if (!(w.otherCpuPct > maxOtherPct)) break;
      if (attempt < noisyRetries) log(`   ${server.name}: other work took ${w.otherCpuPct.toFixed(0)}% of a core during the window; measuring again`);
    }
    return best;
  }

  async function fail(name, phase, err) {
    const s = servers[name];
    // An error that is the server's exit already says so; otherwise add how it ended.
    const dead = s && !s.alive() && !/process (exited|killed)/.test(err.message) ? `; the server ${s.describeExit()}` : '';
    failed[name] = `${phase}: ${err.message}${dead}`;
    log(`!! ${name} dropped: ${failed[name]}`);
    delete servers[name];
    if (s) await s.stop();
  }

  try {
    ({ servers, failed } = await startVariantServers(variants, { script: serverScript, serverEnv, execPath, cpus: pin?.server, sink, log }));
    for (const name of names) {
      if (!servers[name] || !(warmupMs > 0)) continue;
      try {
        await measureWindow(servers[name], { loadScript, loadArgs, connections, rampMs, durationMs: warmupMs, rate: 0, cpus: pin?.load });
      } catch (err) {
        await fail(name, 'warm-up', err);
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (const name of names) {
        for (const mode of modes) {
          const s = servers[name];
          if (!s) {
            raw[name][mode][r] = null;
            continue;
          }
          try {
            const w = await measureNotNoisy(s, { loadScript, loadArgs, connections, rampMs, durationMs: windowMs, rate: mode === 'paced' ? rate : 0, cpus: pin?.load });
            raw[name][mode][r] = w;
            const errs = w.errors ? `, ${w.errors} errors (${w.errorSamples.join('; ')})` : '';
            log(
              `round ${r + 1}/${rounds} ${name} ${mode}: ${w.rps.toFixed(0)}/s, server ${w.server.cpuPerRequest.toFixed(1)} µs CPU each, ` +
                `p99 ${w.latencyMs.p99.toFixed(2)} ms; CPU % of a core: server ${w.server.cpuPct.toFixed(0)}, load ${w.loadCpuPct.toFixed(0)}, other ${w.otherCpuPct.toFixed(0)}${errs}`,
            );
          } catch (err) {
            raw[name][mode][r] = null;
            await fail(name, `round ${r + 1} ${mode}`, err);
          }
        }
      }
    }
    for (const [name, s] of Object.entries(servers)) {
      finalUsage[name] = await s.usage().catch(() => null);
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
  const sinkStats = await sink.stats().catch(() => null);
  await sink.close();

  const results = {};
  for (const name of names) {
    if (raw[name].saturated.every((w) => !w)) continue;
    const byMode = {};
    for (const mode of modes) byMode[mode] = summarizeMode(raw, name, mode, { baseline, floor });
    const exported = sinkStats?.[name];
    const served = finalUsage[name]?.requests;
    results[name] = {
      ...byMode,
      export: exported
        ? { requests: exported.requests, bytes: exported.bytes, bytesPerRequest: served ? exported.bytes / served : NaN, byPath: exported.byPath }
        : null,
      serverRequestsTotal: served ?? null,
    };
  }
  return { results, failed, raw, sink: sinkStats, modes, maxOtherPct };
}

function summarizeMode(raw, name, mode, { baseline, floor }) {
  const series = (n, f) => (raw[n] ? raw[n][mode].map((w) => (w ? f(w) : null)) : null);
  const rps = series(name, (w) => w.rps);
  const cpu = series(name, (w) => w.server.cpuPerRequest);
  const windows = raw[name][mode].filter(Boolean);
  return {
    windows: windows.length,
    rps: summarize(rps),
    cpu: summarize(cpu),
    p50: summarize(windows.map((w) => w.latencyMs.p50)),
    p99: summarize(windows.map((w) => w.latencyMs.p99)),
    rssMb: summarize(windows.map((w) => w.server.rssMb)),
    serverCpuPct: summarize(windows.map((w) => w.server.cpuPct)),
    loadCpuPct: summarize(windows.map((w) => w.loadCpuPct)),
    otherCpuPct: summarize(windows.map((w) => w.otherCpuPct)),
    retries: windows.reduce((a, w) => a + (w.retries ?? 0), 0),
    errors: windows.reduce((a, w) => a + w.errors, 0),
    rpsRatio: summarize(perRound(rps, series(baseline, (w) => w.rps), (x, y) => x / y)),
    cpuAdded: summarize(perRound(cpu, series(baseline, (w) => w.server.cpuPerRequest), (x, y) => x - y)),
    cpuAboveFloor: summarize(perRound(cpu, series(floor, (w) => w.server.cpuPerRequest), (x, y) => x - y)),
  };
}

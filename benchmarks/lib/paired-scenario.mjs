// What `npm run bench` runs for a server scenario by default: paired saturated rounds (each
// variant at the same time as the baseline, both as fast as they answer, servers on one CPU
// and load generators on the other), then RSS after a stretch alone at saturation and the
// start-up each variant's flags add to `node -e 0`, in one table.
import { cpus } from 'node:os';
import { runPaired } from './paired.mjs';
import { fmt, range } from './report.mjs';
import { summarize } from './stats.mjs';
import { startupSummary, startupTimes } from './startup.mjs';

/** Paired-mode defaults: more, shorter rounds than the interleaved mode (pairs are cheaper to repeat than to lengthen). */
export function pairedDefaults(options, args) {
  const quick = options.quick;
  const num = (key, dflt) => (args[key] === undefined ? dflt : Number(args[key]));
  return {
    rounds: num('rounds', quick ? 5 : 7),
    windowMs: num('windowMs', quick ? 3000 : 4000),
    rssMs: num('rssMs', quick ? 20_000 : 60_000),
    startupRuns: num('startupRuns', quick ? 7 : 15),
    // Two cores or more: servers on CPU 0, load generators on CPU 1 unless --pin says otherwise.
    pin: options.pin ?? (cpus().length >= 2 ? { server: '0', load: '1' } : { server: '0', load: '0' }),
  };
}

/**
 * Runs the paired rounds, the RSS windows and the start-up runs; prints the markdown table and
 * one line per variant. Returns everything for the raw JSON.
 */
export async function runPairedScenario({ opts, unit = 'req', log = (s) => process.stderr.write(`${s}\n`) }) {
  const names = opts.variants.map((v) => v.name);
  const base = names[0];
  log(
    `paired: ${names.slice(1).join(', ')}, each at the same time as ${base}, both saturated; ${opts.rounds} rounds of ${opts.windowMs} ms; ` +
      `servers on CPU ${opts.pin.server}, load on CPU ${opts.pin.load}; then ${opts.rssMs / 1000} s alone at saturation per variant for RSS; then start-up`,
  );
  const run = await runPaired({ ...opts, rate: 0 });
  const startup = startupSummary(startupTimes(opts.variants, { execPath: opts.execPath, runs: opts.startupRuns }), base);
  const baseRss = run.rss[base]?.mb;
  const lines = [];
  lines.push(
    `Paired: each variant served at the same time as ${base}, both saturated (${Math.max(1, opts.connections >> 1)} connections each${opts.loadName ? `, load from ${opts.loadName}` : ''}), both servers on CPU ${opts.pin.server}, both load generators on CPU ${opts.pin.load}; ` +
      `${opts.rounds} pairs of ${opts.windowMs / 1000} s per variant; median [min, max] over the pairs of the per-pair values. ` +
      `RSS: each server alone at saturation for ${opts.rssMs / 1000} s after the pairs. Start-up: \`node -e 0\` with the variant's flags, ${opts.startupRuns} interleaved runs.\n`,
  );
  lines.push(`| variant | pairs | throughput ratio (${unit}/s vs ${base}) | ratio implied by CPU/${unit} | CPU µs/${unit}: ${base}, variant | added µs/${unit} | RSS after saturation MB | RSS added MB | start-up ms | start-up added ms | start-up CPU added ms |`);
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  lines.push(`| ${base} | | 1 | 1 | | | ${fmt(baseRss, 0)} | | ${range(startup[base]?.ms, 0)} | | |`);
  for (const name of names.slice(1)) {
    const r = run.results[name];
    const rss = run.rss[name]?.mb;
    const st = startup[name];
    if (!r) {
      lines.push(`| ${name} | 0 | n/a (${run.failed[name] ?? 'did not run'}) | | | | ${fmt(rss, 0)} | | ${range(st?.ms, 0)} | ${range(st?.added, 0)} | ${range(st?.cpuAdded, 0)} |`);
      continue;
    }
    lines.push(
      `| ${name} | ${r.rounds} | ${range(r.rpsRatio, 3)} | ${range(r.impliedThroughput, 3)} | ${range(r.baseCpu)}, ${range(r.cpu)} | ${range(r.added, 1)} | ${fmt(rss, 0)} | ${fmt(rss - baseRss, 1)} | ${range(st?.ms, 0)} | ${range(st?.added, 0)} | ${range(st?.cpuAdded, 0)} |`,
    );
  }
  const other = summarize(Object.values(run.results).flatMap((r) => r.rows.map((x) => x.otherCpuPct)));
  const serversPct = summarize(Object.values(run.results).flatMap((r) => r.rows.map((x) => x.serversCpuPct)));
  lines.push('', `CPU of other work on the machine during the pairs: median ${fmt(other.median, 0)}%, max ${fmt(other.max, 0)}% of one core; the two servers of a pair together: median ${fmt(serversPct.median, 0)}% [${fmt(serversPct.min, 0)}, ${fmt(serversPct.max, 0)}] of their CPU.`);
  if (serversPct.median < 80) {
    lines.push(
      `WARNING: the servers got less than 80% of their CPU, so they were not what limited the pairs' rates (the load generators, starved as well, were): the throughput ratio then says little and tends to 1, ` +
        `and CPU per ${unit} includes each process's fixed per-second work spread over few ${unit}s. Rerun on a machine with less other work.`,
    );
  }
  for (const name of names.slice(1)) {
    const r = run.results[name];
    if (!r) continue;
    lines.push(
      `${name}: throughput ${fmt(r.rpsRatio.median, 3)} [${fmt(r.rpsRatio.min, 3)}, ${fmt(r.rpsRatio.max, 3)}] of ${base}, CPU +${fmt(r.added.median, 1)} [${fmt(r.added.min, 1)}, ${fmt(r.added.max, 1)}] µs/${unit}, ` +
        `RSS +${fmt((run.rss[name]?.mb ?? NaN) - baseRss, 1)} MB, start-up +${fmt(startup[name]?.added.median, 0)} ms (CPU +${fmt(startup[name]?.cpuAdded.median, 0)} ms)`,
    );
  }
  return { text: lines.join('\n'), run, startup };
}

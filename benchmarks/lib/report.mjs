// What a scenario prints and keeps: markdown tables (median [min, max] over rounds), the
// headline lines, the machine, and the raw JSON under benchmarks/results/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './server-process.mjs';
import { summarize } from './stats.mjs';

export const benchRoot = join(repoRoot, 'benchmarks');

export const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
export const range = (s, d = 1) => (s && s.n > 0 ? (s.n > 1 ? `${fmt(s.median, d)} [${fmt(s.min, d)}, ${fmt(s.max, d)}]` : fmt(s.median, d)) : 'n/a');

/**
 * One table per mode. `unit` names what is counted ('req' or 'call'); `rate` is the paced
 * mode's rate; `floor` adds a column when that variant ran.
 */
export function markdownTables(run, { unit = 'req', rate, floor = 'als-floor' } = {}) {
  const { results } = run;
  const names = Object.keys(results);
  const withFloor = names.includes(floor);
  const out = [];
  out.push(`Saturated (closed loop, as fast as each server answers); median [min, max] over rounds:\n`);
  const head = ['variant', `${unit}/s`, 'vs baseline', `server CPU µs/${unit}`, `added µs/${unit}`];
  if (withFloor) head.push('above ALS floor');
  head.push('p50 ms', 'p99 ms', 'RSS MB', 'errors', `export B/${unit}`);
  out.push(row(head), row(head.map(() => '---')));
  for (const name of names) {
    const r = results[name];
    const s = r.saturated;
    const cells = [name, range(s.rps, 0), range(s.rpsRatio, 3), range(s.cpu), range(s.cpuAdded)];
    if (withFloor) cells.push(range(s.cpuAboveFloor));
    cells.push(range(s.p50, 2), range(s.p99, 2), fmt(s.rssMb.median, 0), String(s.errors), fmt(r.export?.bytesPerRequest, 0));
    out.push(row(cells));
  }
  if (names.some((n) => results[n].paced)) {
    out.push('', `Paced at ${rate} ${unit}/s (every variant serves the same load; CPU per ${unit} is what a tracer adds to the bill):\n`);
    const h = ['variant', `${unit}/s achieved`, `server CPU µs/${unit}`, `added µs/${unit}`];
    if (withFloor) h.push('above ALS floor');
    h.push('server CPU %', 'p99 ms');
    out.push(row(h), row(h.map(() => '---')));
    for (const name of names) {
      const p = results[name].paced;
      if (!p) continue;
      // A variant that cannot keep up with the rate was saturated, not paced: say so.
      const short = p.rps.median < 0.95 * rate ? ' (below the rate: saturated)' : '';
      const cells = [name, `${range(p.rps, 0)}${short}`, range(p.cpu), range(p.cpuAdded)];
      if (withFloor) cells.push(range(p.cpuAboveFloor));
      cells.push(range(p.serverCpuPct, 0), range(p.p99, 2));
      out.push(row(cells));
    }
  }
  const noise = noiseNote(run);
  if (noise) out.push('', noise);
  return out.join('\n');
}
const row = (cells) => `| ${cells.join(' | ')} |`;

/**
 * How much CPU went to neither the server nor the load generator during the windows (the
 * sink, the harness, anything else on the machine), with a warning when it was high enough
 * to move the numbers.
 */
export function noiseNote(run, warnPct = run.maxOtherPct ?? 25) {
  const all = Object.values(run.raw).flatMap((r) => [...r.saturated, ...r.paced]).filter(Boolean);
  const other = summarize(all.map((w) => w.otherCpuPct));
  const load = summarize(Object.values(run.raw).flatMap((r) => r.saturated).filter(Boolean).map((w) => w.loadCpuPct));
  if (!other.n) return '';
  const busy = all.filter((w) => w.otherCpuPct > warnPct).length;
  const retried = all.reduce((a, w) => a + (w.retries ?? 0), 0);
  let note = `CPU besides server and load generator during the windows: median ${fmt(other.median, 0)}%, max ${fmt(other.max, 0)}% of one core (the load generator, saturated windows: median ${fmt(load.median, 0)}%).`;
  if (retried) note += ` ${retried} noisy window${retried > 1 ? 's were' : ' was'} measured again.`;
  if (busy) note += `\nWARNING: ${busy} of ${all.length} windows shared the machine with over ${warnPct}% of a core of other work; rerun on a quiet machine before trusting small differences.`;
  return note;
}

/**
 * The headline lines for `subject` (default 'tracewell'):
 *   <subject> throughput ratio vs baseline: X
 *   <subject> CPU µs/<unit> added vs baseline: Y (...)
 *   <subject> µs/<unit> above ALS floor: Z (...)
 * CPU numbers come from the paced windows when there are any (equal load), else saturated;
 * the other mode's value follows in parentheses. Other variants get the same first two lines.
 */
export function headlines(run, { subject = 'tracewell', unit = 'request', rate, selected = [], floor = 'als-floor' } = {}) {
  const { results, failed } = run;
  const lines = [];
  const cpuLine = (r, key) => {
    const sat = r.saturated[key].median;
    if (!r.paced) return `${fmt(sat)} (saturated)`;
    return `${fmt(r.paced[key].median)} (at ${rate} ${unit === 'request' ? 'req' : unit}/s; saturated: ${fmt(sat)})`;
  };
  const r = results[subject];
  if (r && !failed[subject]) {
    lines.push(`${subject} throughput ratio vs baseline: ${fmt(r.saturated.rpsRatio.median, 3)}`);
    lines.push(`${subject} CPU µs/${unit} added vs baseline: ${cpuLine(r, 'cpuAdded')}`);
    if (results[floor]) lines.push(`${subject} µs/${unit} above ALS floor: ${cpuLine(r, 'cpuAboveFloor')}`);
    else lines.push(`${subject} µs/${unit} above ALS floor: n/a (${floor} not run)`);
    if (r.export && !(r.export.bytes > 0)) lines.push(`WARNING: ${subject} exported nothing to the sink: it measured a tracer that made no spans`);
  } else {
    const why = failed[subject] ? `${subject} ${failed[subject].split(';')[0]}` : selected.includes(subject) ? `${subject} produced no results` : `${subject} not selected`;
    lines.push(`${subject} throughput ratio vs baseline: n/a (${why})`);
    lines.push(`${subject} CPU µs/${unit} added vs baseline: n/a`);
    lines.push(`${subject} µs/${unit} above ALS floor: n/a`);
  }
  for (const [name, o] of Object.entries(results)) {
    if (name === subject || name === 'baseline') continue;
    lines.push(`${name} throughput ratio vs baseline: ${fmt(o.saturated.rpsRatio.median, 3)}; CPU µs/${unit} added vs baseline: ${cpuLine(o, 'cpuAdded')}`);
  }
  for (const [name, why] of Object.entries(failed)) lines.push(`\n${name} did not complete (${why.includes('did not start') ? 'no numbers' : 'numbers above are from the rounds before'}): ${why}`);
  return lines.join('\n');
}

export function machine(execPath = process.execPath) {
  const node = execPath === process.execPath ? process.version : execFileSync(execPath, ['-v'], { encoding: 'utf8' }).trim();
  return { node, cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', loadavg: loadavg(), date: new Date().toISOString() };
}

/** Writes benchmarks/results/<name>-<timestamp>.json and returns its path. */
export function saveJson(name, data) {
  const dir = join(benchRoot, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(data, (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  return file;
}

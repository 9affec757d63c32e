/** `tracewell profile`: read pprof files (ours, the dev agent's, any gzip pprof). */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, relative, resolve } from 'node:path';
import { decodePprof, type PprofProfile } from '../profiler/pprof';
import { flameTree, top, type Selection } from '../profiler/analyze';
import { flamePage } from '../profiler/flame-page';

export const usage = `tracewell profile top FILE [--lines] [--span ID] [--endpoint E] [--type T] [-n N]
  The hottest functions (or lines, with --lines) of a pprof file (.pb.gz or .pprof), by self
  time; --span keeps the samples of one span or local root span (linked profiles),
  --endpoint those of one endpoint ("GET /users/:id"); --type picks the sample type.
tracewell profile flame FILE -o flame.html [--by function|line] [--span ID] [--endpoint E] [--type T]
  Writes a self-contained flame graph page (no network) to open in a browser.`;

function formatValue(v: number, unit: string): string {
  if (unit === 'nanoseconds') return v >= 1e9 ? `${(v / 1e9).toFixed(2)} s` : `${(v / 1e6).toFixed(1)} ms`;
  if (unit === 'bytes') return v >= 1048576 ? `${(v / 1048576).toFixed(1)} MiB` : `${(v / 1024).toFixed(1)} KiB`;
  return String(v);
}

function where(file: string): string {
  if (file === '') return '';
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

interface Parsed {
  sub: string;
  file: string;
  sel: Selection;
  n: number;
  out: string;
}

function parse(args: string[]): Parsed | string {
  const [sub, ...rest] = args;
  if (sub !== 'top' && sub !== 'flame') return 'say top or flame';
  const p: Parsed = { sub, file: '', sel: { by: sub === 'top' ? 'function' : 'function' }, n: 20, out: '' };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--lines') p.sel.by = 'line';
    else if (a === '--functions') p.sel.by = 'function';
    else if (a === '--by') {
      const by = value();
      if (by !== 'line' && by !== 'function') return `--by is line or function, not "${by}"`;
      p.sel.by = by;
    } else if (a === '--span') p.sel.spanId = value();
    else if (a === '--endpoint') p.sel.endpoint = value();
    else if (a === '--type') p.sel.type = value();
    else if (a === '-n') {
      p.n = Number(value());
      if (!Number.isInteger(p.n) || p.n < 1) return '-n is a whole number from 1';
    } else if (a === '-o' || a === '--out') p.out = value();
    else if (a.startsWith('-')) return `unknown option ${a}`;
    else if (p.file === '') p.file = a;
    else return `one FILE only (got ${p.file} and ${a})`;
  }
  if (p.file === '') return 'FILE is missing';
  if (sub === 'flame' && p.out === '') return 'flame needs -o FILE.html';
  return p;
}

export async function run(args: string[], out: (s: string) => void): Promise<number> {
  let p: Parsed | string;
  try {
    p = parse(args);
  } catch (err) {
    p = (err as Error).message;
  }
  if (typeof p === 'string') {
    out(`${p}\n${usage}`);
    return 2;
  }
  let profile: PprofProfile;
  try {
    profile = decodePprof(readFileSync(p.file));
  } catch (err) {
    out(`${p.file} is not a readable pprof profile: ${(err as Error).message}`);
    return 1;
  }
  const filters = [p.sel.spanId && `span ${p.sel.spanId}`, p.sel.endpoint && `endpoint "${p.sel.endpoint}"`].filter(Boolean).join(', ');
  if (p.sub === 'top') {
    const { entries, weighed, apart } = top(profile, p.sel);
    if (weighed.sum === 0) {
      out(`no ${weighed.type} samples${filters ? ' for ' + filters : ''} in ${p.file}`);
      return 1;
    }
    const rows = entries.slice(0, p.n).map((e) => [
      formatValue(e.self, weighed.unit),
      `${((100 * e.self) / weighed.sum).toFixed(1)}%`,
      formatValue(e.total, weighed.unit),
      `${((100 * e.total) / weighed.sum).toFixed(1)}%`,
      e.name,
      e.kind !== 'code' ? `(${e.kind})` : e.line > 0 ? `${where(e.file)}:${e.line}` : where(e.file),
    ]);
    const head = ['self', 'self%', 'total', 'total%', p.sel.by === 'line' ? 'function' : 'function', 'location'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]): string => r.map((c, i) => (i < 4 ? c.padStart(widths[i]) : i === 5 ? c : c.padEnd(widths[i]))).join('  ');
    out(`${basename(p.file)}: ${formatValue(weighed.sum, weighed.unit)} of ${weighed.type}${filters ? ' for ' + filters : ''}, hottest ${p.sel.by === 'line' ? 'lines' : 'functions'} by self ${weighed.type}`);
    out([line(head), ...rows.map(line)].join('\n'));
    if (apart.length > 0) out('');
    for (const a of apart) out(`not ranked: ${a.name} ${formatValue(a.value, weighed.unit)} (${((100 * a.value) / weighed.sum).toFixed(1)}%), ${a.what}`);
    return 0;
  }
  const { root, weighed } = flameTree(profile, p.sel);
  if (weighed.sum === 0) {
    out(`no ${weighed.type} samples${filters ? ' for ' + filters : ''} in ${p.file}`);
    return 1;
  }
  const title = `${basename(p.file)}: ${weighed.type} by ${p.sel.by}${filters ? ', ' + filters : ''}`;
  const hottest = top(profile, { ...p.sel, by: p.sel.by ?? 'function' }).entries[0];
  writeFileSync(resolve(p.out), flamePage(root, weighed, title, hottest));
  out(`wrote ${p.out} (${formatValue(weighed.sum, weighed.unit)} of ${weighed.type})`);
  return 0;
}

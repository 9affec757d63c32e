// Writes the option docs from the option table (src/config/table.ts, read from dist/ after a
// build): the doc comment of every TracewellOptions field in src/config/options.ts, and the
// option tables of README.md, docs/export.md and docs/profiling.md (between
// `<!-- options:<page> -->` and `<!-- /options:<page> -->`).
//
//   npm run docs:options                     build, then write them
//   node scripts/options-docs.mjs --check    write nothing; exit 1 naming what is out of date
//
// test/config/table.test.mjs runs the check, so a table edit without this run fails the suite.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { OPTIONS, FIELDS } = require(join(root, 'dist', 'cjs', 'config', 'table.js'));

const MiB = 1024 * 1024;
const WIDTH = 120;

/** How the docs name the variables of a field. */
export function envDoc(field) {
  const spec = OPTIONS[field];
  return spec.envDoc ?? spec.env.map((n) => `\`${n}\``).join(', ');
}

/** How the docs name a field's default: its own words, else the default written out (bytes in MiB). */
export function defaultDoc(field) {
  const spec = OPTIONS[field];
  if (spec.defaultDoc !== undefined) return spec.defaultDoc;
  if (typeof spec.default === 'function') throw new Error(`${field}: a computed default needs defaultDoc in the table`);
  const v = spec.default;
  if (typeof v === 'number') return spec.kind.unit === 'bytes' && v >= MiB && v % MiB === 0 ? `${v / MiB} MiB` : String(v);
  if (typeof v === 'string') return v === '' ? 'none' : `\`${v}\``;
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.join(', ');
  if (typeof v === 'object' && v !== null) return Object.keys(v).length === 0 ? 'none' : JSON.stringify(v);
  return String(v);
}

/** What a field accepts, as the docs table says it: the variable's form, and the code form when it differs. */
export function acceptedDoc(field) {
  const { accepted, acceptedInCode } = OPTIONS[field].kind;
  if (accepted === acceptedInCode || OPTIONS[field].env.length === 0) return acceptedInCode;
  const [list, array] = ['a comma list of ', 'an array of '];
  if (accepted.startsWith(list) && acceptedInCode === array + accepted.slice(list.length)) return `a comma list (in code, an array) of ${accepted.slice(list.length)}`;
  return `${accepted}; in code, ${acceptedInCode}`;
}

/** The whole doc comment text of a field (what code sees: the code form of what is accepted). */
export function commentText(field) {
  const spec = OPTIONS[field];
  return `${spec.doc} Accepted: ${spec.kind.acceptedInCode}. Env: ${envDoc(field)}. Default: ${defaultDoc(field)}.`;
}

function wrap(text, width) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function comment(field) {
  const text = commentText(field);
  const one = `  /** ${text} */`;
  if (one.length <= WIDTH) return [one];
  return ['  /**', ...wrap(text, WIDTH - 5).map((l) => `   * ${l}`), '   */'];
}

/** src/config/options.ts with every TracewellOptions field's comment written from the table. */
export function renderOptions(source) {
  const start = source.indexOf('export interface TracewellOptions {');
  const end = source.indexOf('\n}\n', start);
  if (start < 0 || end < 0) throw new Error('src/config/options.ts: no TracewellOptions interface');
  const body = source.slice(start, end).split('\n');
  const out = [body[0]];
  const seen = [];
  const field = (line) => {
    const m = /^ {2}(\w+)\?:/.exec(line ?? '');
    if (m === null) return null;
    if (!FIELDS.includes(m[1])) throw new Error(`TracewellOptions.${m[1]} is not in src/config/table.ts`);
    seen.push(m[1]);
    return m[1];
  };
  for (let i = 1; i < body.length; i++) {
    let line = body[i];
    let old = [];
    if (line.startsWith('  /**')) {
      // A comment block: replaced when a field follows it, kept otherwise.
      let j = i;
      while (j < body.length - 1 && !body[j].includes('*/')) j++;
      old = body.slice(i, j + 1);
      i = j + 1;
      line = body[i];
    }
    const f = field(line);
    if (f !== null) out.push(...comment(f), line);
    else out.push(...old, ...(line === undefined ? [] : [line]));
  }
  const missing = FIELDS.filter((f) => !seen.includes(f));
  if (missing.length > 0) throw new Error(`src/config/table.ts has options TracewellOptions lacks: ${missing.join(', ')}`);
  return source.slice(0, start) + out.join('\n') + source.slice(end);
}

const cell = (s) => s.replace(/\|/g, '\\|');

/** The markdown table of one page's options. */
export function pageTable(page) {
  const rows = FIELDS.filter((f) => OPTIONS[f].pages.includes(page)).map((f) => `| \`${f}\` | ${cell(OPTIONS[f].doc)} | ${cell(envDoc(f))} | ${cell(acceptedDoc(f))} | ${cell(defaultDoc(f))} |`);
  return ['| option | what it does | environment, first wins | accepted | default |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** A markdown page with its generated table replaced. */
export function renderPage(source, page, file) {
  const open = `<!-- options:${page} -->`;
  const close = `<!-- /options:${page} -->`;
  const a = source.indexOf(open);
  const b = source.indexOf(close);
  if (a < 0 || b < a) throw new Error(`${file}: no ${open} ... ${close} markers`);
  const note = '<!-- written from src/config/table.ts by `npm run docs:options`: edit the table, not these rows -->';
  return `${source.slice(0, a)}${open}\n${note}\n${pageTable(page)}\n${source.slice(b)}`;
}

/** Every generated file: [path relative to the root, how to render it]. */
export const TARGETS = [
  ['src/config/options.ts', renderOptions],
  ['README.md', (s) => renderPage(s, 'readme', 'README.md')],
  ['docs/export.md', (s) => renderPage(s, 'export', 'docs/export.md')],
  ['docs/profiling.md', (s) => renderPage(s, 'profiling', 'docs/profiling.md')],
];

/** The files whose committed text is not what the table gives. */
export function outOfDate() {
  return TARGETS.filter(([file, render]) => {
    const text = readFileSync(join(root, file), 'utf8');
    return render(text) !== text;
  }).map(([file]) => file);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const stale = outOfDate();
    if (stale.length > 0) {
      process.stderr.write(`out of date with src/config/table.ts: ${stale.join(', ')}\nrun: npm run docs:options\n`);
      process.exit(1);
    }
  } else {
    for (const [file, render] of TARGETS) {
      const p = join(root, file);
      const text = readFileSync(p, 'utf8');
      const next = render(text);
      if (next !== text) {
        writeFileSync(p, next);
        process.stdout.write(`wrote ${file}\n`);
      }
    }
  }
}

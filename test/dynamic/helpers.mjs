// Shared by the probe tests: where a marked line is, and waiting for a probe's status.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { require, root } from '../helpers/apps.mjs';

/** Compiles one TypeScript file to `outDir` with a source map file beside it (what tsc --sourceMap writes). */
export function compileTs(file, outDir) {
  const ts = require('typescript');
  const name = basename(file).replace(/\.ts$/, '');
  const out = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { sourceMap: true, target: ts.ScriptTarget.ES2019, module: ts.ModuleKind.CommonJS, outDir, sourceRoot: '' },
  });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}.js`), out.outputText);
  // transpileModule names the source by its bare file name; tsc writes the path from the map to it.
  const map = JSON.parse(out.sourceMapText);
  map.sources = [relative(outDir, file)];
  writeFileSync(join(outDir, `${name}.js.map`), JSON.stringify(map));
}

/** 1-based line of the line holding `// probe: <name>` (or, with `{ text }`, that text) in a fixture file. */
export function lineOf(file, name, { text } = {}) {
  const lines = readFileSync(join(root, 'test', 'fixtures', file), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(text ?? `// probe: ${name}`));
  if (i < 0) throw new Error(`no "probe: ${name}" marker in ${file}`);
  return i + 1;
}

/** Polls the service's stats until probe `id` has one of `statuses`; resolves with the stats. */
export async function waitForProbe(svc, id, statuses, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    const stats = await svc.stats();
    last = stats.probes.statuses.find((s) => s.id === id);
    if (last && statuses.includes(last.status)) return { stats, status: last };
    await new Promise((r) => setTimeout(r, 40));
  }
  throw new Error(`probe ${id} did not reach ${statuses.join('/')} in ${timeoutMs} ms; last: ${JSON.stringify(last)}\nstderr:\n${svc.stderr()}`);
}

export function postJson(url, body) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

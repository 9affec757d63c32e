// Shared by the probe tests: where a marked line is, and waiting for a probe's status.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { basename, join, relative } from 'node:path';
import { require, root } from '../helpers/apps.mjs';

/** In-thread module hooks (Node 22.15+, 24, 26): ES modules get their probes' calls as they load. */
export const HAS_REGISTER_HOOKS = typeof Module.registerHooks === 'function';

/**
 * Whether V8 here can edit a loaded script (Node 20, 22, 24; Node 26 answers "setScriptSource
 * functionality no longer available"): tried in this process the way the SDK tries it.
 */
export const HAS_LIVE_EDIT = await (async () => {
  const { Session } = await import('node:inspector');
  const { Script } = await import('node:vm');
  const session = new Session();
  session.connect();
  let id = null;
  session.on('Debugger.scriptParsed', (m) => {
    if (m.params.url === 'tw-test-live-edit-check') id = m.params.scriptId;
  });
  const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  try {
    await post('Debugger.enable');
    new Script('void 0', { filename: 'tw-test-live-edit-check' }).runInThisContext();
    await post('Debugger.setScriptSource', { scriptId: id, scriptSource: 'void 0;' });
    return true;
  } catch {
    return false;
  } finally {
    await post('Debugger.disable').catch(() => undefined);
    session.disconnect();
  }
})();

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

/** Polls `check()` until it is truthy (resolves with its value); a generous outer limit only catches a hang. */
export async function waitUntil(check, what, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

export function postJson(url, body) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

// What every kind of test shares: where things are, the one child-process launcher, polling
// until something holds, finding a marked line, compiling a TypeScript fixture.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const require = createRequire(import.meta.url);
/** A module of the build, by its path under dist/cjs (`dist('tracer/tracer.js')`). */
export const dist = (p) => require(join(root, 'dist', 'cjs', p));

/**
 * Starts `node [execArgv] file` with exactly `env`, stdout and stderr collected; with `ipc`, an
 * IPC channel (as `fork` makes); with `via`, started by that command (which must exec it). Returns { child, stdout(), stderr(), exited, nextMessage, kill }:
 * `exited` resolves with { code, signal }; `nextMessage(match, ms, what)` resolves with the next
 * message `match` accepts, or rejects after `ms` (none: no limit) with `what()` as the error.
 */
export function launch(file, { execArgv = [], env = {}, cwd = root, ipc = false, uid, gid, via = [] } = {}) {
  // `via`: a command that execs its arguments (`sh -c '...; exec "$@"' sh`), run first.
  const argv = [process.execPath, ...execArgv, file];
  const child = spawn(via.length > 0 ? via[0] : argv[0], [...via.slice(1), ...(via.length > 0 ? argv : argv.slice(1))], { cwd, env, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])], uid, gid });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const nextMessage = (match, ms, what) =>
    new Promise((resolve, reject) => {
      const timer = ms === undefined ? null : setTimeout(() => {
        child.off('message', on);
        reject(new Error(what()));
      }, ms);
      const on = (m) => {
        if (!match(m)) return;
        if (timer !== null) clearTimeout(timer);
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
    });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    nextMessage,
    kill: (sig = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      return exited;
    },
  };
}

/**
 * A wait's outer limit is at least this long: a wait ends as soon as its condition holds, so the
 * limit only decides how soon a hang is reported, and a loaded machine (scripts/loaded-test.sh)
 * must not reach it.
 */
export const PATIENCE_MS = 30_000;

/** Polls `fn` until it returns truthy; rejects with `what` after `ms` (at least PATIENCE_MS). */
export async function until(fn, what, ms = PATIENCE_MS, every = 20, describe) {
  ms = Math.max(ms, PATIENCE_MS);
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${describe ? ': ' + (await describe()) : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The 1-based line of `file` (absolute, or relative to test/fixtures) holding `marker`. */
export function lineOf(file, marker) {
  const path = isAbsolute(file) ? file : join(root, 'test', 'fixtures', file);
  const lines = readFileSync(path, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(marker));
  if (i < 0) throw new Error(`${marker} not in ${path}`);
  return i + 1;
}

/**
 * Compiles one TypeScript file to `outDir` (default: a new temp folder) as tsc --sourceMap
 * writes it: `<name>.js` ending in its sourceMappingURL, and `<name>.js.map` beside it, whose
 * source is the path from the map to the file. Returns `outDir`.
 */
export function compileTs(file, outDir = mkdtempSync(join(tmpdir(), 'tw-ts-')), { target = 'ES2022' } = {}) {
  const ts = require('typescript');
  const name = basename(file).replace(/\.ts$/, '');
  const out = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget[target], sourceMap: true, sourceRoot: '' },
  });
  mkdirSync(outDir, { recursive: true });
  // transpileModule names the source by its bare file name; tsc writes the path from the map to it.
  const map = JSON.parse(out.sourceMapText);
  map.sources = [relative(outDir, file)];
  map.file = `${name}.js`;
  writeFileSync(join(outDir, `${name}.js`), out.outputText.replace(/\/\/# sourceMappingURL=.*$/m, '') + `//# sourceMappingURL=${name}.js.map\n`);
  writeFileSync(join(outDir, `${name}.js.map`), JSON.stringify(map));
  return outDir;
}

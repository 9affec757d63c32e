// Shared by the profiler tests: run a fixture under the preload, find marked lines, compile
// the TypeScript fixture with a source map.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { root, require } from '../helpers/apps.mjs';

export const fixtures = join(root, 'test', 'fixtures', 'profiler');
export const profiler = () => require(join(root, 'dist/cjs/profiler/index.js'));

/** The 1-based line of `file` holding `marker`. */
export function lineOf(file, marker) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(marker));
  if (i < 0) throw new Error(`${marker} not in ${file}`);
  return i + 1;
}

/** Runs `file` with `node [execArgv] file`, resolves { code, stdout, stderr }. */
export function runNode(file, { env = {}, execArgv = ['--require', 'tracewell/register'], timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, file], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DD_ENV: 'test', DD_SERVICE: 'profiled', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not end in ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Compiles test/fixtures/profiler/hot.ts to a temp folder (hot.js + hot.js.map); returns the folder. */
export function compileTs() {
  const ts = require('typescript');
  const src = join(fixtures, 'hot.ts');
  const out = mkdtempSync(join(tmpdir(), 'tw-ts-'));
  const r = ts.transpileModule(readFileSync(src, 'utf8'), {
    fileName: src,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, sourceMap: true },
  });
  const map = JSON.parse(r.sourceMapText);
  map.sources = [relative(out, src)];
  map.file = 'hot.js';
  writeFileSync(join(out, 'hot.js'), r.outputText.replace(/\/\/# sourceMappingURL=.*$/m, '') + '//# sourceMappingURL=hot.js.map\n');
  writeFileSync(join(out, 'hot.js.map'), JSON.stringify(map));
  return out;
}

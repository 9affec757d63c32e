// One module reads the environment: src/config/resolve.ts. Everything else (the SDK's stages,
// the `tracewell` commands) gets its settings from src/config, so no file outside src/config
// may name process.env.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { root } from '../helpers/common.mjs';

function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(name)) out.push(p);
  }
  return out;
}

// process.env, process['env'], process?.env, and `const { env } = process`.
const READS_ENV = /\bprocess\s*\??\.\s*env\b|\bprocess\s*\[\s*['"`]env['"`]\s*\]|\{[^}]*\benv\b[^}]*\}\s*=\s*(?:globalThis\.)?process\b/;

test('no file under src/ outside src/config reads process.env (src/config/resolve.ts is the one reader)', () => {
  const src = join(root, 'src');
  const offenders = [];
  for (const file of sources(src)) {
    const rel = relative(src, file).split('\\').join('/');
    if (rel.startsWith('config/')) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (READS_ENV.test(line)) offenders.push(`src/${rel}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, [], `read the variable through src/config (resolveConfig, or cliSettings for the commands' own):\n${offenders.join('\n')}`);
});

test('the pattern catches the spellings it is meant to', () => {
  for (const line of ['const p = process.env.X;', "process['env'].X", 'process?.env', 'const { env } = process;', 'const { argv, env: e } = process;']) assert.ok(READS_ENV.test(line), line);
  for (const line of ['config.env', 'const env = options.env;', 'resolveConfig(options, env)']) assert.ok(!READS_ENV.test(line), line);
});

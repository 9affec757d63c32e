// The whole suite: unused exports and locals in src/ (scripts/unused-exports.mjs), type tests
// of the shipped .d.ts, then every test/**/*.test.{mjs,cjs} on node's test runner. Extra
// arguments are passed to `node --test` (e.g. a file to run alone).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const args = process.argv.slice(2);

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (/\.test\.(mjs|cjs|js)$/.test(name)) out.push(relative(root, p));
  }
  return out.sort();
}

const unused = spawnSync(process.execPath, [join(root, 'scripts', 'unused-exports.mjs')], { stdio: 'inherit', cwd: root });
if (unused.status !== 0) {
  process.stderr.write('unused exports or locals in src/ (scripts/unused-exports.mjs)\n');
  process.exit(unused.status ?? 1);
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const types = spawnSync(process.execPath, [tsc, '-p', join(root, 'test', 'types', 'tsconfig.json')], { stdio: 'inherit', cwd: root });
if (types.status !== 0) {
  process.stderr.write('type tests failed\n');
  process.exit(types.status ?? 1);
}

const named = args.some((a) => !a.startsWith('-'));
const all = named ? [] : find(join(root, 'test'));
// The install test packs a fresh checkout (a build of its own) and installs the tarball into
// several apps: minutes on a loaded 2-core machine, so it runs with a longer limit of its own.
const slow = all.filter((f) => f.startsWith(join('test', 'install')));
const files = all.filter((f) => !slow.includes(f));
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...args, ...files], { stdio: 'inherit', cwd: root });
let status = run.status ?? 1;
if (slow.length > 0) {
  const install = spawnSync(process.execPath, ['--test', '--test-timeout=900000', ...args, ...slow], { stdio: 'inherit', cwd: root });
  if (status === 0) status = install.status ?? 1;
}
process.exit(status);

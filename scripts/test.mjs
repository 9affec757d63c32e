// The whole suite: unused exports and locals in src/ (scripts/unused-exports.mjs), type tests
// of the shipped .d.ts, then every test/**/*.test.{mjs,cjs} on node's test runner. Extra
// arguments are passed to `node --test` (e.g. a file to run alone).
import { spawn, spawnSync } from 'node:child_process';
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
// several apps: mostly npm's own waiting, so it runs beside the rest of the suite, with a longer
// limit of its own; its report is printed after the suite's, not interleaved with it.
const slow = all.filter((f) => f.startsWith(join('test', 'install')));
const files = all.filter((f) => !slow.includes(f));

function run(argv, quiet) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', cwd: root });
    const out = [];
    if (quiet) {
      child.stdout.on('data', (d) => out.push(d));
      child.stderr.on('data', (d) => out.push(d));
    }
    child.on('close', (code) => resolve({ code: code ?? 1, output: Buffer.concat(out) }));
  });
}

// Most tests wait on child processes, servers and sockets rather than on the CPU: three files
// at a time keep two cores busy without starving a test's own processes.
const main = run(['--test', '--test-concurrency=3', '--test-timeout=120000', ...args, ...files], false);
const install = slow.length > 0 ? run(['--test', '--test-timeout=900000', ...args, ...slow], true) : null;
const suite = await main;
let status = suite.code;
if (install) {
  const result = await install;
  process.stdout.write(result.output);
  if (status === 0) status = result.code;
}
process.exit(status);

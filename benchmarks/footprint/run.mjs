// Install footprint: what `npm install` brings into a fresh project for each tracer, as a team
// would install it (Tracewell from this checkout's `npm pack`; dd-trace; the OpenTelemetry
// Node SDK with the instrumentations and exporter benchmarks/lib/otel-preload.cjs uses), at
// the versions benchmarks/node_modules holds. Needs the npm registry.
// Usage: node benchmarks/footprint/run.mjs [--variants tracewell,dd-trace,otel]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureInstall as measure } from '../lib/install-size.mjs';
import { parseArgs, pickVariants, machine, saveJson, fmt, repoRoot, benchRoot } from '../lib/harness.mjs';

const args = parseArgs(process.argv.slice(2), { variants: 'tracewell,dd-trace,otel' });
const names = pickVariants(Object.fromEntries(['tracewell', 'dd-trace', 'otel'].map((n) => [n, { name: n }])), args.variants).map((v) => v.name);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function benchVersion(pkg) {
  const p = join(benchRoot, 'node_modules', pkg, 'package.json');
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')).version : 'latest';
}

function specs(name, tarball) {
  if (name === 'tracewell') return [tarball];
  if (name === 'dd-trace') return [`dd-trace@${benchVersion('dd-trace')}`];
  return [
    '@opentelemetry/api',
    '@opentelemetry/sdk-node',
    '@opentelemetry/exporter-trace-otlp-proto',
    '@opentelemetry/instrumentation-http',
    '@opentelemetry/instrumentation-fastify',
    '@opentelemetry/instrumentation-express',
    '@opentelemetry/instrumentation-grpc',
  ].map((p) => `${p}@${benchVersion(p)}`);
}

const work = mkdtempSync(join(tmpdir(), 'tw-footprint-'));
const results = [];
try {
  const tarball = join(work, execFileSync(npm, ['pack', '--silent', '--pack-destination', work], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n').at(-1));
  for (const name of names) {
    const dir = join(work, name);
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `footprint-${name}`, private: true }));
    const list = specs(name, tarball);
    process.stderr.write(`installing ${list.join(' ')}\n`);
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--silent', '--omit=dev', ...list], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    results.push({ name, specs: list.map((s) => s.replace(work, '.')), ...measure(dir) });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const m = machine();
console.log(`\n## footprint: npm ${execFileSync(npm, ['-v'], { encoding: 'utf8' }).trim()}, Node ${m.node}\n`);
console.log('What `npm install --omit=dev` puts in node_modules of an empty project.\n');
console.log('| tracer | installed | packages | MB on disk |\n| --- | --- | --- | --- |');
for (const r of results) console.log(`| ${r.name} | ${r.specs.map((s) => '`' + s + '`').join(' ')} | ${r.packages} | ${fmt(r.mb, 1)} |`);
console.log('');
for (const r of results) console.log(`${r.name}: ${r.packages} packages, ${fmt(r.mb, 1)} MB`);
console.log(`\nraw results: ${saveJson('footprint', { machine: m, results })}`);

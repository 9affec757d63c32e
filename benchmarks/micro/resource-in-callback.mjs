// Instructions a context switch costs inside a native callback (valgrind's callgrind): N
// round trips of one byte over a loopback TCP connection in one process, the client's `data`
// events (native callbacks, as a database driver's socket reads are) each doing nothing, one or
// two `AsyncResource#runInAsyncScope`, or one `AsyncLocalStorage#run`. Each mode runs with two
// callback counts; the difference over the difference in count is the cost per callback, the
// process's start-up and the first callbacks cancelled out.
// Usage: node benchmarks/micro/resource-in-callback.mjs [--node 24] (needs valgrind)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../lib/args.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';

const args = parseArgs(process.argv.slice(2), {});
const node = nodeBinary(args.node);
const worker = fileURLToPath(new URL('./resource-in-callback-worker.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tw-ric-'));
const counts = [10_000, 30_000];

function instructions(mode, n) {
  const out = join(dir, `${mode}-${n}.out`);
  const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, node, '--single-threaded', worker, mode, String(n)], { encoding: 'utf8' });
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || m === null) throw new Error(`callgrind failed for ${mode} ${n}: ${r.stderr.slice(-500)}`);
  return Number(m[1]);
}

const version = execFileSync(node, ['--version']).toString().trim();
console.log(`Node ${version}, instructions per socket 'data' callback (callgrind)\n`);
console.log('| in each callback | instructions | added |\n|---|---|---|');
let none = NaN;
try {
  for (const mode of ['none', 'resource', 'resource-twice', 'als-run']) {
    const [a, b] = counts.map((n) => instructions(mode, n));
    const per = (b - a) / (counts[1] - counts[0]);
    if (mode === 'none') none = per;
    console.log(`| ${mode} | ${per.toFixed(0)} | ${mode === 'none' ? '' : '+' + (per - none).toFixed(0)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

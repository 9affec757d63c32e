// Shared by the profiler tests: the fixtures' folder, the profiler's modules, and running a
// fixture under the preload until it exits.
import { join } from 'node:path';
import { launch, require, root } from '../helpers/common.mjs';

export const fixtures = join(root, 'test', 'fixtures', 'profiler');
export const profiler = () => require(join(root, 'dist/cjs/profiler/index.js'));

/** Runs `file` with `node [execArgv] file`, resolves { code, stdout, stderr }. */
export function runNode(file, { env = {}, execArgv = ['--require', 'tracewell/register'], timeoutMs = 30_000 } = {}) {
  const p = launch(file, { execArgv, env: { PATH: process.env.PATH, HOME: process.env.HOME, DD_ENV: 'test', DD_SERVICE: 'profiled', ...env } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.child.kill('SIGKILL');
      reject(new Error(`${file} did not end in ${timeoutMs} ms; stderr:\n${p.stderr()}`));
    }, timeoutMs);
    p.exited.then(({ code }) => {
      clearTimeout(timer);
      resolve({ code, stdout: p.stdout(), stderr: p.stderr() });
    });
  });
}

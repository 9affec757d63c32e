// Starts fixture services as real child processes, traced by the preload alone.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const require = createRequire(import.meta.url);

export function devAgentModule() {
  return require(join(root, 'dist/cjs/dev-agent/index.js'));
}

/**
 * Forks `file` (relative to test/fixtures) with `--import`/`--require tracewell/register`
 * (unless `preload: false`, for fixtures that call init() themselves).
 * Resolves with { port, child, stderr(), flush(), stats(), stop() } once it reported its port.
 */
export function startService(file, { esm = file.endsWith('.mjs'), preload = true, env = {}, agentUrl, timeoutMs = 15_000 } = {}) {
  const child = fork(join(root, 'test', 'fixtures', file), [], {
    cwd: root,
    execArgv: !preload ? [] : esm ? ['--import', 'tracewell/register'] : ['--require', 'tracewell/register'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DD_TRACE_AGENT_URL: agentUrl,
      DD_ENV: 'test',
      DD_SERVICE: 'fixture',
      TRACEWELL_FLUSH_INTERVAL_MS: '50',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  const request = (msg, answer) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (answer(m)) {
          child.off('message', on);
          resolve(m);
        }
      };
      child.on('message', on);
      child.send(msg);
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not start in ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before listening; stderr:\n${stderr}\nstdout:\n${stdout}`));
    });
    child.once('message', (m) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        ...m,
        port: m.port,
        url: `http://127.0.0.1:${m.port}`,
        child,
        stderr: () => stderr,
        stdout: () => stdout,
        flush: () => request('flush', (x) => x === 'flushed'),
        stats: () => request('stats', (x) => x && typeof x === 'object' && 'stats' in x).then((x) => x.stats),
        stop: () =>
          new Promise((res) => {
            if (child.exitCode !== null) return res(child.exitCode);
            child.once('exit', (code) => res(code));
            child.send('close');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }),
      });
    });
  });
}

/** Spans of one trace, by 64-bit trace id. */
export function byTrace(spans) {
  const out = new Map();
  for (const s of spans) {
    const k = s.trace_id.toString();
    if (!out.has(k)) out.set(k, []);
    out.get(k).push(s);
  }
  return out;
}

/** Dev agents made on demand by a test file, all closed by `closeAll()` (call it in `after`). */
export function agentPool() {
  const agents = [];
  return {
    async newAgent(opts = {}) {
      const a = await devAgentModule().startDevAgent({ port: 0, dir: null, ...opts });
      agents.push(a);
      return a;
    },
    closeAll: () => Promise.all(agents.map((a) => a.close())),
  };
}

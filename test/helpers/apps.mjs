// Starts fixture services as real child processes, traced by the preload alone.
import { join } from 'node:path';
import { launch, PATIENCE_MS, require, root } from './common.mjs';

/**
 * The dev agent's module, its `startDevAgent` giving agents whose waits (`waitFor`,
 * `waitForSpans`, ...) allow at least `PATIENCE_MS`: a wait returns as soon as its condition
 * holds, so the limit only decides how long a hang takes to be reported, and a loaded machine
 * (scripts/loaded-test.sh) must not reach it.
 */
export function devAgentModule() {
  const m = require(join(root, 'dist/cjs/dev-agent/index.js'));
  return {
    ...m,
    startDevAgent: async (opts) => {
      const agent = await m.startDevAgent(opts);
      const waitFor = agent.waitFor;
      agent.waitFor = (predicate, timeoutMs) => waitFor(predicate, Math.max(timeoutMs ?? 0, PATIENCE_MS));
      return agent;
    },
  };
}

/**
 * Starts `file` (relative to test/fixtures) with `--import`/`--require tracewell/register`
 * (unless `preload: false`, for fixtures that call init() themselves).
 * Resolves with { port, child, stderr(), flush(), stats(), stop() } once it reported its port.
 */
export function startService(file, { esm = file.endsWith('.mjs'), preload = true, env = {}, agentUrl, timeoutMs = 120_000 } = {}) {
  const p = launch(join(root, 'test', 'fixtures', file), {
    ipc: true,
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
  });
  const { child } = p;
  const request = (msg, answer) => {
    const reply = p.nextMessage(answer);
    child.send(msg);
    return reply;
  };
  return new Promise((resolve, reject) => {
    let started = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not start in ${timeoutMs} ms; stderr:\n${p.stderr()}`));
    }, timeoutMs);
    p.exited.then(({ code }) => {
      if (started) return;
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before listening; stderr:\n${p.stderr()}\nstdout:\n${p.stdout()}`));
    });
    child.once('message', (m) => {
      started = true;
      clearTimeout(timer);
      resolve({
        ...m,
        port: m.port,
        url: `http://127.0.0.1:${m.port}`,
        child,
        stderr: p.stderr,
        stdout: p.stdout,
        flush: () => request('flush', (x) => x === 'flushed'),
        stats: () => request('stats', (x) => x && typeof x === 'object' && 'stats' in x).then((x) => x.stats),
        // A clean stop (flush, shutdown, exit) may take seconds on a loaded machine: SIGKILL
        // only for a hang. Safe to call twice.
        stop: () =>
          new Promise((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res(child.exitCode);
            child.once('exit', (code) => res(code));
            if (child.connected) child.send('close');
            else child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 60_000).unref();
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

// Export to the agent: headers, our own I/O untraced, bounded buffer, unreachable agent,
// shutdown flush, and a process that still exits on its own.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startService, agentPool } from '../helpers/apps.mjs';
import { root } from '../helpers/common.mjs';
import { afterBacklogSettles } from './helpers.mjs';

const pool = agentPool();
after(() => pool.closeAll());
const newAgent = pool.newAgent;

/** A port nothing listens on. */
async function deadPort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

test('payloads carry the Datadog headers and the agent sees no span of our own I/O', async () => {
  const agent = await newAgent();
  const app = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: 'hdrs' } });
  try {
    for (let i = 0; i < 3; i++) await (await fetch(app.url + '/status/200')).text();
    await agent.waitFor(() => agent.allSpans().filter((s) => s.service === 'hdrs').length === 3);
    await app.flush();
    const puts = agent.requests.filter((r) => /^\/v0\.[45]\/traces$/.test(r.path));
    assert.ok(puts.length >= 1);
    for (const r of puts) {
      assert.equal(r.method, 'PUT');
      assert.equal(r.headers['content-type'], 'application/msgpack');
      assert.equal(r.headers['datadog-meta-lang'], 'nodejs');
      assert.equal(r.headers['datadog-meta-lang-version'], process.version);
      assert.equal(r.headers['datadog-meta-lang-interpreter'], 'v8');
      assert.match(r.headers['datadog-meta-tracer-version'], /^\d+\.\d+\.\d+/);
      assert.equal(r.headers['datadog-send-real-http-status'], 'true');
      assert.match(r.headers['x-datadog-trace-count'], /^\d+$/);
    }
    const spans = agent.allSpans().filter((s) => s.service === 'hdrs');
    assert.ok(spans.every((s) => !String(s.meta['http.url'] ?? '').includes('/v0.4/traces')), 'export requests were traced');
    assert.equal(spans.length, 3);
    const stats = await app.stats();
    assert.equal(stats.spansSent, 3);
    assert.equal(stats.spansStarted, 3);
    assert.equal(stats.spansFinished, 3);
    assert.equal(stats.spansPending, 0);
  } finally {
    await app.stop();
  }
});

test('an unreachable agent: one warning, drops counted, the app unaffected', async () => {
  const port = await deadPort();
  // With the dead-letter file off, what cannot be sent is dropped and counted (with it on,
  // it is kept and replayed: resilience.test.mjs).
  const app = await startService('apps/service.cjs', { agentUrl: `http://127.0.0.1:${port}`, env: { FRAMEWORK: 'http', DD_SERVICE: 'down', TRACEWELL_FLUSH_INTERVAL_MS: '20', TRACEWELL_DLQ_ENABLED: 'false' } });
  try {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(app.url + '/status/200');
      assert.equal(res.status, 200);
      await res.text();
      await new Promise((r) => setTimeout(r, 10));
    }
    await app.flush();
    const stats = await app.stats();
    assert.equal(stats.spansFinished, 20);
    assert.equal(stats.dropped.sendFailed, 20);
    assert.equal(stats.spansSent, 0);
    const warnings = app.stderr().split('\n').filter((l) => l.includes('TW_EXPORT_FAILED'));
    assert.equal(warnings.length, 1, app.stderr());
    assert.match(warnings[0], new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.ok(!/\n\s+at /.test(app.stderr()), 'no stack trace');
  } finally {
    await app.stop();
  }
});

test('with the dead-letter file off, the pending buffer is bounded and overflow is counted', async () => {
  // (With it on, overflow goes to the file: exactly-once.test.mjs.)
  const agent = await newAgent();
  const app = await startService('apps/service.cjs', { agentUrl: agent.url, env: { FRAMEWORK: 'http', DD_SERVICE: 'bounded', TRACEWELL_MAX_PENDING_SPANS: '5', TRACEWELL_FLUSH_INTERVAL_MS: '600000', TRACEWELL_DLQ_ENABLED: 'false' } });
  try {
    for (let i = 0; i < 12; i++) await (await fetch(app.url + '/status/200')).text();
    const stats = await app.stats();
    assert.equal(stats.spansFinished, 12);
    assert.equal(stats.dropped.bufferFull, 7);
    assert.equal(stats.spansPending, 5);
    assert.equal(app.stderr().split('\n').filter((l) => l.includes('TW_BUFFER_FULL')).length, 1, app.stderr());
    // What the agent receives once the buffer is flushed: the five that were kept, no more
    // (the dropped ones are gone, not merely counted), counted after nothing more arrives.
    await app.flush();
    const mine = () => agent.allSpans().filter((x) => x.service === 'bounded');
    await afterBacklogSettles(() => mine().length, () => mine().length >= 5);
    assert.equal(mine().length, 5, 'the agent received the kept spans and nothing dropped');
    assert.ok(mine().every((x) => x.meta['http.status_code'] === '200'));
    const after = await app.stats();
    assert.equal(after.spansPending, 0);
    assert.equal(after.spansSent, 5);
    assert.equal(after.spansSent + after.dropped.bufferFull, 12, 'every finished span either arrived or is counted as dropped');
  } finally {
    await app.stop();
  }
});

test('a short script exits on its own and its spans are flushed before it does', async () => {
  const agent = await newAgent();
  const script = `
    const { trace } = require('@opentelemetry/api');
    const t = trace.getTracer('script');
    t.startActiveSpan('job', (s) => { t.startSpan('step').end(); s.end(); });
  `;
  // Nothing of ours may hold the process: with a shutdown deadline of ten minutes, a timer or
  // socket of ours kept referenced (or a flush waiting out its deadline) would hold it far past
  // the outer limit below, however loaded the machine is; the flush itself takes milliseconds.
  const code = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', 'tracewell/register', '-e', script], {
      cwd: root,
      env: { PATH: process.env.PATH, DD_TRACE_AGENT_URL: agent.url, DD_SERVICE: 'script', DD_ENV: 'test', TRACEWELL_SHUTDOWN_TIMEOUT_MS: '600000' },
      stdio: 'inherit',
    });
    const outer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the script was still running after 60 s: something kept it alive'));
    }, 60_000);
    child.on('exit', (c) => {
      clearTimeout(outer);
      resolve(c);
    });
  });
  assert.equal(code, 0);
  await agent.waitFor(() => agent.allSpans().filter((s) => s.service === 'script').length === 2, 3000);
  const job = agent.allSpans().find((s) => s.name === 'job');
  const step = agent.allSpans().find((s) => s.name === 'step');
  assert.equal(step.parent_id, job.span_id);
});

test('an agent that never answers does not keep a finished process alive past the flush deadline', async () => {
  const silent = createServer(() => {}); // accepts connections, never answers
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  const dlq = mkdtempSync(join(tmpdir(), 'tw-silent-'));
  try {
    let out = '';
    const { code, exitedAt } = await new Promise((resolve, reject) => {
      // The script prints when its work is done; from then on only the flush can hold it. A
      // request and retry timeout of ten minutes: only the flush deadline (2 s) can end the wait,
      // and a process that ignored it would still be running at the outer limit below, however
      // loaded the machine is.
      const child = spawn(process.execPath, ['--require', 'tracewell/register', '-e', "require('@opentelemetry/api').trace.getTracer('t').startSpan('job').end(); console.log(Date.now())"], {
        cwd: root,
        env: { PATH: process.env.PATH, DD_TRACE_AGENT_URL: `http://127.0.0.1:${silent.address().port}`, DD_SERVICE: 'silent', DD_ENV: 'test', TRACEWELL_DLQ_DIR: dlq, TRACEWELL_EXPORT_TIMEOUT_MS: '600000', TRACEWELL_EXPORT_RETRY_DEADLINE_MS: '600000' },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const outer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('still running 60 s after its work was done: the flush deadline of 2 s did not end the wait'));
      }, 60_000);
      child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
      child.on('exit', (c) => {
        clearTimeout(outer);
        resolve({ code: c, exitedAt: Date.now() });
      });
    });
    const took = exitedAt - Number(out.trim());
    assert.equal(code, 0);
    assert.ok(took >= 1500, `exited ${took} ms after its work was done: it did not wait for the flush (deadline 2 s)`);
    // What was not acknowledged by then is in the dead-letter file.
    const files = readdirSync(join(dlq, 'silent')).filter((f) => f.endsWith('.dlq'));
    assert.equal(files.length, 1);
  } finally {
    silent.close();
    rmSync(dlq, { recursive: true, force: true });
  }
});

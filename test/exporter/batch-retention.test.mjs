// Finished traces wait for their encode batch as objects: a batch is kept small, so that what
// young-generation collections find alive stays small too (trace-exporter.ts, BATCH_SPANS).
// A real process under the preload, no flush due during the check, spans counted as collected
// by a FinalizationRegistry after full collections.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { agentPool } from '../helpers/apps.mjs';
import { root } from '../helpers/common.mjs';
import { runNode } from '../profiler/helpers.mjs';

const pool = agentPool();
after(() => pool.closeAll());

test('finished traces are not kept as objects beyond a batch of 16 spans waiting to be encoded', async () => {
  const agent = await pool.newAgent();
  const r = await runNode(join(root, 'test', 'exporter', 'fixtures', 'finished-spans.cjs'), {
    env: { DD_TRACE_AGENT_URL: agent.url, DD_SERVICE: 'batch-retention', TRACEWELL_FLUSH_INTERVAL_MS: '60000', TRACES: '100' },
  });
  assert.equal(r.code, 0, r.stderr);
  const { made, collected } = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(made, 100);
  // 100 traces of one span: six batches of 16 encoded, the last 4 spans still waiting.
  assert.ok(made - collected <= 15, `${made - collected} of ${made} finished spans still held before any flush (${collected} collected)`);
  // And none lost: every span reaches the agent at exit.
  await agent.waitFor(() => agent.allSpans().filter((s) => s.service === 'batch-retention').length === made, 10_000);
});

test("a finished request's span is not kept alive by its idle keep-alive connection", async () => {
  const agent = await pool.newAgent();
  const r = await runNode(join(root, 'test', 'exporter', 'fixtures', 'keep-alive-spans.cjs'), {
    env: { DD_TRACE_AGENT_URL: agent.url, DD_SERVICE: 'keep-alive-retention', REQUESTS: '20' },
  });
  assert.equal(r.code, 0, r.stderr);
  const { made, collected } = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(made, 20);
  // Flushed and collected: only the server's own keep-alive timers could still hold a span.
  assert.equal(made - collected, 0, `${made - collected} of ${made} server spans still held after the flush (by their idle connections, or by a timer made in a request)`);
  await agent.waitFor(() => agent.allSpans().filter((s) => s.service === 'keep-alive-retention' && s.meta['span.kind'] === 'server').length === made, 10_000);
});

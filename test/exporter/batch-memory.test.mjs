// What the trace export keeps of finished spans before they are encoded. Whatever it holds
// when V8 scavenges survives the scavenge, and V8 grows a service's young generation by the
// bytes that survive (docs/hot-path.md, "Memory under load"): so at most a small batch of
// finished spans may be waiting, every span still reaches the agent, and nothing of a span is
// kept once it is encoded. Spans are followed with WeakRefs and counted after full collections.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { agentPool } from '../helpers/apps.mjs';
import { dist, require } from '../helpers/common.mjs';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const { resolveConfig } = dist('config/resolve.js');
const { createAgentExporter } = dist('exporter/agent-exporter.js');
const { TracerCore } = dist('tracer/tracer.js');
const { ROOT_CONTEXT, SpanKind } = require('@opentelemetry/api');

const pool = agentPool();
after(() => pool.closeAll());

/** The bound the exporter promises: spans of finished traces waiting for their batch. */
const MAX_WAITING = 16;

async function alive(refs) {
  // A WeakRef keeps its target until the end of the job that made or read it: collect after.
  await new Promise((r) => setImmediate(r));
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  return refs.filter((r) => r.deref() !== undefined).length;
}

/** `n` one-span traces, ended; WeakRefs to their spans. (In a function of its own: a suspended
 * async function keeps its locals, and so the last span, alive.) */
function endTraces(core, n) {
  const refs = [];
  for (let i = 0; i < n; i++) {
    const span = core.startSpan('web.request', SpanKind.SERVER, ROOT_CONTEXT, undefined, performance.now());
    Object.assign(span, { component: 'http', httpMethod: 'GET', resource: 'GET /items/:id', httpUrl: `http://svc/items/${i}`, httpStatus: 200 });
    span.setAttribute('item.id', String(i));
    span.end();
    refs.push(new WeakRef(span));
  }
  return refs;
}

test(`finished spans wait for encoding in batches of at most ${MAX_WAITING}, and none is kept once encoded`, async () => {
  const agent = await pool.newAgent();
  // No timer flush during the test: only the batch bound decides when spans are encoded.
  const { config } = resolveConfig({ service: 'batch-mem', env: 'test', agentUrl: agent.url, flushIntervalMs: 600_000, dlqEnabled: false }, {});
  const exporter = createAgentExporter({ config, info: { runtimeId: 'rt-batch' } });
  const core = new TracerCore(config);
  core.setSink(exporter);
  try {
    const traces = 1000 + 7; // not a multiple of any batch size worth trying
    const refs = endTraces(core, traces);
    const waiting = await alive(refs);
    assert.ok(waiting <= MAX_WAITING, `${waiting} finished spans of ${traces} still held before a flush (at most ${MAX_WAITING})`);
    // The ones held are the last traces, waiting for their batch: none was lost.
    assert.ok(waiting > 0, 'the last traces wait for a full batch or the flush (no encode per span)');
    await exporter.flush();
    assert.equal(await alive(refs), 0, 'spans are not kept once encoded and sent');
    await agent.waitFor(() => agent.allSpans().filter((s) => s.service === 'batch-mem').length === traces);
    const ids = new Set(agent.allSpans().filter((s) => s.service === 'batch-mem').map((s) => s.meta['item.id']));
    assert.equal(ids.size, traces, 'every span reached the agent once');
  } finally {
    await exporter.shutdown(2000);
  }
});

// What the Datadog encoders cost per trace in a hot loop, on spans a real service made: a
// traced Fastify service in this process answers 2,000 requests from undici (each with a W3C
// `traceparent`, and every other one from a Datadog-traced caller: `tracestate: dd=t.dm:-0`, so
// its trace carries `_dd.p.dm`); the finished traces are kept instead of exported (server spans
// and undici's client spans, one trace each), then appended to a /v0.5 (or /v0.4) encoder over
// and over, sealing a payload at 256 KiB as the exporter does.
// Usage: node benchmarks/micro/encode-spans.cjs [--appends 2000000] [--format 0.5|0.4] [--ref /path/to/built/checkout]
// Prints ns per append (wall, one process: run it twice, and beside --ref, on a quiet machine).
// Results: docs/hot-path.md.
'use strict';
const { join } = require('node:path');
const { parseArgs } = require('node:util');

const { values } = parseArgs({ options: { appends: { type: 'string', default: '2000000' }, format: { type: 'string', default: '0.5' }, ref: { type: 'string' } } });
const root = values.ref ?? join(__dirname, '..', '..');
const dist = (p) => require(join(root, 'dist', 'cjs', p));
const fromRepo = (m) => require(require.resolve(m, { paths: [join(__dirname, '..', '..')] }));

const { TraceExporter } = dist('exporter/trace-exporter.js');
const kept = [];
// Kept, not exported: the exporter's intake is replaced before the tracer makes its exporter.
TraceExporter.prototype.enqueue = function keep(spans) {
  kept.push(spans);
};
dist('index.js').init({ service: 'bench', env: 'bench', version: '1', agentUrl: 'http://127.0.0.1:9', profiling: false });

async function main() {
  const app = fromRepo('fastify')({ logger: false });
  app.get('/hello/:name', async (req) => ({ hello: req.params.name }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { Pool } = fromRepo('undici');
  const pool = new Pool(`http://127.0.0.1:${app.server.address().port}`, { connections: 4 });
  for (let i = 0; i < 2000; i++) {
    const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
    if (i % 2 === 1) headers.tracestate = 'dd=s:1;t.dm:-0';
    const r = await pool.request({ path: `/hello/${i % 10}`, method: 'GET', headers });
    await r.body.text();
  }
  await pool.close();
  await app.close();

  const { DatadogV05Encoder } = dist('exporter/encoders/datadog-v05.js');
  const { DatadogEncoder } = dist('exporter/encoders/datadog-v04.js');
  const Encoder = values.format === '0.4' ? DatadogEncoder : DatadogV05Encoder;
  const e = new Encoder({ service: 'bench', env: 'bench', version: '1', tags: {} }, { runtimeId: 'rt' });
  let j = 0;
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      e.append(kept[j]);
      if (++j === kept.length) j = 0;
      if (e.size > 256 * 1024) e.recycle(e.seal().body);
    }
  };
  const n = Number(values.appends);
  run(300_000);
  const t0 = process.hrtime.bigint();
  run(n);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  const withTags = kept.filter((t) => t[0].trace.ptags !== '').length;
  console.log(`/v${values.format} ${ns.toFixed(0)} ns per append (${kept.length} traces of ${kept[0].length} span; ${withTags} with propagated tags; ${values.ref ?? 'this build'})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

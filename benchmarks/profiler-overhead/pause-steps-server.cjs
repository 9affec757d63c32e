// The server pause-steps.mjs runs: Tracewell from TRACEWELL_ROOT (its built dist), then Fastify
// (from this repository's devDependencies) with the same route as server.mjs. Prints its port,
// then every 100 ms the longest event-loop delay of that window (ms).
'use strict';
const { join } = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');

require(join(process.env.TRACEWELL_ROOT, 'dist', 'cjs', 'index.js')).init({ service: 'pause-steps' });

function work(n) {
  let acc = 0;
  const o = { n, items: [] };
  for (let i = 0; i < 20; i++) o.items.push({ i, s: 'x' + i });
  const copy = JSON.parse(JSON.stringify(o));
  for (let i = 0; i < n; i++) acc += Math.sqrt(i + copy.items.length);
  return acc;
}

const app = require(join(__dirname, '..', '..', 'node_modules', 'fastify'))({ logger: false });
app.get('/hello/:name', async (req) => ({ hello: req.params.name, v: work(200) }));
app.listen({ port: 0, host: '127.0.0.1' }).then(() => {
  process.stdout.write(`port ${app.server.address().port}\n`);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  setInterval(() => {
    process.stdout.write(`lag ${Math.round(h.max / 1e4) / 100}\n`);
    h.reset();
  }, 100).unref();
});

// The service under test: Fastify 5, `GET /work/:n` doing a little real work per request (a
// JSON round trip and a short loop, so the profiler has stacks to sample), on 127.0.0.1 and a
// free port. Speaks the harness's IPC (../lib/serve-usage.cjs).
//
// Every second it writes what a stall costs to STALL_DIR/<BENCH_VARIANT>-<pid>.json: the
// longest event-loop delay seen (perf_hooks histogram, 1 ms resolution) and, when Tracewell
// profiles, its own timing of each profile's stop + serialize (stats().profiler).
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(import.meta.url);
const fromRoot = createRequire(join(here, '..', '..', 'package.json'));
const { serveUsage, announce } = require('../lib/serve-usage.cjs');

let served = 0;
function work(n) {
  let acc = 0;
  const o = { n, items: [] };
  for (let i = 0; i < 20; i++) o.items.push({ i, s: 'x' + i });
  const copy = JSON.parse(JSON.stringify(o));
  for (let i = 0; i < n; i++) acc += Math.sqrt(i + copy.items.length);
  return acc;
}

const app = fromRoot('fastify')({ logger: false });
app.get('/hello/:name', async (req) => {
  served++;
  return { hello: req.params.name, v: work(200) };
});
await app.listen({ port: 0, host: '127.0.0.1' });

const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
const dir = process.env.STALL_DIR;
if (dir) {
  const file = join(dir, `${process.env.BENCH_VARIANT ?? 'server'}-${process.pid}.json`);
  setInterval(() => {
    let profiler = null;
    try {
      profiler = fromRoot('tracewell').getHandle()?.stats().profiler ?? null;
    } catch {
      /* untraced variant */
    }
    writeFileSync(file, JSON.stringify({ eventLoopMaxMs: h.max / 1e6, eventLoopP99Ms: h.percentile(99) / 1e6, profiler }));
  }, 1000).unref();
}

serveUsage(() => served);
announce(app.server.address().port);

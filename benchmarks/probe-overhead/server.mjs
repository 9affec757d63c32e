// The Fastify hello-world of http-overhead (`GET /hello/:name`), for the probe comparison:
// HAND_TAG=1 sets on the request's span, by hand, the same tag the probe sets
// (`name` = req.params.name), so "probe" and "same tag written in the code" can be told apart.
// Speaks the harness's IPC (../lib/serve-usage.cjs).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(import.meta.url);
const fromRoot = createRequire(join(here, '..', '..', 'package.json'));
const { serveUsage, announce } = require('../lib/serve-usage.cjs');
const { trace } = fromRoot('@opentelemetry/api');

const hand = process.env.HAND_TAG === '1';
let served = 0;
const app = fromRoot('fastify')({ logger: false });
app.get('/hello/:name', async (req) => {
  served++; // probe: handler
  if (hand) trace.getActiveSpan()?.setAttribute('name', req.params.name);
  return { hello: req.params.name };
});
await app.listen({ port: 0, host: '127.0.0.1' });
serveUsage(() => served);
announce(app.server.address().port);

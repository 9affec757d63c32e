// `npm run demo`: starts the Tracewell dev agent, a Fastify users API, the profiles service it
// calls and a gRPC member service (each traced, profiled and probed by the preload alone,
// examples/demo-services.mjs), drives real traffic, lets the agent print the traces (each
// merged across the services), and ends with the address of the agent's page. The services
// keep running for the page until Ctrl-C. Needs nothing but `npm install`.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { get, probes, startDemoServices } from './demo-services.mjs';
import { redisAvailable, startRedis } from '../test/helpers/servers/redis.mjs';
import { startDemoDb } from './demo-db.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { startDevAgent } = require('../dist/cjs/dev-agent/index.js');

const out = (line) => process.stdout.write(line + '\n');
const agent = await startDevAgent({ port: 0, dir: join(here, '..', '.tracewell', 'demo-agent'), print: true, record: false });
out(`dev agent listening on ${agent.url}`);

// A redis-server of its own (Debian's redis-server package) for the users API's cache, when
// there is one; the demo runs without the cache otherwise.
let redis = null;
if (redisAvailable()) {
  redis = await startRedis().catch((err) => {
    out(`(redis-server did not start: the users API runs without its cache: ${err.message.split('\n')[0]})`);
    return null;
  });
} else {
  out('(no redis-server on PATH: the users API runs without its Redis cache; apt-get install redis-server to see it)');
}

let services;
let db = null;
const interactive = process.env.DEMO_KEEP === '1' || (process.stdout.isTTY === true && process.stdin.isTTY === true);
const stop = async () => {
  await services?.stop();
  await redis?.stop();
  await agent.close();
  await db?.stop();
};
try {
  db = await startDemoDb(out);
  services = await startDemoServices({ agentUrl: agent.url, env: { ...(db?.env ?? {}), ...(redis ? { REDIS_URL: redis.url } : {}) } });
  const { users, profiles, member } = services;
  // The probe on the ES module is placed once the module has loaded: wait for it (a few seconds at most).
  await agent
    .waitFor((a) => [...a.store.probes.values()].some((p) => p.probeId === probes.caller && p.latest.status !== 'RECEIVED'), 15_000)
    .catch(() => out('(the caller probe is not installed yet: the first requests may come without its tag)'));
  out(`users-api (Fastify, ESM) on :${users} calls profiles (node:http, CJS) on :${profiles} and member-service (gRPC, CJS) on :${member}${redis ? `, caching in redis-server on :${redis.port}` : ''}; sending traffic...\n`);
  // With Redis, /users/1 twice: the second answer comes from the cache (one GET span, no calls).
  for (const path of ['/users/1', '/users/2', '/users/3', '/users/boom', '/users/1/visits', ...(redis ? ['/users/1'] : [])]) {
    const res = await get(users, path);
    out(`GET ${path} -> ${res.status} ${res.body}`);
  }
  out('');
  // /users/1..3: users-api server span, its fetch and gRPC client spans, and the profiles and
  // member-service server spans (5 each); /users/boom: 1; /users/1/visits: 3. The agent prints
  // each trace once every service's part of it arrived.
  const spans = () => [...agent.store.traces.values()].reduce((n, t) => n + t.spans.length, 0);
  await agent.waitFor(() => spans() >= 19, 10_000);
  await agent.whenPrinted();
  // Each service's first profile (one every 5 s here), so the page has flame graphs to show.
  const profiled = () => new Set(agent.store.profiles.map((p) => p.profile.tags.service)).size;
  await agent.waitFor(() => profiled() >= 3, 12_000).catch(() => undefined);
  out(`\nthe agent received ${agent.store.traces.size} traces, ${spans()} spans from 3 services; kept in .tracewell/demo-agent/`);
  if (interactive) out(`the services keep running for the page (more traffic: curl -H 'x-api-key: k-1' http://127.0.0.1:${users}/users/2); Ctrl-C stops the demo`);
  else out('(not a terminal: the demo stops now, and the page with it; in a terminal, or with DEMO_KEEP=1, it stays up until Ctrl-C)');
  out(`\nopen ${agent.uiUrl} to look at the traces as waterfalls, what the probes captured, the profiles as flame graphs`);
} catch (err) {
  await stop();
  throw err;
}
// In a terminal the demo stays up for the page until Ctrl-C; run by a script (CI, a pipe) it ends.
if (interactive) {
  await new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
await stop();

// One request of a real service through everything it talks to: a Fastify handler (ES module)
// reads PostgreSQL, writes Redis and publishes to RabbitMQ; a consumer in another process
// (CommonJS) takes the message. Every server is real (Debian packages, started here on free
// ports); the agent decodes what both processes send. What a user checks in the trace view:
// one trace, the query, the cache write and the publish as children of the request, the
// consumer's span a child of the publish, no secret in any of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';
import { startPostgres } from '../helpers/servers/postgres.mjs';
import { startRedis } from '../helpers/servers/redis.mjs';
import { startRabbit } from '../helpers/servers/rabbitmq.mjs';

let pg;
let redis;
let rabbit;
let agent;

before(async () => {
  [pg, redis, rabbit] = await Promise.all([startPostgres(), startRedis(), startRabbit()]);
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
});

after(async () => {
  await agent?.close();
  await Promise.all([pg?.stop(), redis?.stop(), rabbit?.stop()]);
});

const hex = (id) => id.toString(16).padStart(16, '0');

test('a Fastify request that queries PostgreSQL, caches in Redis and publishes to RabbitMQ is one trace, continued by a consumer in another process', async () => {
  const env = { PG_URL: pg.url, REDIS_URL: redis.url, AMQP_URL: rabbit.url, QUEUE: 'orders-through-stores' };
  const service = await startService('apps/orders-service.mjs', { agentUrl: agent.url, timeoutMs: 30_000, env: { ...env, DD_SERVICE: 'orders' } });
  const consumer = await startService('amqp/consumer.cjs', { agentUrl: agent.url, timeoutMs: 30_000, env: { ...env, DD_SERVICE: 'fulfilment' } });
  const delivered = new Promise((resolve) => consumer.child.on('message', (m) => m?.delivered && resolve(m.delivered)));
  try {
    const res = await fetch(`${service.url}/orders/7`, { signal: AbortSignal.timeout(15_000) });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body.order, { id: 7, item: 'lamp' });
    const d = await Promise.race([delivered, new Promise((_, reject) => setTimeout(() => reject(new Error(`no delivery; stderr:\n${consumer.stderr()}`)), 15_000))]);

    const spans = () => agent.allSpans();
    await agent.waitFor(() => spans().some((s) => s.service === 'fulfilment' && hex(s.span_id) === d.spanId), 15_000);
    await agent.waitFor(() => ['pg.query', 'redis.command', 'amqp.command'].every((n) => spans().some((s) => s.name === n && s.service !== 'fulfilment')), 15_000);

    const web = spans().find((s) => hex(s.span_id) === body.requestSpan);
    assert.equal(web.resource, 'GET /orders/:id');
    const traceSpans = spans().filter((s) => s.trace_id === web.trace_id);
    const child = (name) => {
      const found = traceSpans.filter((s) => s.name === name && s.parent_id === web.span_id);
      assert.equal(found.length, 1, `one ${name} under the request: ${JSON.stringify(traceSpans.map((s) => [s.name, s.resource]))}`);
      return found[0];
    };
    const query = child('pg.query');
    assert.equal(query.type, 'sql');
    assert.equal(query.resource, 'SELECT id, item FROM orders WHERE id = $1 AND secret <> ?');
    const cache = child('redis.command');
    assert.equal(cache.resource, 'SET');
    assert.equal(cache.meta['redis.raw_command'], 'SET order:7 ? EX 60');
    const publish = child('amqp.command');
    assert.equal(publish.resource, 'basic.publish orders order.created');

    const consumed = traceSpans.find((s) => s.service === 'fulfilment' && hex(s.span_id) === d.spanId);
    assert.ok(consumed, 'the consumer span is in the same trace');
    assert.equal(consumed.parent_id, publish.span_id, 'the consumer continues from the publish span');
    assert.equal(d.traceId.slice(16), hex(web.trace_id), 'the consumer callback ran in that trace');

    const everything = JSON.stringify(traceSpans, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    assert.ok(!everything.includes('card-4111'), 'no literal of the statement reaches the agent');
    assert.ok(!everything.includes('lamp'), 'no cached value reaches the agent');
  } finally {
    await Promise.all([service.stop(), consumer.stop()]);
  }
});

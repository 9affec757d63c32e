// amqplib against a real RabbitMQ node (started once for the file): producer spans in a traced
// Fastify service, the trace context carried in the message headers, and a consumer in another
// process continuing the trace; promise and callback APIs, ES module and CommonJS, the switch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';
import { startRabbit } from '../helpers/servers/rabbitmq.mjs';

let rabbit;
let agent;
const started = [];

before(async () => {
  rabbit = await startRabbit();
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
});

after(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await agent?.close();
  await rabbit?.stop();
});

async function start(file, name, env = {}) {
  const s = await startService(file, { agentUrl: agent.url, timeoutMs: 30_000, env: { AMQP_URL: rabbit.url, DD_SERVICE: name, ...env } });
  started.push(s);
  const deliveries = [];
  s.child.on('message', (m) => m && m.delivered && deliveries.push(m.delivered));
  s.deliveries = deliveries;
  return s;
}

const hex = (id) => id.toString(16).padStart(16, '0');
const spansOf = (service) => agent.allSpans().filter((s) => s.service === service);
const publish = async (svc, how, id) => (await fetch(`${svc.url}/publish/${how}?id=${id}`, { signal: AbortSignal.timeout(15_000) })).json();
/** A flush with a bound: a process that died fails the test instead of hanging it. */
const flush = (svc) => Promise.race([svc.flush(), new Promise((_, reject) => setTimeout(() => reject(new Error(`flush timed out; stderr:\n${svc.stderr()}`)), 15_000).unref())]);
const delivered = async (consumer, id) => {
  const end = Date.now() + 15_000;
  for (;;) {
    const d = consumer.deliveries.find((x) => x.id === String(id));
    if (d) return d;
    if (Date.now() > end) throw new Error(`message ${id} never reached the consumer; stderr:\n${consumer.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('promise API producer (CJS) -> callback API consumer (ESM, another process): one trace, the consumer span a child of the publish span', async () => {
  const producer = await start('amqp/producer.cjs', 'amqp-producer');
  const consumer = await start('amqp/consumer.mjs', 'amqp-consumer', { API: 'callback' });
  const out = await publish(producer, 'exchange', 11);
  assert.equal(out.ok, true);
  assert.equal(out.afterSpan, out.requestSpan);
  const d = await delivered(consumer, 11);
  assert.ok(d.headers.includes('x-order-id'), 'the app header is kept');
  assert.ok(d.headers.includes('x-datadog-trace-id') && d.headers.includes('traceparent'), `trace headers written: ${d.headers}`);

  await agent.waitFor(() => spansOf('amqp-consumer').some((s) => s.name === 'handle.order' && hex(s.parent_id) === d.spanId), 10_000);
  await agent.waitFor(() => spansOf('amqp-producer').some((s) => s.name === 'amqp.command' && hex(s.parent_id) === out.requestSpan), 10_000);
  const pub = spansOf('amqp-producer').find((s) => s.name === 'amqp.command' && hex(s.parent_id) === out.requestSpan);
  const web = spansOf('amqp-producer').find((s) => hex(s.span_id) === out.requestSpan);
  assert.equal(web.name, 'web.request');
  assert.equal(pub.resource, 'basic.publish orders order.created');
  assert.equal(pub.type, 'queue');
  assert.equal(pub.meta['span.kind'], 'producer');
  assert.equal(pub.meta.component, 'amqplib');
  assert.equal(pub.meta['amqp.exchange'], 'orders');
  assert.equal(pub.meta['amqp.routingKey'], 'order.created');
  assert.equal(pub.meta['messaging.system'], 'rabbitmq');
  assert.equal(pub.meta['messaging.destination.name'], 'orders');
  assert.equal(pub.meta['out.host'], '127.0.0.1');
  assert.equal(pub.metrics['network.destination.port'], rabbit.port);

  const con = spansOf('amqp-consumer').find((s) => hex(s.span_id) === d.spanId);
  assert.ok(con, 'the consumer callback ran inside the consumer span');
  assert.equal(con.name, 'amqp.command');
  assert.equal(con.resource, 'basic.deliver orders order.created');
  assert.equal(con.type, 'worker');
  assert.equal(con.meta['span.kind'], 'consumer');
  assert.equal(con.trace_id, pub.trace_id, 'same trace');
  assert.equal(d.traceId.slice(16), hex(pub.trace_id));
  assert.equal(con.parent_id, pub.span_id, "the consumer span's parent is the publish span");
  assert.equal(con.meta['messaging.operation.type'], 'process');
  const everything = JSON.stringify(agent.allSpans(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  assert.ok(!everything.includes('4111-secret'), 'message bodies never reach the agent');
});

test('callback API producer -> promise API consumer (CJS): sendToQueue continues the trace too', async () => {
  const producer = await start('amqp/producer.cjs', 'amqp-producer-cb', { API: 'callback', QUEUE: 'orders-q2' });
  const consumer = await start('amqp/consumer.cjs', 'amqp-consumer-p', { QUEUE: 'orders-q2' });
  const out = await publish(producer, 'queue', 22);
  assert.equal(out.afterSpan, out.requestSpan);
  const d = await delivered(consumer, 22);
  await agent.waitFor(() => spansOf('amqp-producer-cb').some((s) => s.name === 'amqp.command' && hex(s.parent_id) === out.requestSpan), 10_000);
  const pub = spansOf('amqp-producer-cb').find((s) => s.name === 'amqp.command' && hex(s.parent_id) === out.requestSpan);
  assert.equal(pub.resource, 'basic.publish orders-q2');
  assert.equal(pub.meta['messaging.destination.name'], 'orders-q2');
  await agent.waitFor(() => spansOf('amqp-consumer-p').some((s) => hex(s.span_id) === d.spanId), 10_000);
  const con = spansOf('amqp-consumer-p').find((s) => hex(s.span_id) === d.spanId);
  assert.equal(con.resource, 'basic.deliver orders-q2');
  assert.equal(con.trace_id, pub.trace_id);
  assert.equal(con.parent_id, pub.span_id);
});

test('DD_TRACE_AMQPLIB_ENABLED=false: no amqp spans and no trace headers in the message', async () => {
  const producer = await start('amqp/producer.cjs', 'amqp-producer-off', { DD_TRACE_AMQPLIB_ENABLED: 'false', QUEUE: 'orders-q3' });
  const consumer = await start('amqp/consumer.cjs', 'amqp-consumer-off', { DD_TRACE_AMQPLIB_ENABLED: 'false', QUEUE: 'orders-q3' });
  const out = await publish(producer, 'queue', 33);
  const d = await delivered(consumer, 33);
  assert.deepEqual(d.headers, ['x-order-id'], 'nothing added to the headers');
  assert.equal(d.spanId, null, 'no consumer span');
  await agent.waitFor(() => spansOf('amqp-producer-off').some((s) => hex(s.span_id) === out.requestSpan), 10_000);
  await flush(producer);
  await flush(consumer);
  assert.deepEqual(spansOf('amqp-producer-off').filter((s) => s.name === 'amqp.command'), []);
  assert.deepEqual(spansOf('amqp-consumer-off').filter((s) => s.name === 'amqp.command'), []);
});


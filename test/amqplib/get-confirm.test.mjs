// amqplib basic.get (channel.get) and confirm-channel publishes against a real RabbitMQ node
// (started once for the file), with the promise and the callback API: one traced service per
// API (test/fixtures/amqp/getter.cjs) does both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';
import { startRabbit } from '../helpers/servers/rabbitmq.mjs';

let rabbit;
let agent;
const services = {};

before(async () => {
  [rabbit, agent] = await Promise.all([startRabbit(), devAgentModule().startDevAgent({ port: 0, dir: null })]);
  await Promise.all(
    ['promise', 'callback'].map(async (api) => {
      services[api] = await startService('amqp/getter.cjs', { agentUrl: agent.url, timeoutMs: 30_000, env: { AMQP_URL: rabbit.url, DD_SERVICE: `amqp-get-${api}`, API: api } });
    }),
  );
});

after(async () => {
  await Promise.all(Object.values(services).map((s) => s.stop()));
  await agent?.close();
  await rabbit?.stop();
});

const hex = (id) => id.toString(16).padStart(16, '0');
const spansOf = (service) => agent.allSpans().filter((s) => s.service === service);

const call = async (svc, path) => {
  const r = await fetch(`${svc.url}${path}`, { signal: AbortSignal.timeout(15_000) });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.equal(body.afterSpan, body.requestSpan, `${path}: the result in the caller's context`);
  return body;
};
const under = (service, requestSpan) => spansOf(service).filter((s) => s.name === 'amqp.command' && hex(s.parent_id) === requestSpan);

for (const api of ['promise', 'callback']) {
  test(`${api} API basic.get (channel.get): a consumer span under the caller's, the message or the empty queue said`, async () => {
    const svc = services[api];
    const queue = `get-q-${api}`;
    await call(svc, `/send?queue=${queue}&id=g1`);
    const got = await call(svc, `/get?queue=${queue}`);
    assert.equal(got.value, 'g1');
    const empty = await call(svc, `/get?queue=${queue}`);
    assert.equal(empty.value, false);
    await agent.waitFor(() => under(`amqp-get-${api}`, got.requestSpan).length >= 1 && under(`amqp-get-${api}`, empty.requestSpan).length >= 1, 10_000);
    const [g] = under(`amqp-get-${api}`, got.requestSpan);
    assert.equal(g.resource, `basic.get ${queue}`);
    assert.equal(g.type, 'worker');
    assert.equal(g.meta['span.kind'], 'consumer');
    assert.equal(g.meta['messaging.operation.type'], 'receive');
    assert.equal(g.meta['messaging.destination.name'], queue);
    assert.equal(g.meta['amqp.source.routingKey'], queue);
    assert.equal(g.meta['out.host'], '127.0.0.1');
    assert.equal(g.metrics['network.destination.port'], rabbit.port);
    assert.equal(g.error, 0);
    assert.equal(g.metrics['amqp.empty'] ?? g.meta['amqp.empty'], undefined);
    const [e] = under(`amqp-get-${api}`, empty.requestSpan);
    assert.equal(e.resource, `basic.get ${queue}`);
    assert.ok(e.meta['amqp.empty'] === 'true' || e.metrics['amqp.empty'] === 1, `the empty answer said: ${JSON.stringify(e.meta)}`);
  });

  test(`${api} API confirm channel: a publish the broker refuses (missing exchange) is an error span; a confirmed one is not`, async () => {
    const svc = services[api];
    const bad = await call(svc, '/confirm?exchange=no-such-exchange');
    assert.match(bad.value, /closed/);
    const ok = await call(svc, '/confirm?exchange=amq.direct');
    assert.equal(ok.value, null);
    await agent.waitFor(() => under(`amqp-get-${api}`, bad.requestSpan).length >= 1 && under(`amqp-get-${api}`, ok.requestSpan).length >= 1, 10_000);
    const [b] = under(`amqp-get-${api}`, bad.requestSpan);
    assert.equal(b.resource, 'basic.publish no-such-exchange rk');
    assert.equal(b.error, 1, 'the refused publish failed');
    assert.match(b.meta['error.message'], /closed/);
    const [o] = under(`amqp-get-${api}`, ok.requestSpan);
    assert.equal(o.resource, 'basic.publish amq.direct rk');
    assert.equal(o.error, 0);
  });
}

test('basic.get over OTLP: the span links to the producer of the message it got', async () => {
  const otlp = await devAgentModule().startDevAgent({ port: 0, dir: null, otlpPort: 0 });
  const svc = await startService('amqp/getter.cjs', { timeoutMs: 30_000, env: { AMQP_URL: rabbit.url, DD_SERVICE: 'amqp-get-otlp', TRACEWELL_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.otlpUrl } });
  try {
    await call(svc, '/send?queue=get-q-otlp&id=L1');
    const got = await call(svc, '/get?queue=get-q-otlp');
    assert.equal(got.value, 'L1');
    await svc.flush();
    await otlp.waitFor(() => otlp.otlpSpans.some((s) => s.attributes['messaging.operation.type'] === 'receive'), 10_000);
    const send = otlp.otlpSpans.find((s) => s.attributes['messaging.operation.type'] === 'send');
    const get = otlp.otlpSpans.find((s) => s.attributes['messaging.operation.type'] === 'receive');
    assert.equal(get.name, 'basic.get get-q-otlp');
    assert.equal(get.parentSpanId, got.requestSpan);
    assert.equal(get.links.length, 1, JSON.stringify(get.links));
    assert.equal(get.links[0].traceId, send.traceId);
    assert.equal(get.links[0].spanId, send.spanId);
  } finally {
    await svc.stop();
    await otlp.close();
  }
});

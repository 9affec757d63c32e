// OpenTelemetry SDK interop: sdk-trace-base span processors and exporters receive our spans
// as ReadableSpans with semantic-convention attributes; the OTel propagation API writes our
// headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';

let agent;
before(async () => {
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
});
after(() => agent?.close());

test('a SimpleSpanProcessor + InMemorySpanExporter sees every span, with OTel names', async () => {
  const app = await startService('apps/otel-processor.cjs', { agentUrl: agent.url, preload: false });
  try {
    const res = await fetch(`${app.url}/things/3?q=1`, { headers: { 'user-agent': 'otel-test' } });
    const { carrier } = await res.json();
    const { spans } = await new Promise((resolve) => {
      app.child.once('message', resolve);
      app.child.send('spans');
    });
    assert.equal(spans.length, 2);
    const server = spans.find((s) => s.kind === 1);
    const inner = spans.find((s) => s.name === 'inner');
    assert.equal(inner.parentSpanId, server.spanId);
    assert.equal(inner.traceId, server.traceId);
    assert.equal(server.parentSpanId, undefined);
    assert.equal(server.attributes['http.request.method'], 'GET');
    assert.equal(server.attributes['url.path'], '/things/3');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.attributes['user_agent.original'], 'otel-test');
    assert.equal(server.attributes['client.address'], '127.0.0.1');
    assert.equal(inner.attributes['inner.count'], 2);
    assert.equal(server.resource['service.name'], 'otel-proc');
    assert.equal(server.resource['deployment.environment.name'], 'test');
    assert.equal(server.resource['service.version'], '1.0.0');
    assert.ok(server.ended && server.durationNs > 0);
    // propagation.inject through the OTel API writes the configured styles for the active span
    // (flags 03: sampled, and random, as the trace started here).
    assert.equal(carrier.traceparent, `00-${inner.traceId}-${inner.spanId}-03`);
    assert.equal(carrier['x-datadog-parent-id'], BigInt('0x' + inner.spanId).toString());
    // ...and the same spans went to the agent.
    await agent.waitFor(() => agent.allSpans().filter((s) => s.service === 'otel-proc').length === 2);
  } finally {
    await app.stop();
  }
});

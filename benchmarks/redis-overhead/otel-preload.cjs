// The OpenTelemetry Node SDK with its ioredis and node-redis instrumentations, batch export
// over OTLP/HTTP protobuf to the benchmark's sink: what a team using OTel would run.
'use strict';
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { IORedisInstrumentation } = require('@opentelemetry/instrumentation-ioredis');
const { RedisInstrumentation } = require('@opentelemetry/instrumentation-redis');

const sdk = new NodeSDK({
  serviceName: process.env.DD_SERVICE || 'bench',
  traceExporter: new OTLPTraceExporter({ url: `${process.env.DD_TRACE_AGENT_URL}/v1/traces` }),
  // Spans for commands without a parent too (ioredis's instrumentation leaves them out by
  // default), as the other tracers make: every GET of the benchmark is its own trace.
  instrumentations: [new IORedisInstrumentation({ requireParentSpan: false }), new RedisInstrumentation({ requireParentSpan: false })],
});
sdk.start();

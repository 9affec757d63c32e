// The OpenTelemetry Node SDK as a team would set it up: HTTP, Fastify, Express and gRPC
// instrumentations, batch export over OTLP/HTTP protobuf to the benchmark's sink.
'use strict';
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { FastifyInstrumentation } = require('@opentelemetry/instrumentation-fastify');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
const { GrpcInstrumentation } = require('@opentelemetry/instrumentation-grpc');

const sdk = new NodeSDK({
  serviceName: process.env.DD_SERVICE || 'bench',
  traceExporter: new OTLPTraceExporter({ url: `${process.env.DD_TRACE_AGENT_URL}/v1/traces` }),
  instrumentations: [new HttpInstrumentation(), new FastifyInstrumentation(), new ExpressInstrumentation(), new GrpcInstrumentation()],
});
sdk.start();

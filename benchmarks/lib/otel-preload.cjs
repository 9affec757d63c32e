// The OpenTelemetry Node SDK as a team would set it up: HTTP, Fastify, Express and gRPC
// instrumentations (and pg for sql-overhead), batch export over OTLP/HTTP protobuf to the benchmark's sink.
'use strict';
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { FastifyInstrumentation } = require('@opentelemetry/instrumentation-fastify');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
const { GrpcInstrumentation } = require('@opentelemetry/instrumentation-grpc');

const instrumentations = [new HttpInstrumentation(), new FastifyInstrumentation(), new ExpressInstrumentation(), new GrpcInstrumentation()];
// The SQL scenario (sql-overhead) adds the pg instrumentation; the others run without it.
if (process.env.OTEL_BENCH_PG === '1') {
  const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg');
  const pg = new PgInstrumentation();
  // sql-overhead's toggle mode switches it off and on (disable()/enable()) between blocks.
  globalThis.__benchSqlInstrumentation = pg;
  instrumentations.push(pg);
}
if (process.env.OTEL_BENCH_MYSQL2 === '1') {
  const { MySQL2Instrumentation } = require('@opentelemetry/instrumentation-mysql2');
  const mysql2 = new MySQL2Instrumentation();
  globalThis.__benchSqlInstrumentation = mysql2;
  instrumentations.push(mysql2);
}

const sdk = new NodeSDK({
  serviceName: process.env.DD_SERVICE || 'bench',
  traceExporter: new OTLPTraceExporter({ url: `${process.env.DD_TRACE_AGENT_URL}/v1/traces` }),
  instrumentations,
});
sdk.start();

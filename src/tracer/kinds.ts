/**
 * The values of `@opentelemetry/api`'s `SpanKind`, `SpanStatusCode` and `TraceFlags` as plain
 * constants. The api's CommonJS entry re-exports each enum through a getter, so
 * `SpanKind.CLIENT` read on a per-span path is a function call every time (it showed in CPU
 * profiles of the encoder); these are plain numbers.
 */
import type { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';

// The values are the OpenTelemetry specification's (and the API's enums', test/tracer/kinds.test.mjs);
// not read from the API, so that the preload does not load it (otel-globals.ts).
export const KIND_INTERNAL = 0 as SpanKind.INTERNAL;
export const KIND_SERVER = 1 as SpanKind.SERVER;
export const KIND_CLIENT = 2 as SpanKind.CLIENT;
export const KIND_PRODUCER = 3 as SpanKind.PRODUCER;
export const KIND_CONSUMER = 4 as SpanKind.CONSUMER;
export const STATUS_UNSET = 0 as SpanStatusCode.UNSET;
export const STATUS_OK = 1 as SpanStatusCode.OK;
export const STATUS_ERROR = 2 as SpanStatusCode.ERROR;
export const FLAGS_NONE = 0 as TraceFlags.NONE;
export const FLAGS_SAMPLED = 1 as TraceFlags.SAMPLED;

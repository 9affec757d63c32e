/**
 * The values of `@opentelemetry/api`'s `SpanKind`, `SpanStatusCode` and `TraceFlags` as plain
 * constants. The api's CommonJS entry re-exports each enum through a getter, so
 * `SpanKind.CLIENT` read on a per-span path is a function call every time (it showed in CPU
 * profiles of the encoder); these are read once, here.
 */
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';

export const KIND_INTERNAL: SpanKind = SpanKind.INTERNAL;
export const KIND_SERVER: SpanKind = SpanKind.SERVER;
export const KIND_CLIENT: SpanKind = SpanKind.CLIENT;
export const KIND_PRODUCER: SpanKind = SpanKind.PRODUCER;
export const KIND_CONSUMER: SpanKind = SpanKind.CONSUMER;
export const STATUS_UNSET: SpanStatusCode = SpanStatusCode.UNSET;
export const STATUS_OK: SpanStatusCode = SpanStatusCode.OK;
export const STATUS_ERROR: SpanStatusCode = SpanStatusCode.ERROR;
export const FLAGS_NONE: TraceFlags = TraceFlags.NONE;
export const FLAGS_SAMPLED: TraceFlags = TraceFlags.SAMPLED;

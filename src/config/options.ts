import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { LogLevel } from '../internal/logger';

/** A propagation format, for `propagationStyle`. */
export type PropagationStyle = 'datadog' | 'tracecontext' | 'b3' | 'b3multi' | 'baggage' | 'none';

/** Inbound and outbound integrations that can be turned off by name. */
export type InstrumentationName = 'http' | 'fastify' | 'express' | 'fetch' | 'grpc' | 'pino' | 'winston';

/**
 * Everything Tracewell can be told. Every field is optional; the default and the
 * environment variables that set it are in each field's comment. Precedence, highest first:
 * an option passed to `init()`, then `TRACEWELL_*`, then `DD_*`, then `OTEL_*`, then the default.
 */
export interface TracewellOptions {
  /** Service name. Env: `DD_SERVICE`, `OTEL_SERVICE_NAME`, `service.name` in `OTEL_RESOURCE_ATTRIBUTES`. Default: the `name` of the app's package.json, else `node`. */
  service?: string;
  /** Deployment environment. Env: `DD_ENV`, `deployment.environment(.name)` in `OTEL_RESOURCE_ATTRIBUTES`. Default: none, with one start-up warning. */
  env?: string;
  /** Service version. Env: `DD_VERSION`, `service.version` in `OTEL_RESOURCE_ATTRIBUTES`. Default: the `version` of the app's package.json. */
  version?: string;
  /** Tags added to every span. Env: `DD_TAGS` (`k:v,k:v` or space separated), other keys of `OTEL_RESOURCE_ATTRIBUTES`. Default: none. */
  tags?: Record<string, string>;
  /** Turn tracing off entirely. Env: `DD_TRACE_ENABLED=false`, `OTEL_SDK_DISABLED=true`, `TRACEWELL_ENABLED=false`. Default: true. */
  enabled?: boolean;
  /** The Datadog Agent. Env: `DD_TRACE_AGENT_URL`, or `DD_AGENT_HOST` + `DD_TRACE_AGENT_PORT`. Default: `http://localhost:8126`. */
  agentUrl?: string;
  /** Fraction of new traces kept, 0..1. Env: `DD_TRACE_SAMPLE_RATE`, `OTEL_TRACES_SAMPLER`(`_ARG`). Default: unset, the agent's `rate_by_service` decides (1 until it answers). */
  sampleRate?: number;
  /** Most traces per second kept by `sampleRate`. Env: `DD_TRACE_RATE_LIMIT`. Default: 100. */
  rateLimit?: number;
  /** Formats read from incoming requests, in order; the first that yields a context wins. Env: `DD_TRACE_PROPAGATION_STYLE_EXTRACT`, `DD_TRACE_PROPAGATION_STYLE`, `OTEL_PROPAGATORS`. Default: datadog, tracecontext, baggage. */
  propagationExtract?: PropagationStyle[];
  /** Formats written on outgoing requests. Env: `DD_TRACE_PROPAGATION_STYLE_INJECT`, `DD_TRACE_PROPAGATION_STYLE`, `OTEL_PROPAGATORS`. Default: datadog, tracecontext, baggage. */
  propagationInject?: PropagationStyle[];
  /** Add `trace_id`/`span_id` (and `dd.*`) to pino and winston records. Env: `DD_LOGS_INJECTION`, `TRACEWELL_LOGS_INJECTION`. Default: true. */
  logInjection?: boolean;
  /** Tracewell's own log level. Env: `TRACEWELL_LOG_LEVEL` (debug, info, warn, error, off). Default: warn. */
  logLevel?: LogLevel;
  /** How often finished traces are sent, in ms. Env: `TRACEWELL_FLUSH_INTERVAL_MS`. Default: 1000. */
  flushIntervalMs?: number;
  /** Most finished spans waiting to be sent; more are dropped and counted. Env: `TRACEWELL_MAX_PENDING_SPANS`. Default: 50000. */
  maxPendingSpans?: number;
  /** Largest payload sent to the agent in one request, in bytes. Env: `TRACEWELL_MAX_PAYLOAD_BYTES`. Default: 8 MiB. */
  maxPayloadBytes?: number;
  /** Integrations to leave off. Env: `TRACEWELL_DISABLED_INSTRUMENTATIONS`, `DD_TRACE_DISABLED_PLUGINS` (comma list). Default: none. */
  disabledInstrumentations?: InstrumentationName[];
  /** Report query strings in `http.url`. Env: `TRACEWELL_HTTP_URL_QUERY`. Default: false (the query string is kept out). */
  httpUrlQuery?: boolean;
  /** gRPC status codes that mark a server span an error. Env: `TRACEWELL_GRPC_SERVER_ERROR_STATUSES`, `DD_GRPC_SERVER_ERROR_STATUSES` (`2,4,12-15`). Default: 2, 4, 12, 13, 14, 15 (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS). */
  grpcServerErrorStatuses?: number[];
  /** gRPC status codes that mark a client span an error. Env: `TRACEWELL_GRPC_CLIENT_ERROR_STATUSES`, `DD_GRPC_CLIENT_ERROR_STATUSES`. Default: 1-16 (every non-OK status). */
  grpcClientErrorStatuses?: number[];
  /**
   * OpenTelemetry SDK span processors (`@opentelemetry/sdk-trace-base`), given every span as a
   * ReadableSpan with semantic-convention attributes, beside the Datadog export. Code only. Default: none.
   */
  spanProcessors?: SpanProcessor[];
}

/** The resolved configuration: every field present, frozen after start-up. */
export interface ResolvedConfig {
  readonly service: string;
  readonly env: string;
  readonly version: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly enabled: boolean;
  readonly agentUrl: string;
  /** `undefined` = agent-controlled. */
  readonly sampleRate: number | undefined;
  readonly rateLimit: number;
  readonly propagationExtract: readonly PropagationStyle[];
  readonly propagationInject: readonly PropagationStyle[];
  readonly logInjection: boolean;
  readonly logLevel: LogLevel;
  readonly flushIntervalMs: number;
  readonly maxPendingSpans: number;
  readonly maxPayloadBytes: number;
  readonly disabledInstrumentations: readonly InstrumentationName[];
  readonly httpUrlQuery: boolean;
  readonly spanProcessors: readonly SpanProcessor[];
  readonly grpcServerErrorStatuses: readonly number[];
  readonly grpcClientErrorStatuses: readonly number[];
  /** Where each field's value came from (`option`, an environment variable name, or `default`). */
  readonly sources: Readonly<Record<string, string>>;
}

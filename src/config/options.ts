import type { Context } from '@opentelemetry/api';
import type { LogLevel } from '../internal/logger';

/**
 * An OpenTelemetry SDK span processor, for `spanProcessors`: any `SpanProcessor` of
 * `@opentelemetry/sdk-trace-base` (1.x or 2.x) fits. `onEnd` gets each finished span as that
 * package's `ReadableSpan`. Tracewell itself does not need the SDK installed.
 */
export interface SpanProcessor {
  onStart(span: unknown, parentContext: Context): void;
  onEnd(span: unknown): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** A propagation format, for `propagationStyle`. */
export type PropagationStyle = 'datadog' | 'tracecontext' | 'b3' | 'b3multi' | 'baggage' | 'none';

/** Inbound and outbound integrations that can be turned off by name. */
export type InstrumentationName = 'http' | 'fastify' | 'express' | 'fetch' | 'grpc' | 'pino' | 'winston' | 'hono' | 'koa' | 'nestjs' | 'graphql' | 'pg' | 'mysql2' | 'ioredis' | 'redis' | 'amqplib';

/** Database Monitoring comments on SQL statements, for `dbmPropagationMode`. */
export type DbmPropagationMode = 'disabled' | 'service' | 'full';

/** What the profiler records, for `profilingMode`: line-level profiles, or span-linked ones (labels + CPU time, function level). */
export type ProfilingMode = 'lines' | 'linked' | 'span-lines';

/** The Datadog Agent trace endpoint, for `traceProtocol`: `auto` picks `/v0.5/traces` when the agent lists it. */
export type TraceProtocol = 'auto' | '0.4' | '0.5';

/**
 * A trace or single-span sampling rule, for `samplingRules` and `spanSamplingRules`: Datadog's
 * `DD_TRACE_SAMPLING_RULES` / `DD_SPAN_SAMPLING_RULES` entries. `service`, `name` (operation
 * name), `resource` and each of `tags` are glob patterns (`*` any run of characters, `?` one,
 * case-insensitive); a field not given matches anything. In JSON the rate is `sample_rate` and the
 * limit `max_per_second`; in code `sampleRate` and `maxPerSecond` are taken too.
 */
export interface SamplingRule {
  service?: string;
  name?: string;
  resource?: string;
  tags?: Record<string, string>;
  /** Fraction kept, 0..1: required in a trace rule, 1 when not given in a span rule. */
  sampleRate?: number;
  /** Most traces (spans) per second this rule keeps; no limit of its own when not given. */
  maxPerSecond?: number;
}

/** A rule as the resolved config holds it: the rate always set. */
export interface ResolvedSamplingRule {
  readonly service?: string;
  readonly name?: string;
  readonly resource?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly sampleRate: number;
  readonly maxPerSecond?: number;
}

/** Where traces are sent, for `exporter`. */
export type ExporterName = 'datadog' | 'otlp';

/**
 * Everything Tracewell can be told. Every field is optional; what it accepts, the environment
 * variables that set it and its default are in each field's comment. Precedence, highest first:
 * an option passed to `init()`, then `TRACEWELL_*`, then `DD_*`, then `OTEL_*`, then the default.
 * A value given here is checked as a variable's is (same bounds; a string is not taken for a
 * number); one that is not accepted, or an unknown key, gets one `TW_CONFIG_INVALID` warning and
 * is skipped, so the variables and then the default apply.
 *
 * The field comments are written from the option table (src/config/table.ts) by
 * `npm run docs:options`; edit the table, not them (a test fails when they differ).
 */
export interface TracewellOptions {
  /**
   * Service name. Accepted: a service name. Env: `TRACEWELL_SERVICE`, `DD_SERVICE`, `OTEL_SERVICE_NAME`, `service.name`
   * in `OTEL_RESOURCE_ATTRIBUTES`. Default: the `name` of the app's package.json, else `node`.
   */
  service?: string;
  /**
   * Deployment environment. Accepted: an environment name. Env: `TRACEWELL_ENV`, `DD_ENV`,
   * `deployment.environment.name` (or `deployment.environment`) in `OTEL_RESOURCE_ATTRIBUTES`. Default: none, with one
   * start-up warning.
   */
  env?: string;
  /**
   * Service version. Accepted: a version. Env: `TRACEWELL_VERSION`, `DD_VERSION`, `service.version` in
   * `OTEL_RESOURCE_ATTRIBUTES`. Default: the `version` of the app's package.json.
   */
  version?: string;
  /**
   * Tags added to every span; `service`, `env` and `version` are fields of their own, never tags. Accepted: an object
   * of string values. Env: `TRACEWELL_TAGS`, `DD_TAGS` (`k:v,k:v` or `k:v k:v`), the other keys of
   * `OTEL_RESOURCE_ATTRIBUTES`; all merged, the first named winning per key. Default: none.
   */
  tags?: Record<string, string>;
  /**
   * Trace at all: false turns tracing off entirely. Accepted: true or false. Env: `TRACEWELL_ENABLED`,
   * `DD_TRACE_ENABLED`, `OTEL_SDK_DISABLED=true`. Default: true.
   */
  enabled?: boolean;
  /**
   * The Datadog Agent. Accepted: an http://, https:// or unix:// URL. Env: `TRACEWELL_AGENT_URL`, `DD_TRACE_AGENT_URL`,
   * or `DD_AGENT_HOST` + `DD_TRACE_AGENT_PORT`. Default: `http://localhost:8126`.
   */
  agentUrl?: string;
  /**
   * Fraction of new traces kept, 0..1: a last sampling rule that matches every trace (after `samplingRules`).
   * `OTEL_TRACES_SAMPLER` sets it too; `always_on`, `always_off` and `traceidratio` are read as their `parentbased_`
   * forms: a continued trace keeps its parent's decision. Accepted: a number from 0 to 1. Env: `TRACEWELL_SAMPLE_RATE`,
   * `DD_TRACE_SAMPLE_RATE`, `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG`). Default: unset: the agent's
   * `rate_by_service` decides, 1 until it answers.
   */
  sampleRate?: number;
  /**
   * Most traces per second kept by `sampleRate` and `samplingRules` together. Accepted: a whole number of traces per
   * second from 0 to 1000000000. Env: `TRACEWELL_RATE_LIMIT`, `DD_TRACE_RATE_LIMIT`. Default: 100.
   */
  rateLimit?: number;
  /**
   * Trace sampling rules, applied to a new trace's root before `sampleRate` and the agent's rates: the first rule whose
   * service, name, resource and tags all match sets the rate (`_dd.p.dm=-3`, `_dd.rule_psr`). A rule on the resource
   * (`GET /users/:id`) sees the route: the decision waits for the first propagation or the end of the root
   * (docs/sampling.md). Accepted: an array of rules {service, name, resource, tags, sample_rate (required),
   * max_per_second}, patterns with * and ?. Env: `DD_TRACE_SAMPLING_RULES` (`[{"resource":"GET
   * /healthz","sample_rate":0}]`). Default: none.
   */
  samplingRules?: SamplingRule[];
  /**
   * Single span sampling: spans of dropped traces that match a rule are kept anyway, tagged `_dd.span_sampling.*`
   * (docs/sampling.md). Accepted: an array of rules {service, name, resource, tags, sample_rate (default 1),
   * max_per_second}, patterns with * and ?. Env: `DD_SPAN_SAMPLING_RULES`
   * (`[{"service":"api","name":"http.request","sample_rate":1,"max_per_second":50}]`). Default: none.
   */
  spanSamplingRules?: SamplingRule[];
  /**
   * Formats read from incoming requests, in order; the first that yields a context wins. Accepted: an array of datadog,
   * tracecontext, b3, b3multi, baggage, none. Env: `DD_TRACE_PROPAGATION_STYLE_EXTRACT`, `DD_TRACE_PROPAGATION_STYLE`,
   * `OTEL_PROPAGATORS`. Default: datadog, tracecontext, baggage.
   */
  propagationExtract?: PropagationStyle[];
  /**
   * Formats written on outgoing requests. Accepted: an array of datadog, tracecontext, b3, b3multi, baggage, none. Env:
   * `DD_TRACE_PROPAGATION_STYLE_INJECT`, `DD_TRACE_PROPAGATION_STYLE`, `OTEL_PROPAGATORS`. Default: datadog,
   * tracecontext, baggage.
   */
  propagationInject?: PropagationStyle[];
  /**
   * Add `trace_id`/`span_id` (and `dd.*`) to pino and winston records. Accepted: true or false. Env:
   * `TRACEWELL_LOGS_INJECTION`, `DD_LOGS_INJECTION`. Default: true.
   */
  logInjection?: boolean;
  /**
   * Tracewell's own log level. Accepted: debug, info, warn, error, off. Env: `TRACEWELL_LOG_LEVEL`. Default: `warn`.
   */
  logLevel?: LogLevel;
  /**
   * How often finished traces are sent, in ms. Accepted: a whole number of milliseconds from 10 to 600000. Env:
   * `TRACEWELL_FLUSH_INTERVAL_MS`. Default: 1000.
   */
  flushIntervalMs?: number;
  /**
   * Most finished spans waiting to be sent; more are dropped and counted. Accepted: a whole number from 1 to 10000000.
   * Env: `TRACEWELL_MAX_PENDING_SPANS`. Default: 50000.
   */
  maxPendingSpans?: number;
  /**
   * Largest payload sent to the agent in one request, in bytes. Accepted: a whole number of bytes from 65536 to
   * 26214399. Env: `TRACEWELL_MAX_PAYLOAD_BYTES`. Default: 8 MiB.
   */
  maxPayloadBytes?: number;
  /**
   * Datadog Agent trace encoding: `0.5` (`/v0.5/traces`, every string once per payload in a table: about a third of the
   * bytes of `0.4`), `0.4` (`/v0.4/traces`), or `auto`: 0.5 once the agent's `/info` lists it, 0.4 until then and for
   * agents that do not. Accepted: auto, 0.4 or 0.5. Env: `TRACEWELL_TRACE_PROTOCOL`, `DD_TRACE_AGENT_PROTOCOL_VERSION`.
   * Default: `auto`.
   */
  traceProtocol?: TraceProtocol;
  /**
   * Integrations to leave off. Accepted: an array of http, fastify, express, fetch, grpc, pino, winston, hono, koa,
   * nestjs, graphql, pg, mysql2, ioredis, redis, amqplib. Env: `TRACEWELL_DISABLED_INSTRUMENTATIONS`,
   * `DD_TRACE_DISABLED_PLUGINS`, and one integration each: `DD_TRACE_HTTP_ENABLED=false`,
   * `DD_TRACE_FASTIFY_ENABLED=false`, `DD_TRACE_EXPRESS_ENABLED=false`, `DD_TRACE_FETCH_ENABLED=false`,
   * `DD_TRACE_GRPC_ENABLED=false`, `DD_TRACE_PINO_ENABLED=false`, `DD_TRACE_WINSTON_ENABLED=false`,
   * `DD_TRACE_HONO_ENABLED=false`, `DD_TRACE_KOA_ENABLED=false`, `DD_TRACE_NESTJS_ENABLED=false`,
   * `DD_TRACE_GRAPHQL_ENABLED=false`, `DD_TRACE_PG_ENABLED=false`, `DD_TRACE_MYSQL2_ENABLED=false`,
   * `DD_TRACE_IOREDIS_ENABLED=false`, `DD_TRACE_REDIS_ENABLED=false`, `DD_TRACE_AMQPLIB_ENABLED=false`. Default: none.
   */
  disabledInstrumentations?: InstrumentationName[];
  /**
   * Report query strings in `http.url` (off: the query string is kept out). Accepted: true or false. Env:
   * `TRACEWELL_HTTP_URL_QUERY`. Default: false.
   */
  httpUrlQuery?: boolean;
  /**
   * Report Redis commands with their argument values in `redis.raw_command` (off: values are replaced by `?` in the
   * tracer, before anything is encoded; the command name and its keys are kept). Accepted: true or false. Env:
   * `TRACEWELL_REDIS_RAW_COMMANDS`. Default: false.
   */
  redisRawCommands?: boolean;
  /**
   * Paths of inbound requests never traced (health checks, metrics scrapes): no span, nothing propagated from them,
   * counted in `stats().ignored.inbound`. Globs on the path without the query string (`*` any run of characters, `?`
   * one). Accepted: an array of path patterns. Env: `TRACEWELL_HTTP_IGNORE_PATHS` (`/healthz,/readyz,/metrics`).
   * Default: none.
   */
  httpIgnorePaths?: string[];
  /**
   * URLs of outbound requests never traced: no span, no propagation headers, counted in `stats().ignored.outbound`.
   * Globs on `protocol://host[:port]/path` without the query string (`http://169.254.169.254/*`, `*:9090/metrics`).
   * Accepted: an array of URL patterns. Env: `TRACEWELL_HTTP_CLIENT_IGNORE_URLS`. Default: none.
   */
  httpClientIgnoreUrls?: string[];
  /**
   * Request and response headers put on HTTP server and client spans, and gRPC metadata on gRPC spans, as tags:
   * `header:tag`, or a header alone for `http.request.headers.<header>` / `http.response.headers.<header>`
   * (`grpc.request.metadata.<key>` / `grpc.response.metadata.<key>`). A header named like a secret (`redact`:
   * `authorization`, `cookie`, `x-api-key`...) is put on as `[redacted]`. Accepted: an object of header name -> tag
   * name ('' for the default tag name). Env: `TRACEWELL_HEADER_TAGS`, `DD_TRACE_HEADER_TAGS`. Default: none.
   */
  headerTags?: Record<string, string>;
  /**
   * gRPC status codes that mark a server span an error. Accepted: an array of gRPC status codes 0-16. Env:
   * `TRACEWELL_GRPC_SERVER_ERROR_STATUSES`, `DD_GRPC_SERVER_ERROR_STATUSES` (`2,4,12-15`). Default: 2, 4, 12-15
   * (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS).
   */
  grpcServerErrorStatuses?: number[];
  /**
   * A `graphql.resolve` span per resolved field, under the operation's `graphql.execute` span (down to
   * `graphqlResolverDepth`). Off: one span per operation; resolvers are many, and even cheap spans add up. Accepted:
   * true or false. Env: `TRACEWELL_GRAPHQL_RESOLVER_SPANS`. Default: false.
   */
  graphqlResolverSpans?: boolean;
  /**
   * With `graphqlResolverSpans`: how many fields deep resolver spans are made (1: top-level fields only; list indexes
   * do not count). Accepted: a whole number from 1 to 100. Env: `TRACEWELL_GRAPHQL_RESOLVER_DEPTH`. Default: 2.
   */
  graphqlResolverDepth?: number;
  /**
   * gRPC status codes that mark a client span an error. Accepted: an array of gRPC status codes 0-16. Env:
   * `TRACEWELL_GRPC_CLIENT_ERROR_STATUSES`, `DD_GRPC_CLIENT_ERROR_STATUSES`. Default: 1-16 (every non-OK status).
   */
  grpcClientErrorStatuses?: number[];
  /**
   * Resources of SQL spans (`pg`, `mysql2`) are the statements as the app wrote them. Off, every literal (numbers,
   * strings, lists of values) becomes `?` and comments are removed before a span leaves the process. Values a driver
   * substitutes (`?` / `$1` placeholders) are never in either. Accepted: true or false. Env:
   * `TRACEWELL_SQL_RAW_STATEMENTS`. Default: false.
   */
  sqlRawStatements?: boolean;
  /**
   * Database Monitoring link: `service` starts each SQL statement sent to PostgreSQL and MySQL with a leading comment
   * naming the service, env and version (`dddbs='..',dde='..',ddps='..',ddpv='..'`); `full` adds the `traceparent` of
   * the query span (not on prepared statements, whose text must not change between executions). Accepted: disabled,
   * service or full. Env: `TRACEWELL_DBM_PROPAGATION_MODE`, `DD_DBM_PROPAGATION_MODE`. Default: `disabled`.
   */
  dbmPropagationMode?: DbmPropagationMode;
  /**
   * Where traces go: `datadog` (the Datadog Agent) or `otlp` (OTLP/HTTP protobuf); `tracewell doctor` says which and
   * why. Accepted: datadog or otlp. Env: `TRACEWELL_EXPORTER`, `OTEL_TRACES_EXPORTER`. Default: `otlp` when an OTLP
   * endpoint is given (`otlpEndpoint`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`) and no
   * agent is (`agentUrl`, `TRACEWELL_AGENT_URL`, `DD_TRACE_AGENT_URL`, `DD_AGENT_HOST`, `DD_TRACE_AGENT_PORT`);
   * `datadog` otherwise, also when both are given.
   */
  exporter?: ExporterName;
  /**
   * OTLP/HTTP traces URL, used as is. Accepted: an http:// or https:// URL. Env: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
   * (as is), `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended). Default: `http://localhost:4318/v1/traces`.
   */
  otlpEndpoint?: string;
  /**
   * Headers sent with every OTLP request (`tracewell doctor` shows their names only). Accepted: an object of string
   * values. Env: `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, percent-encoded;
   * merged, the first named winning per key). Default: none.
   */
  otlpHeaders?: Record<string, string>;
  /**
   * Timeout of one OTLP request, in ms. Accepted: a whole number of milliseconds from 1 to 600000. Env:
   * `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, `OTEL_EXPORTER_OTLP_TIMEOUT`. Default: 10000.
   */
  otlpTimeoutMs?: number;
  /**
   * Timeout of one request to the Datadog Agent, in ms. Accepted: a whole number of milliseconds from 1 to 600000. Env:
   * `TRACEWELL_EXPORT_TIMEOUT_MS`. Default: 10000.
   */
  exportTimeoutMs?: number;
  /**
   * Retries of a payload after its first attempt (connection errors, timeouts, 408, 429, 502, 503, 504). Accepted: a
   * whole number from 0 to 100. Env: `TRACEWELL_EXPORT_RETRIES`. Default: 3.
   */
  exportRetries?: number;
  /**
   * Time from a payload's first attempt after which it is not retried again (it goes to the dead-letter file), in ms.
   * Accepted: a whole number of milliseconds from 0 to 3600000. Env: `TRACEWELL_EXPORT_RETRY_DEADLINE_MS`. Default:
   * 30000.
   */
  exportRetryDeadlineMs?: number;
  /**
   * First retry delay, in ms; doubled per retry with jitter, at most 30 s; `Retry-After` wins. Accepted: a whole number
   * of milliseconds from 1 to 600000. Env: `TRACEWELL_EXPORT_BACKOFF_MS`. Default: 500.
   */
  exportBackoffMs?: number;
  /**
   * Failed attempts in a row after which the circuit opens: no more sends per flush, payloads go straight to the
   * dead-letter file, the agent is probed. Accepted: a whole number from 1 to 1000. Env: `TRACEWELL_BREAKER_FAILURES`.
   * Default: 3.
   */
  breakerFailures?: number;
  /**
   * First probe of an agent behind an open circuit, in ms; doubled per failed probe with jitter. Accepted: a whole
   * number of milliseconds from 1 to 3600000. Env: `TRACEWELL_BREAKER_PROBE_MS`. Default: 1000.
   */
  breakerProbeMs?: number;
  /**
   * Longest wait between two probes, in ms; never less than `breakerProbeMs`. Accepted: a whole number of milliseconds
   * from 1 to 3600000. Env: `TRACEWELL_BREAKER_PROBE_MAX_MS`. Default: 60000.
   */
  breakerProbeMaxMs?: number;
  /**
   * Keep payloads that cannot be sent in a dead-letter file and send them when the agent answers again. Accepted: true
   * or false. Env: `TRACEWELL_DLQ_ENABLED`. Default: true.
   */
  dlqEnabled?: boolean;
  /**
   * Folder of the dead-letter files; each service gets a subfolder. It must be private: a link, another user's folder
   * or one others can write is refused (docs/export.md). Accepted: a folder path. Env: `TRACEWELL_DLQ_DIR` (the default
   * follows `XDG_STATE_HOME` and `HOME`). Default: `$XDG_STATE_HOME/tracewell/dlq` (or `~/.local/state/tracewell/dlq`)
   * when the home folder is the user's own and writable, else `<os temp dir>/tracewell-<uid>/dlq`.
   */
  dlqDir?: string;
  /**
   * Most bytes of dead-letter files per service folder; the oldest are evicted (and counted) past it. Accepted: a whole
   * number of bytes of at least 4096. Env: `TRACEWELL_DLQ_MAX_BYTES`. Default: 128 MiB.
   */
  dlqMaxBytes?: number;
  /**
   * Most bytes per second replayed from the dead-letter file (after live data). Accepted: a whole number of bytes of at
   * least 1024. Env: `TRACEWELL_DLQ_REPLAY_BYTES_PER_SEC`. Default: 4 MiB.
   */
  dlqReplayBytesPerSec?: number;
  /**
   * How long a flush on SIGTERM, SIGINT, beforeExit or `shutdown()` may take before what is left goes to the
   * dead-letter file, in ms. Accepted: a whole number of milliseconds from 0 to 600000. Env:
   * `TRACEWELL_SHUTDOWN_TIMEOUT_MS`. Default: 2000.
   */
  shutdownTimeoutMs?: number;
  /**
   * Interval of the summary line logged while the agent is unreachable, in ms. Accepted: a whole number of milliseconds
   * from 100 to 86400000. Env: `TRACEWELL_OUTAGE_SUMMARY_INTERVAL_MS`. Default: 60000.
   */
  outageSummaryIntervalMs?: number;
  /**
   * Send the export counters as DogStatsD metrics (`tracewell.exporter.*`) every 10 s. Accepted: true or false. Env:
   * `TRACEWELL_HEALTH_METRICS`, `DD_TRACE_HEALTH_METRICS_ENABLED`. Default: false.
   */
  healthMetrics?: boolean;
  /**
   * DogStatsD address for `healthMetrics` and `runtimeMetrics`, `udp://host:port`. Accepted: a udp://host:port URL.
   * Env: `TRACEWELL_DOGSTATSD_URL`, or `DD_DOGSTATSD_HOSTNAME` (or `DD_DOGSTATSD_HOST`) + `DD_DOGSTATSD_PORT`. Default:
   * the agent's host, port 8125.
   */
  dogstatsdUrl?: string;
  /**
   * Send runtime metrics every 10 s over DogStatsD under Datadog's `runtime.node.*` names (event-loop delay and
   * utilisation, GC pauses by type, heap by space, RSS, CPU, active handles), and through the OpenTelemetry metrics API
   * when a MeterProvider is registered (docs/runtime-metrics.md). Accepted: true or false. Env:
   * `TRACEWELL_RUNTIME_METRICS`, `DD_RUNTIME_METRICS_ENABLED`. Default: false.
   */
  runtimeMetrics?: boolean;
  /**
   * Dynamic probes, inline: Datadog probe JSON, or the compact form (`src/member.js:42 request`;
   * docs/dynamic-probes.md). Accepted: probe JSON or the compact form. Env: `TRACEWELL_PROBES`. Default: none.
   */
  probes?: string;
  /**
   * A file of probe definitions (JSON or compact lines), watched: edits take effect without a restart. Accepted: a file
   * path. Env: `TRACEWELL_PROBES_FILE`. Default: none.
   */
  probesFile?: string;
  /**
   * Names whose values probes never show, beside the built-in list (spelling-independent: `member_no` = `memberNo`);
   * merged with the variables. Accepted: an array of names. Env: `TRACEWELL_REDACT` (comma list; `-name` takes a
   * built-in name out), `DD_DYNAMIC_INSTRUMENTATION_REDACTED_IDENTIFIERS`. Default: none beside the built-in list.
   */
  redact?: string[];
  /**
   * Built-in redacted names to show after all; merged with the variables. Accepted: an array of names. Env:
   * `TRACEWELL_REDACT_EXCLUDE`, `DD_DYNAMIC_INSTRUMENTATION_REDACTION_EXCLUDED_IDENTIFIERS`, or `-name` in
   * `TRACEWELL_REDACT` / `DD_DYNAMIC_INSTRUMENTATION_REDACTED_IDENTIFIERS`. Default: none.
   */
  redactExclude?: string[];
  /**
   * Longest a probe hit may take, in ms; a probe over it is turned off with an ERROR status. Accepted: a whole number
   * of milliseconds from 1 to 10000. Env: `TRACEWELL_PROBE_BUDGET_MS`. Default: 10.
   */
  probeBudgetMs?: number;
  /**
   * OpenTelemetry SDK span processors (`@opentelemetry/sdk-trace-base`), given every span as a ReadableSpan with
   * semantic-convention attributes, beside the Datadog export. Accepted: an array of span processors (objects with
   * onStart, onEnd, forceFlush and shutdown functions). Env: none (code only). Default: none.
   */
  spanProcessors?: SpanProcessor[];
  /**
   * Turn the continuous profiler on (docs/profiling.md). Accepted: true or false. Env: `TRACEWELL_PROFILING_ENABLED`,
   * `DD_PROFILING_ENABLED`. Default: false.
   */
  profiling?: boolean;
  /**
   * `lines` (every sample names function, file and line), `linked` (samples carry `span id`, `local root span id`,
   * `trace endpoint` labels and CPU time, function level) or `span-lines` (lines and span labels, from V8's inspector
   * joined with a span timeline; docs/profiling.md). Accepted: lines, linked or span-lines. Env:
   * `TRACEWELL_PROFILING_MODE`, or `DD_PROFILING_CODEHOTSPOTS_ENABLED=true` for `linked`. Default: `lines`.
   */
  profilingMode?: ProfilingMode;
  /**
   * One profile per this many seconds. Accepted: a whole number of seconds from 1 to 3600. Env:
   * `TRACEWELL_PROFILING_UPLOAD_PERIOD`, `DD_PROFILING_UPLOAD_PERIOD`. Default: 60.
   */
  profilingUploadPeriodS?: number;
  /**
   * Wall-time sampling interval, in ms. Accepted: a whole number of milliseconds from 1 to 1000. Env:
   * `TRACEWELL_PROFILING_INTERVAL_MS`. Default: 10.
   */
  profilingIntervalMs?: number;
  /**
   * Heap allocation profiles beside the wall profile. Accepted: true or false. Env: `TRACEWELL_PROFILING_HEAP`,
   * `DD_PROFILING_HEAP_ENABLED`. Default: true.
   */
  profilingHeap?: boolean;
  /**
   * The binding's guard against a V8 bug (the profiler's processing thread stuck, empty profiles): it waits for up to
   * two sampling signals around each profile cut, which blocks the event loop 10-20 ms per profile at the 10 ms
   * interval. Off, a cut blocks 1-5 ms; a profile hit by the bug is still detected, counted
   * (`stats().profiler.v8BugRecoveries`) and the profiler restarted (docs/profiling.md, "Pauses"). Accepted: true or
   * false. Env: `TRACEWELL_PROFILING_V8_BUG_WORKAROUND`, `DD_PROFILING_V8_PROFILER_BUG_WORKAROUND`. Default: false.
   */
  profilingV8BugWorkaround?: boolean;
  /**
   * Send profiles to the agent's `/profiling/v1/input`. Accepted: true or false. Env: `TRACEWELL_PROFILING_UPLOAD`.
   * Default: true.
   */
  profilingUpload?: boolean;
  /**
   * Also write each profile as `<type>-<time>-<pid>-<n>.pb.gz` (gzip pprof) into this folder. Accepted: a folder path.
   * Env: `TRACEWELL_PROFILING_DIR`. Default: none.
   */
  profilingDir?: string;
  /**
   * Largest profile upload (all parts), in bytes; a bigger one is dropped and counted. Accepted: a whole number of
   * bytes from 65536 to 104857600. Env: `TRACEWELL_PROFILING_MAX_BYTES`. Default: 10 MiB.
   */
  profilingMaxBytes?: number;
  /**
   * Folders searched for source maps, so transpiled code (TypeScript) is reported at its own lines. Accepted: an array
   * of folders. Env: `TRACEWELL_PROFILING_SOURCE_MAP_DIRS`. Default: the folder of the main script.
   */
  profilingSourceMapDirs?: string[];
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
  readonly samplingRules: readonly ResolvedSamplingRule[];
  readonly spanSamplingRules: readonly ResolvedSamplingRule[];
  readonly propagationExtract: readonly PropagationStyle[];
  readonly propagationInject: readonly PropagationStyle[];
  readonly logInjection: boolean;
  readonly logLevel: LogLevel;
  readonly flushIntervalMs: number;
  readonly maxPendingSpans: number;
  readonly maxPayloadBytes: number;
  readonly traceProtocol: TraceProtocol;
  readonly disabledInstrumentations: readonly InstrumentationName[];
  readonly httpUrlQuery: boolean;
  readonly redisRawCommands: boolean;
  readonly httpIgnorePaths: readonly string[];
  readonly httpClientIgnoreUrls: readonly string[];
  /** Header name (lower case) -> tag name ('' = Datadog's default names). */
  readonly headerTags: Readonly<Record<string, string>>;
  readonly spanProcessors: readonly SpanProcessor[];
  readonly grpcServerErrorStatuses: readonly number[];
  readonly grpcClientErrorStatuses: readonly number[];
  readonly sqlRawStatements: boolean;
  readonly dbmPropagationMode: DbmPropagationMode;
  readonly graphqlResolverSpans: boolean;
  readonly graphqlResolverDepth: number;
  readonly exporter: ExporterName;
  readonly otlpEndpoint: string;
  readonly otlpHeaders: Readonly<Record<string, string>>;
  readonly otlpTimeoutMs: number;
  readonly exportTimeoutMs: number;
  readonly exportRetries: number;
  readonly exportRetryDeadlineMs: number;
  readonly exportBackoffMs: number;
  readonly breakerFailures: number;
  readonly breakerProbeMs: number;
  readonly breakerProbeMaxMs: number;
  readonly dlqEnabled: boolean;
  /** The root folder; a service's files are in `<dlqDir>/<service>`. */
  readonly dlqDir: string;
  readonly dlqMaxBytes: number;
  readonly dlqReplayBytesPerSec: number;
  readonly shutdownTimeoutMs: number;
  readonly outageSummaryIntervalMs: number;
  readonly healthMetrics: boolean;
  readonly dogstatsdUrl: string;
  readonly runtimeMetrics: boolean;
  readonly profiling: boolean;
  readonly profilingMode: ProfilingMode;
  readonly profilingUploadPeriodS: number;
  readonly profilingIntervalMs: number;
  readonly profilingHeap: boolean;
  readonly profilingV8BugWorkaround: boolean;
  readonly profilingUpload: boolean;
  /** '' = no files. */
  readonly profilingDir: string;
  readonly profilingMaxBytes: number;
  readonly profilingSourceMapDirs: readonly string[];
  readonly probes: string;
  readonly probesFile: string;
  readonly redact: readonly string[];
  readonly redactExclude: readonly string[];
  readonly probeBudgetMs: number;
  /** Where each field's value came from (`option`, an environment variable name, or `default`). */
  readonly sources: Readonly<Record<string, string>>;
}

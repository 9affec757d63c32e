/**
 * Every option, once: the variables that set it (highest precedence first), its kind (how a
 * variable is parsed and a value given in code is checked, with the same bounds), its default
 * and how that default is named, and its doc line. From this table come:
 * - the environment reader (`resolve.ts` loops over it; options that combine variables point
 *   to a small named function below),
 * - the check of options given to `init()` (the same kinds, the same message),
 * - the docs: `TracewellOptions`' comments in `options.ts`, and the option tables of README.md,
 *   docs/export.md and docs/profiling.md, written by `scripts/options-docs.mjs`
 *   (`npm run docs:options`; `test/config/table.test.mjs` fails when they are out of date).
 * Built once when the module loads; nothing here runs per request.
 */
import { homedir, tmpdir } from 'node:os';
import { accessSync, constants as fsConstants, lstatSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { LOG_LEVELS } from '../internal/logger';
import { bool, headerTags, int, list, oneOf, parseDdTags, parseOtelResource, path, processors, rate, record, samplingRules, statusList, text, url, type Kind } from './kinds';
import type { DbmPropagationMode, ExporterName, InstrumentationName, ProfilingMode, PropagationStyle, ResolvedConfig, TraceProtocol, TracewellOptions } from './options';

export type Field = keyof TracewellOptions;
/** What a field holds when given. */
export type Value<K extends Field> = NonNullable<TracewellOptions[K]>;
/** Which docs page lists an option in its table. */
type Page = 'readme' | 'export' | 'profiling';

/** What a named resolver (an option that combines variables) may use; `resolve.ts` provides it. */
export interface Ctx {
  /** The options given in code that were accepted (a refused one is absent: the next source is used). */
  readonly options: Readonly<Partial<TracewellOptions>>;
  /** Where each field came from: `option`, a variable, `package.json` or `default`. */
  readonly sources: Record<string, string>;
  /** The first of `names` that is set and not blank, trimmed. */
  raw(names: readonly string[]): [name: string, value: string] | undefined;
  /**
   * The option if given, else the first of `names` that the field's kind accepts (one that it
   * does not is reported and skipped); sets `sources[field]`. `undefined`: none of them.
   */
  pick<K extends Field>(field: K, names: readonly string[]): Value<K> | undefined;
  /** One variable read with a kind of its own; a value not accepted is reported (`defaultText` is what the message says is used). */
  variable<T>(name: string, kind: Kind<T>, defaultText: string, field?: Field): T | undefined;
  /** Reports a value that is not accepted. */
  bad(variable: string, value: string, accepted: string, defaultUsed: string, field?: Field): void;
  /** A field resolved before this one (the table's order). */
  get<K extends Field>(field: K): ResolvedConfig[K];
  /** `OTEL_RESOURCE_ATTRIBUTES`, parsed once. */
  resource(): Record<string, string>;
  /** The app's package.json `name` and `version`, read once. */
  pkg(): { name?: string; version?: string };
}

interface OptionSpec<K extends Field> {
  /** What the option does: the start of its doc comment. */
  readonly doc: string;
  /** Every variable read for it, highest precedence first (a plain option reads exactly these, in order). */
  readonly env: readonly string[];
  /** How the docs name those variables, when more than a list (`... or DD_AGENT_HOST + DD_TRACE_AGENT_PORT`). */
  readonly envDoc?: string;
  readonly kind: Kind<Value<K>>;
  /** The default; a function when it depends on the process (computed only when used). */
  readonly default: ResolvedConfig[K] | (() => ResolvedConfig[K]);
  /** What a message says is used, when not the default written out. */
  readonly defaultText?: string | (() => string);
  /** What the docs say the default is, when not the default written out (never for a number). */
  readonly defaultDoc?: string;
  /** For an option that combines variables: the named function that reads them. */
  readonly resolve?: (c: Ctx) => ResolvedConfig[K];
  /** The docs pages whose option table lists it. */
  readonly pages: readonly Page[];
}

type Table = { readonly [K in Field]-?: OptionSpec<K> };

// The options and the resolved config have the same fields (the config adds `sources`).
type Extra = Exclude<keyof ResolvedConfig, Field | 'sources'> | Exclude<Field, keyof ResolvedConfig>;
const sameFields: [Extra] extends [never] ? true : Extra = true;
void sameFields;

const PROPAGATION_NAMES: Record<string, PropagationStyle> = {
  datadog: 'datadog',
  tracecontext: 'tracecontext',
  w3c: 'tracecontext',
  b3: 'b3',
  'b3 single header': 'b3',
  b3single: 'b3',
  b3multi: 'b3multi',
  baggage: 'baggage',
  none: 'none',
};
const INSTRUMENTATIONS: readonly InstrumentationName[] = ['http', 'fastify', 'express', 'fetch', 'grpc', 'pino', 'winston', 'hono', 'koa', 'nestjs', 'graphql', 'pg', 'mysql2', 'ioredis', 'redis', 'amqplib'];
/** `DD_TRACE_<NAME>_ENABLED`: false leaves that one integration off. */
const enabledVariable = (name: InstrumentationName): string => `DD_TRACE_${name.toUpperCase()}_ENABLED`;
const DEFAULT_PROPAGATION: readonly PropagationStyle[] = ['datadog', 'tracecontext', 'baggage'];
const MiB = 1024 * 1024;

const ms = (min: number, max: number): Kind<number> => int(min, max, 'milliseconds');
const bytes = (min: number, max: number = Number.MAX_SAFE_INTEGER): Kind<number> => int(min, max, 'bytes');
const port = (): Kind<number> => int(1, 65535, undefined, 'a port number from 1 to 65535');
/** A propagation list: `none` anywhere means none; repeats are dropped. */
const styles = (): Kind<PropagationStyle[]> =>
  list(
    (s) => PROPAGATION_NAMES[s.toLowerCase()],
    'datadog, tracecontext, b3, b3multi, baggage, none',
    (items) => (items.includes('none') ? [] : items.filter((s, i) => items.indexOf(s) === i)),
  );
const names = (): Kind<string[]> => list((s) => s, 'names');
const AGENT_URL = url(['http:', 'https:', 'unix:'], 'an http://, https:// or unix:// URL', { trimSlash: true });
const HTTP_URL = url(['http:', 'https:'], 'an http:// or https:// URL');
const HEADERS = record(parseOtelResource, 'comma-separated key=value pairs');
const FOLDER = path('a folder path');
const OTLP_DEFAULT = 'http://localhost:4318/v1/traces';

/** The options, in the order they are resolved and appear in the resolved config. */
export const OPTIONS: Table = {
  service: {
    doc: 'Service name.',
    env: ['TRACEWELL_SERVICE', 'DD_SERVICE', 'OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES'],
    envDoc: '`TRACEWELL_SERVICE`, `DD_SERVICE`, `OTEL_SERVICE_NAME`, `service.name` in `OTEL_RESOURCE_ATTRIBUTES`',
    kind: text('a service name'),
    default: 'node',
    defaultDoc: "the `name` of the app's package.json, else `node`",
    resolve: resolveService,
    pages: ['readme'],
  },
  env: {
    doc: 'Deployment environment.',
    env: ['TRACEWELL_ENV', 'DD_ENV', 'OTEL_RESOURCE_ATTRIBUTES'],
    envDoc: '`TRACEWELL_ENV`, `DD_ENV`, `deployment.environment.name` (or `deployment.environment`) in `OTEL_RESOURCE_ATTRIBUTES`',
    kind: text('an environment name'),
    default: '',
    defaultDoc: 'none, with one start-up warning',
    resolve: resolveEnv,
    pages: ['readme'],
  },
  version: {
    doc: 'Service version.',
    env: ['TRACEWELL_VERSION', 'DD_VERSION', 'OTEL_RESOURCE_ATTRIBUTES'],
    envDoc: '`TRACEWELL_VERSION`, `DD_VERSION`, `service.version` in `OTEL_RESOURCE_ATTRIBUTES`',
    kind: text('a version'),
    default: '',
    defaultDoc: "the `version` of the app's package.json",
    resolve: resolveVersion,
    pages: ['readme'],
  },
  tags: {
    doc: 'Tags added to every span; `service`, `env` and `version` are fields of their own, never tags.',
    env: ['TRACEWELL_TAGS', 'DD_TAGS', 'OTEL_RESOURCE_ATTRIBUTES'],
    envDoc: '`TRACEWELL_TAGS`, `DD_TAGS` (`k:v,k:v` or `k:v k:v`), the other keys of `OTEL_RESOURCE_ATTRIBUTES`; all merged, the first named winning per key',
    kind: record(parseDdTags, '`k:v,k:v` or `k:v k:v`'),
    default: {},
    resolve: resolveTags,
    pages: ['readme'],
  },
  enabled: {
    doc: 'Trace at all: false turns tracing off entirely.',
    env: ['TRACEWELL_ENABLED', 'DD_TRACE_ENABLED', 'OTEL_SDK_DISABLED'],
    envDoc: '`TRACEWELL_ENABLED`, `DD_TRACE_ENABLED`, `OTEL_SDK_DISABLED=true`',
    kind: bool(),
    default: true,
    resolve: resolveEnabled,
    pages: ['readme'],
  },
  agentUrl: {
    doc: 'The Datadog Agent.',
    env: ['TRACEWELL_AGENT_URL', 'DD_TRACE_AGENT_URL', 'DD_AGENT_HOST', 'DD_TRACE_AGENT_PORT'],
    envDoc: '`TRACEWELL_AGENT_URL`, `DD_TRACE_AGENT_URL`, or `DD_AGENT_HOST` + `DD_TRACE_AGENT_PORT`',
    kind: AGENT_URL,
    default: 'http://localhost:8126',
    resolve: resolveAgentUrl,
    pages: ['readme'],
  },
  sampleRate: {
    doc:
      'Fraction of new traces kept, 0..1: a last sampling rule that matches every trace (after `samplingRules`). `OTEL_TRACES_SAMPLER` sets it too; ' +
      '`always_on`, `always_off` and `traceidratio` are read as their `parentbased_` forms: a continued trace keeps its parent\'s decision.',
    env: ['TRACEWELL_SAMPLE_RATE', 'DD_TRACE_SAMPLE_RATE', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'],
    envDoc: '`TRACEWELL_SAMPLE_RATE`, `DD_TRACE_SAMPLE_RATE`, `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG`)',
    kind: rate(),
    default: undefined,
    defaultText: 'agent-controlled sampling',
    defaultDoc: "unset: the agent's `rate_by_service` decides, 1 until it answers",
    resolve: resolveSampleRate,
    pages: ['readme'],
  },
  rateLimit: {
    doc: 'Most traces per second kept by `sampleRate` and `samplingRules` together.',
    env: ['TRACEWELL_RATE_LIMIT', 'DD_TRACE_RATE_LIMIT'],
    kind: int(0, 1e9, 'traces per second'),
    default: 100,
    pages: ['readme'],
  },
  samplingRules: {
    doc:
      "Trace sampling rules, applied to a new trace's root before `sampleRate` and the agent's rates: the first rule whose service, name, resource and tags " +
      'all match sets the rate (`_dd.p.dm=-3`, `_dd.rule_psr`). A rule on the resource (`GET /users/:id`) sees the route: the decision waits for the first ' +
      'propagation or the end of the root (docs/sampling.md).',
    env: ['DD_TRACE_SAMPLING_RULES'],
    envDoc: '`DD_TRACE_SAMPLING_RULES` (`[{"resource":"GET /healthz","sample_rate":0}]`)',
    kind: samplingRules('trace'),
    default: [],
    pages: ['readme'],
  },
  spanSamplingRules: {
    doc: 'Single span sampling: spans of dropped traces that match a rule are kept anyway, tagged `_dd.span_sampling.*` (docs/sampling.md).',
    env: ['DD_SPAN_SAMPLING_RULES'],
    envDoc: '`DD_SPAN_SAMPLING_RULES` (`[{"service":"api","name":"http.request","sample_rate":1,"max_per_second":50}]`)',
    kind: samplingRules('span'),
    default: [],
    pages: ['readme'],
  },
  propagationExtract: {
    doc: 'Formats read from incoming requests, in order; the first that yields a context wins.',
    env: ['DD_TRACE_PROPAGATION_STYLE_EXTRACT', 'DD_TRACE_PROPAGATION_STYLE', 'OTEL_PROPAGATORS'],
    kind: styles(),
    default: DEFAULT_PROPAGATION,
    pages: ['readme'],
  },
  propagationInject: {
    doc: 'Formats written on outgoing requests.',
    env: ['DD_TRACE_PROPAGATION_STYLE_INJECT', 'DD_TRACE_PROPAGATION_STYLE', 'OTEL_PROPAGATORS'],
    kind: styles(),
    default: DEFAULT_PROPAGATION,
    pages: ['readme'],
  },
  logInjection: {
    doc: 'Add `trace_id`/`span_id` (and `dd.*`) to pino and winston records.',
    env: ['TRACEWELL_LOGS_INJECTION', 'DD_LOGS_INJECTION'],
    kind: bool(),
    default: true,
    pages: ['readme'],
  },
  logLevel: {
    doc: "Tracewell's own log level.",
    env: ['TRACEWELL_LOG_LEVEL'],
    kind: oneOf(LOG_LEVELS, LOG_LEVELS.join(', ')),
    default: 'warn',
    pages: ['readme'],
  },
  flushIntervalMs: {
    doc: 'How often finished traces are sent, in ms.',
    env: ['TRACEWELL_FLUSH_INTERVAL_MS'],
    kind: ms(10, 600_000),
    default: 1000,
    pages: ['readme'],
  },
  maxPendingSpans: {
    doc: 'Most finished spans waiting to be sent; more are dropped and counted.',
    env: ['TRACEWELL_MAX_PENDING_SPANS'],
    kind: int(1, 10_000_000),
    default: 50_000,
    pages: ['readme'],
  },
  maxPayloadBytes: {
    doc: 'Largest payload sent to the agent in one request, in bytes.',
    env: ['TRACEWELL_MAX_PAYLOAD_BYTES'],
    kind: bytes(65_536, 25 * MiB - 1),
    default: 8 * MiB,
    pages: ['readme'],
  },
  traceProtocol: {
    doc:
      'Datadog Agent trace encoding: `0.5` (`/v0.5/traces`, every string once per payload in a table: about a third of the bytes of `0.4`), ' +
      "`0.4` (`/v0.4/traces`), or `auto`: 0.5 once the agent's `/info` lists it, 0.4 until then and for agents that do not.",
    env: ['TRACEWELL_TRACE_PROTOCOL', 'DD_TRACE_AGENT_PROTOCOL_VERSION'],
    kind: oneOf<TraceProtocol>(['auto', '0.4', '0.5']),
    default: 'auto',
    pages: ['readme'],
  },
  disabledInstrumentations: {
    doc: 'Integrations to leave off.',
    env: ['TRACEWELL_DISABLED_INSTRUMENTATIONS', 'DD_TRACE_DISABLED_PLUGINS', ...INSTRUMENTATIONS.map(enabledVariable)],
    envDoc:
      '`TRACEWELL_DISABLED_INSTRUMENTATIONS`, `DD_TRACE_DISABLED_PLUGINS`, and one integration each: ' +
      INSTRUMENTATIONS.map((n) => `\`${enabledVariable(n)}=false\``).join(', '),
    kind: list((s) => (INSTRUMENTATIONS as readonly string[]).includes(s.toLowerCase()) ? (s.toLowerCase() as InstrumentationName) : undefined, INSTRUMENTATIONS.join(', ')),
    default: [],
    resolve: resolveDisabledInstrumentations,
    pages: ['readme'],
  },
  httpUrlQuery: {
    doc: 'Report query strings in `http.url` (off: the query string is kept out).',
    env: ['TRACEWELL_HTTP_URL_QUERY'],
    kind: bool(),
    default: false,
    pages: ['readme'],
  },
  redisRawCommands: {
    doc:
      'Report Redis commands with their argument values in `redis.raw_command` (off: values are replaced by `?` in the tracer, before anything is encoded; ' +
      'the command name and its keys are kept).',
    env: ['TRACEWELL_REDIS_RAW_COMMANDS'],
    kind: bool(),
    default: false,
    pages: ['readme'],
  },
  httpIgnorePaths: {
    doc:
      'Paths of inbound requests never traced (health checks, metrics scrapes): no span, nothing propagated from them, counted in `stats().ignored.inbound`. ' +
      'Globs on the path without the query string (`*` any run of characters, `?` one).',
    env: ['TRACEWELL_HTTP_IGNORE_PATHS'],
    envDoc: '`TRACEWELL_HTTP_IGNORE_PATHS` (`/healthz,/readyz,/metrics`)',
    kind: list((s) => s, 'path patterns'),
    default: [],
    pages: ['readme'],
  },
  httpClientIgnoreUrls: {
    doc:
      'URLs of outbound requests never traced: no span, no propagation headers, counted in `stats().ignored.outbound`. Globs on `protocol://host[:port]/path` ' +
      'without the query string (`http://169.254.169.254/*`, `*:9090/metrics`).',
    env: ['TRACEWELL_HTTP_CLIENT_IGNORE_URLS'],
    kind: list((s) => s, 'URL patterns'),
    default: [],
    pages: ['readme'],
  },
  headerTags: {
    doc:
      'Request and response headers put on HTTP server and client spans, and gRPC metadata on gRPC spans, as tags: `header:tag`, or a header alone for ' +
      '`http.request.headers.<header>` / `http.response.headers.<header>` (`grpc.request.metadata.<key>` / `grpc.response.metadata.<key>`). ' +
      'A header named like a secret (`redact`: `authorization`, `cookie`, `x-api-key`...) is put on as `[redacted]`.',
    env: ['TRACEWELL_HEADER_TAGS', 'DD_TRACE_HEADER_TAGS'],
    kind: headerTags(),
    default: {},
    pages: ['readme'],
  },
  spanProcessors: {
    doc: 'OpenTelemetry SDK span processors (`@opentelemetry/sdk-trace-base`), given every span as a ReadableSpan with semantic-convention attributes, beside the Datadog export.',
    env: [],
    envDoc: 'none (code only)',
    kind: processors(),
    default: [],
    pages: ['readme'],
  },
  grpcServerErrorStatuses: {
    doc: 'gRPC status codes that mark a server span an error.',
    env: ['TRACEWELL_GRPC_SERVER_ERROR_STATUSES', 'DD_GRPC_SERVER_ERROR_STATUSES'],
    envDoc: '`TRACEWELL_GRPC_SERVER_ERROR_STATUSES`, `DD_GRPC_SERVER_ERROR_STATUSES` (`2,4,12-15`)',
    kind: statusList(),
    default: [2, 4, 12, 13, 14, 15],
    defaultText: '2,4,12-15',
    defaultDoc: '2, 4, 12-15 (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS)',
    pages: ['readme'],
  },
  grpcClientErrorStatuses: {
    doc: 'gRPC status codes that mark a client span an error.',
    env: ['TRACEWELL_GRPC_CLIENT_ERROR_STATUSES', 'DD_GRPC_CLIENT_ERROR_STATUSES'],
    kind: statusList(),
    default: Array.from({ length: 16 }, (_, i) => i + 1),
    defaultText: '1-16',
    defaultDoc: '1-16 (every non-OK status)',
    pages: ['readme'],
  },
  sqlRawStatements: {
    doc:
      'Resources of SQL spans (`pg`, `mysql2`) are the statements as the app wrote them. Off, every literal (numbers, strings, lists of values) ' +
      'becomes `?` and comments are removed before a span leaves the process. Values a driver substitutes (`?` / `$1` placeholders) are never in either.',
    env: ['TRACEWELL_SQL_RAW_STATEMENTS'],
    kind: bool(),
    default: false,
    pages: ['readme'],
  },
  graphqlResolverSpans: {
    doc:
      'A `graphql.resolve` span per resolved field, under the operation\'s `graphql.execute` span (down to `graphqlResolverDepth`). ' +
      'Off: one span per operation; resolvers are many, and even cheap spans add up.',
    env: ['TRACEWELL_GRAPHQL_RESOLVER_SPANS'],
    kind: bool(),
    default: false,
    pages: ['readme'],
  },
  dbmPropagationMode: {
    doc:
      "Database Monitoring link: `service` starts each SQL statement sent to PostgreSQL and MySQL with a leading comment naming the service, env and version (`dddbs='..',dde='..',ddps='..',ddpv='..'`); " +
      '`full` adds the `traceparent` of the query span (not on prepared statements, whose text must not change between executions).',
    env: ['TRACEWELL_DBM_PROPAGATION_MODE', 'DD_DBM_PROPAGATION_MODE'],
    kind: oneOf<DbmPropagationMode>(['disabled', 'service', 'full']),
    default: 'disabled',
    pages: ['readme'],
  },
  graphqlResolverDepth: {
    doc: 'With `graphqlResolverSpans`: how many fields deep resolver spans are made (1: top-level fields only; list indexes do not count).',
    env: ['TRACEWELL_GRAPHQL_RESOLVER_DEPTH'],
    kind: int(1, 100),
    default: 2,
    pages: ['readme'],
  },
  exporter: {
    doc: 'Where traces go: `datadog` (the Datadog Agent) or `otlp` (OTLP/HTTP protobuf); `tracewell doctor` says which and why.',
    env: ['TRACEWELL_EXPORTER', 'OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    envDoc: '`TRACEWELL_EXPORTER`, `OTEL_TRACES_EXPORTER`',
    kind: oneOf<ExporterName>(['datadog', 'otlp']),
    default: 'datadog',
    defaultDoc:
      '`otlp` when an OTLP endpoint is given (`otlpEndpoint`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`) and no agent is ' +
      '(`agentUrl`, `TRACEWELL_AGENT_URL`, `DD_TRACE_AGENT_URL`, `DD_AGENT_HOST`, `DD_TRACE_AGENT_PORT`); `datadog` otherwise, also when both are given',
    resolve: resolveExporter,
    pages: ['readme'],
  },
  otlpEndpoint: {
    doc: 'OTLP/HTTP traces URL, used as is.',
    env: ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    envDoc: '`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as is), `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended)',
    kind: HTTP_URL,
    default: OTLP_DEFAULT,
    resolve: resolveOtlpEndpoint,
    pages: ['readme'],
  },
  otlpHeaders: {
    doc: 'Headers sent with every OTLP request (`tracewell doctor` shows their names only).',
    env: ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS'],
    envDoc: '`OTEL_EXPORTER_OTLP_TRACES_HEADERS`, `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, percent-encoded; merged, the first named winning per key)',
    kind: HEADERS,
    default: {},
    resolve: resolveOtlpHeaders,
    pages: ['readme'],
  },
  otlpTimeoutMs: {
    doc: 'Timeout of one OTLP request, in ms.',
    env: ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'],
    kind: ms(1, 600_000),
    default: 10_000,
    pages: ['readme'],
  },
  exportTimeoutMs: {
    doc: 'Timeout of one request to the Datadog Agent, in ms.',
    env: ['TRACEWELL_EXPORT_TIMEOUT_MS'],
    kind: ms(1, 600_000),
    default: 10_000,
    pages: ['export'],
  },
  exportRetries: {
    doc: "Retries of a payload after its first attempt (connection errors, timeouts, 408, 429, 502, 503, 504).",
    env: ['TRACEWELL_EXPORT_RETRIES'],
    kind: int(0, 100),
    default: 3,
    pages: ['export'],
  },
  exportRetryDeadlineMs: {
    doc: "Time from a payload's first attempt after which it is not retried again (it goes to the dead-letter file), in ms.",
    env: ['TRACEWELL_EXPORT_RETRY_DEADLINE_MS'],
    kind: ms(0, 3_600_000),
    default: 30_000,
    pages: ['export'],
  },
  exportBackoffMs: {
    doc: 'First retry delay, in ms; doubled per retry with jitter, at most 30 s; `Retry-After` wins.',
    env: ['TRACEWELL_EXPORT_BACKOFF_MS'],
    kind: ms(1, 600_000),
    default: 500,
    pages: ['export'],
  },
  breakerFailures: {
    doc: 'Failed attempts in a row after which the circuit opens: no more sends per flush, payloads go straight to the dead-letter file, the agent is probed.',
    env: ['TRACEWELL_BREAKER_FAILURES'],
    kind: int(1, 1000),
    default: 3,
    pages: ['export'],
  },
  breakerProbeMs: {
    doc: 'First probe of an agent behind an open circuit, in ms; doubled per failed probe with jitter.',
    env: ['TRACEWELL_BREAKER_PROBE_MS'],
    kind: ms(1, 3_600_000),
    default: 1000,
    pages: ['export'],
  },
  breakerProbeMaxMs: {
    doc: 'Longest wait between two probes, in ms; never less than `breakerProbeMs`.',
    env: ['TRACEWELL_BREAKER_PROBE_MAX_MS'],
    kind: ms(1, 3_600_000),
    default: 60_000,
    resolve: resolveBreakerProbeMax,
    pages: ['export'],
  },
  dlqEnabled: {
    doc: 'Keep payloads that cannot be sent in a dead-letter file and send them when the agent answers again.',
    env: ['TRACEWELL_DLQ_ENABLED'],
    kind: bool(),
    default: true,
    pages: ['export'],
  },
  dlqDir: {
    doc: 'Folder of the dead-letter files; each service gets a subfolder. It must be private: a link, another user\'s folder or one others can write is refused (docs/export.md).',
    env: ['TRACEWELL_DLQ_DIR', 'XDG_STATE_HOME', 'HOME'],
    envDoc: '`TRACEWELL_DLQ_DIR` (the default follows `XDG_STATE_HOME` and `HOME`)',
    kind: FOLDER,
    default: () => defaultDlqDir(undefined, homedir()),
    defaultText: () => defaultDlqDir(undefined, homedir()),
    defaultDoc: '`$XDG_STATE_HOME/tracewell/dlq` (or `~/.local/state/tracewell/dlq`) when the home folder is the user\'s own and writable, else `<os temp dir>/tracewell-<uid>/dlq`',
    resolve: resolveDlqDir,
    pages: ['export'],
  },
  dlqMaxBytes: {
    doc: 'Most bytes of dead-letter files per service folder; the oldest are evicted (and counted) past it.',
    env: ['TRACEWELL_DLQ_MAX_BYTES'],
    kind: bytes(4096),
    default: 128 * MiB,
    pages: ['export'],
  },
  dlqReplayBytesPerSec: {
    doc: 'Most bytes per second replayed from the dead-letter file (after live data).',
    env: ['TRACEWELL_DLQ_REPLAY_BYTES_PER_SEC'],
    kind: bytes(1024),
    default: 4 * MiB,
    pages: ['export'],
  },
  shutdownTimeoutMs: {
    doc: 'How long a flush on SIGTERM, SIGINT, beforeExit or `shutdown()` may take before what is left goes to the dead-letter file, in ms.',
    env: ['TRACEWELL_SHUTDOWN_TIMEOUT_MS'],
    kind: ms(0, 600_000),
    default: 2000,
    pages: ['export'],
  },
  outageSummaryIntervalMs: {
    doc: 'Interval of the summary line logged while the agent is unreachable, in ms.',
    env: ['TRACEWELL_OUTAGE_SUMMARY_INTERVAL_MS'],
    kind: ms(100, 86_400_000),
    default: 60_000,
    pages: ['export'],
  },
  healthMetrics: {
    doc: 'Send the export counters as DogStatsD metrics (`tracewell.exporter.*`) every 10 s.',
    env: ['TRACEWELL_HEALTH_METRICS', 'DD_TRACE_HEALTH_METRICS_ENABLED'],
    kind: bool(),
    default: false,
    pages: ['export'],
  },
  dogstatsdUrl: {
    doc: 'DogStatsD address for `healthMetrics` and `runtimeMetrics`, `udp://host:port`.',
    env: ['TRACEWELL_DOGSTATSD_URL', 'DD_DOGSTATSD_HOSTNAME', 'DD_DOGSTATSD_HOST', 'DD_DOGSTATSD_PORT'],
    envDoc: '`TRACEWELL_DOGSTATSD_URL`, or `DD_DOGSTATSD_HOSTNAME` (or `DD_DOGSTATSD_HOST`) + `DD_DOGSTATSD_PORT`',
    kind: url(['udp:'], 'a udp://host:port URL', { needsHost: true }),
    default: 'udp://localhost:8125',
    defaultText: 'the agent host, port 8125',
    defaultDoc: "the agent's host, port 8125",
    resolve: resolveDogstatsdUrl,
    pages: ['export'],
  },
  runtimeMetrics: {
    doc:
      'Send runtime metrics every 10 s over DogStatsD under Datadog\'s `runtime.node.*` names (event-loop delay and utilisation, GC pauses by type, heap by space, ' +
      'RSS, CPU, active handles), and through the OpenTelemetry metrics API when a MeterProvider is registered (docs/runtime-metrics.md).',
    env: ['TRACEWELL_RUNTIME_METRICS', 'DD_RUNTIME_METRICS_ENABLED'],
    kind: bool(),
    default: false,
    pages: ['readme'],
  },
  profiling: {
    doc: 'Turn the continuous profiler on (docs/profiling.md).',
    env: ['TRACEWELL_PROFILING_ENABLED', 'DD_PROFILING_ENABLED'],
    kind: bool(),
    default: false,
    pages: ['readme', 'profiling'],
  },
  profilingMode: {
    doc:
      '`lines` (every sample names function, file and line), `linked` (samples carry `span id`, `local root span id`, `trace endpoint` labels and CPU time, ' +
      "function level) or `span-lines` (lines and span labels, from V8's inspector joined with a span timeline; docs/profiling.md).",
    env: ['TRACEWELL_PROFILING_MODE', 'DD_PROFILING_CODEHOTSPOTS_ENABLED'],
    envDoc: '`TRACEWELL_PROFILING_MODE`, or `DD_PROFILING_CODEHOTSPOTS_ENABLED=true` for `linked`',
    kind: oneOf<ProfilingMode>(['lines', 'linked', 'span-lines']),
    default: 'lines',
    resolve: resolveProfilingMode,
    pages: ['profiling'],
  },
  profilingUploadPeriodS: {
    doc: 'One profile per this many seconds.',
    env: ['TRACEWELL_PROFILING_UPLOAD_PERIOD', 'DD_PROFILING_UPLOAD_PERIOD'],
    kind: int(1, 3600, 'seconds'),
    default: 60,
    pages: ['profiling'],
  },
  profilingIntervalMs: {
    doc: 'Wall-time sampling interval, in ms.',
    env: ['TRACEWELL_PROFILING_INTERVAL_MS'],
    kind: ms(1, 1000),
    default: 10,
    pages: ['profiling'],
  },
  profilingHeap: {
    doc: 'Heap allocation profiles beside the wall profile.',
    env: ['TRACEWELL_PROFILING_HEAP', 'DD_PROFILING_HEAP_ENABLED'],
    kind: bool(),
    default: true,
    pages: ['profiling'],
  },
  profilingV8BugWorkaround: {
    doc:
      "The binding's guard against a V8 bug (the profiler's processing thread stuck, empty profiles): it waits for up to two sampling signals around each " +
      'profile cut, which blocks the event loop 10-20 ms per profile at the 10 ms interval. Off, a cut blocks 1-5 ms; a profile hit by the bug is still ' +
      'detected, counted (`stats().profiler.v8BugRecoveries`) and the profiler restarted (docs/profiling.md, "Pauses").',
    env: ['TRACEWELL_PROFILING_V8_BUG_WORKAROUND', 'DD_PROFILING_V8_PROFILER_BUG_WORKAROUND'],
    kind: bool(),
    default: false,
    pages: ['profiling'],
  },
  profilingUpload: {
    doc: "Send profiles to the agent's `/profiling/v1/input`.",
    env: ['TRACEWELL_PROFILING_UPLOAD'],
    kind: bool(),
    default: true,
    pages: ['profiling'],
  },
  profilingDir: {
    doc: 'Also write each profile as `<type>-<time>-<pid>-<n>.pb.gz` (gzip pprof) into this folder.',
    env: ['TRACEWELL_PROFILING_DIR'],
    kind: FOLDER,
    default: '',
    pages: ['profiling'],
  },
  profilingMaxBytes: {
    doc: 'Largest profile upload (all parts), in bytes; a bigger one is dropped and counted.',
    env: ['TRACEWELL_PROFILING_MAX_BYTES'],
    kind: bytes(65_536, 100 * MiB),
    default: 10 * MiB,
    pages: ['profiling'],
  },
  profilingSourceMapDirs: {
    doc: 'Folders searched for source maps, so transpiled code (TypeScript) is reported at its own lines.',
    env: ['TRACEWELL_PROFILING_SOURCE_MAP_DIRS'],
    kind: list((s) => FOLDER.parse(s), 'folders'),
    default: () => (process.argv[1] ? [dirname(resolvePath(process.argv[1]))] : [process.cwd()]),
    defaultText: 'the folder of the main script',
    defaultDoc: 'the folder of the main script',
    pages: ['profiling'],
  },
  probes: {
    doc: 'Dynamic probes, inline: Datadog probe JSON, or the compact form (`src/member.js:42 request`; docs/dynamic-probes.md).',
    env: ['TRACEWELL_PROBES'],
    kind: text('probe JSON or the compact form'),
    default: '',
    pages: ['readme'],
  },
  probesFile: {
    doc: 'A file of probe definitions (JSON or compact lines), watched: edits take effect without a restart.',
    env: ['TRACEWELL_PROBES_FILE'],
    kind: path('a file path'),
    default: '',
    pages: ['readme'],
  },
  redact: {
    doc: 'Names whose values probes never show, beside the built-in list (spelling-independent: `member_no` = `memberNo`); merged with the variables.',
    env: ['TRACEWELL_REDACT', 'DD_DYNAMIC_INSTRUMENTATION_REDACTED_IDENTIFIERS'],
    envDoc: '`TRACEWELL_REDACT` (comma list; `-name` takes a built-in name out), `DD_DYNAMIC_INSTRUMENTATION_REDACTED_IDENTIFIERS`',
    kind: names(),
    default: [],
    defaultDoc: 'none beside the built-in list',
    resolve: resolveRedact,
    pages: ['readme'],
  },
  redactExclude: {
    doc: 'Built-in redacted names to show after all; merged with the variables.',
    env: ['TRACEWELL_REDACT_EXCLUDE', 'DD_DYNAMIC_INSTRUMENTATION_REDACTION_EXCLUDED_IDENTIFIERS', 'TRACEWELL_REDACT', 'DD_DYNAMIC_INSTRUMENTATION_REDACTED_IDENTIFIERS'],
    envDoc:
      '`TRACEWELL_REDACT_EXCLUDE`, `DD_DYNAMIC_INSTRUMENTATION_REDACTION_EXCLUDED_IDENTIFIERS`, or `-name` in `TRACEWELL_REDACT` / `DD_DYNAMIC_INSTRUMENTATION_REDACTED_IDENTIFIERS`',
    kind: names(),
    default: [],
    resolve: resolveRedactExclude,
    pages: ['readme'],
  },
  probeBudgetMs: {
    doc: 'Longest a probe hit may take, in ms; a probe over it is turned off with an ERROR status.',
    env: ['TRACEWELL_PROBE_BUDGET_MS'],
    kind: ms(1, 10_000),
    default: 10,
    pages: ['readme'],
  },
};

/** The fields in the table's order. */
export const FIELDS = Object.keys(OPTIONS) as Field[];

/** The default of a field (computed now when it depends on the process). */
export function defaultOf<K extends Field>(field: K): ResolvedConfig[K] {
  const d = (OPTIONS[field] as OptionSpec<K>).default;
  return typeof d === 'function' ? (d as () => ResolvedConfig[K])() : (d as ResolvedConfig[K]);
}

// ---------------------------------------------------------------------------------------------
// Options that combine variables: each reads what its table entry names.

const RESOURCE_KEYS = ['service.name', 'service.version', 'deployment.environment', 'deployment.environment.name'];

/** The option, the variables, a key of OTEL_RESOURCE_ATTRIBUTES, the app's package.json, the default. */
function identity(c: Ctx, field: 'service' | 'env' | 'version', names: readonly string[], resourceValue: () => string | undefined, pkgValue: () => string | undefined): string {
  const v = c.pick(field, names);
  if (v !== undefined) return v;
  const fromResource = resourceValue();
  if (fromResource) {
    c.sources[field] = 'OTEL_RESOURCE_ATTRIBUTES';
    return fromResource;
  }
  const fromPkg = pkgValue();
  if (fromPkg) {
    c.sources[field] = 'package.json';
    return fromPkg;
  }
  return defaultOf(field);
}

function resolveService(c: Ctx): string {
  return identity(c, 'service', ['TRACEWELL_SERVICE', 'DD_SERVICE', 'OTEL_SERVICE_NAME'], () => c.resource()['service.name'], () => c.pkg().name);
}

function resolveEnv(c: Ctx): string {
  const resource = (): string | undefined => c.resource()['deployment.environment.name'] ?? c.resource()['deployment.environment'];
  return identity(c, 'env', ['TRACEWELL_ENV', 'DD_ENV'], resource, () => undefined);
}

function resolveVersion(c: Ctx): string {
  return identity(c, 'version', ['TRACEWELL_VERSION', 'DD_VERSION'], () => c.resource()['service.version'], () => c.pkg().version);
}

/** Merged, lowest precedence first: OTEL_RESOURCE_ATTRIBUTES (its other keys), DD_TAGS, TRACEWELL_TAGS, the option. */
function resolveTags(c: Ctx): Record<string, string> {
  const tags: Record<string, string> = {};
  const from: string[] = [];
  const resource = Object.entries(c.resource()).filter(([k]) => !RESOURCE_KEYS.includes(k));
  if (resource.length > 0) from.push('OTEL_RESOURCE_ATTRIBUTES');
  for (const [k, v] of resource) tags[k] = v;
  for (const name of ['DD_TAGS', 'TRACEWELL_TAGS']) {
    const hit = c.raw([name]);
    if (!hit) continue;
    Object.assign(tags, parseDdTags(hit[1]));
    from.push(name);
  }
  if (c.options.tags !== undefined) {
    Object.assign(tags, c.options.tags);
    from.push('option');
  }
  // service/env/version are fields of their own, never duplicated as tags.
  delete tags.service;
  delete tags.env;
  delete tags.version;
  if (from.length > 0) c.sources.tags = from.reverse().join(', ');
  return tags;
}

/** The option as given; else the list variables, plus each integration whose `DD_TRACE_<NAME>_ENABLED` is false. */
function resolveDisabledInstrumentations(c: Ctx): readonly InstrumentationName[] {
  const picked = c.pick('disabledInstrumentations', ['TRACEWELL_DISABLED_INSTRUMENTATIONS', 'DD_TRACE_DISABLED_PLUGINS']);
  // Given in code, the option wins over every variable.
  if (c.options.disabledInstrumentations !== undefined && picked !== undefined) return picked;
  const out = new Set<InstrumentationName>(picked ?? []);
  const from: string[] = [];
  for (const name of INSTRUMENTATIONS) {
    const variable = enabledVariable(name);
    if (c.variable(variable, bool(), 'true', 'disabledInstrumentations') !== false) continue;
    out.add(name);
    from.push(variable);
  }
  if (from.length > 0) c.sources.disabledInstrumentations = [...(picked !== undefined ? [c.sources.disabledInstrumentations] : []), ...from].join(', ');
  return [...out];
}

function resolveEnabled(c: Ctx): boolean {
  const v = c.pick('enabled', ['TRACEWELL_ENABLED', 'DD_TRACE_ENABLED']);
  if (v !== undefined) return v;
  if (c.variable('OTEL_SDK_DISABLED', bool(), 'false', 'enabled') === true) {
    c.sources.enabled = 'OTEL_SDK_DISABLED';
    return false;
  }
  return true;
}

function resolveAgentUrl(c: Ctx): string {
  const v = c.pick('agentUrl', ['TRACEWELL_AGENT_URL', 'DD_TRACE_AGENT_URL']);
  if (v !== undefined) return v;
  const host = c.raw(['DD_AGENT_HOST']);
  const agentPort = c.variable('DD_TRACE_AGENT_PORT', port(), '8126');
  let hostName = 'localhost';
  if (host) {
    if (/^[A-Za-z0-9.\-:[\]]+$/.test(host[1])) hostName = host[1].includes(':') && !host[1].startsWith('[') ? `[${host[1]}]` : host[1];
    else c.bad('DD_AGENT_HOST', host[1], 'a host name or IP address', 'localhost');
  }
  if (host || agentPort !== undefined) c.sources.agentUrl = 'DD_AGENT_HOST/DD_TRACE_AGENT_PORT';
  return `http://${hostName}:${agentPort ?? 8126}`;
}

function resolveSampleRate(c: Ctx): number | undefined {
  const v = c.pick('sampleRate', ['TRACEWELL_SAMPLE_RATE', 'DD_TRACE_SAMPLE_RATE']);
  if (v !== undefined) return v;
  const otel = otelSamplerRate(c);
  if (otel !== undefined) c.sources.sampleRate = 'OTEL_TRACES_SAMPLER';
  return otel;
}

/** OTEL_TRACES_SAMPLER(_ARG) as a rate; `undefined` = not set or not accepted. */
function otelSamplerRate(c: Ctx): number | undefined {
  const sampler = c.raw(['OTEL_TRACES_SAMPLER']);
  if (!sampler) return undefined;
  switch (sampler[1].toLowerCase()) {
    case 'always_on':
    case 'parentbased_always_on':
      return 1;
    case 'always_off':
    case 'parentbased_always_off':
      return 0;
    case 'traceidratio':
    case 'parentbased_traceidratio':
      return c.variable('OTEL_TRACES_SAMPLER_ARG', rate(), '1', 'sampleRate') ?? 1;
    default:
      c.bad('OTEL_TRACES_SAMPLER', sampler[1], 'always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio', 'agent-controlled sampling');
      return undefined;
  }
}

/** Named outright wins; else an OTLP endpoint given and no agent named means OTLP (an agent wins when both are named). */
function resolveExporter(c: Ctx): ExporterName {
  const v = c.pick('exporter', ['TRACEWELL_EXPORTER', 'OTEL_TRACES_EXPORTER']);
  if (v !== undefined) return v;
  const otlpNamedBy = c.options.otlpEndpoint !== undefined ? 'otlpEndpoint option' : c.raw(['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'])?.[0];
  if (otlpNamedBy !== undefined && c.sources.agentUrl === 'default') {
    c.sources.exporter = otlpNamedBy;
    return 'otlp';
  }
  return 'datadog';
}

function resolveOtlpEndpoint(c: Ctx): string {
  const v = c.pick('otlpEndpoint', ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
  if (v !== undefined) return v;
  const base = c.variable('OTEL_EXPORTER_OTLP_ENDPOINT', HTTP_URL, OTLP_DEFAULT, 'otlpEndpoint');
  if (base === undefined) return OTLP_DEFAULT;
  c.sources.otlpEndpoint = 'OTEL_EXPORTER_OTLP_ENDPOINT';
  return base.replace(/\/+$/, '') + '/v1/traces';
}

/** The option whole; else both variables merged, the TRACES one winning per key. */
function resolveOtlpHeaders(c: Ctx): Record<string, string> {
  if (c.options.otlpHeaders !== undefined) {
    c.sources.otlpHeaders = 'option';
    return { ...c.options.otlpHeaders };
  }
  const headers: Record<string, string> = {};
  const from: string[] = [];
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    const parsed = c.variable(name, HEADERS, 'no headers from it');
    if (parsed === undefined) continue;
    Object.assign(headers, parsed);
    from.push(name);
  }
  if (from.length > 0) c.sources.otlpHeaders = from.reverse().join(', ');
  return headers;
}

function resolveBreakerProbeMax(c: Ctx): number {
  return Math.max(c.get('breakerProbeMs'), c.pick('breakerProbeMaxMs', OPTIONS.breakerProbeMaxMs.env) ?? defaultOf('breakerProbeMaxMs'));
}

function resolveDlqDir(c: Ctx): string {
  const v = c.pick('dlqDir', ['TRACEWELL_DLQ_DIR']);
  if (v !== undefined) return v;
  c.sources.dlqDir = 'default';
  return defaultDlqDir(c.raw(['XDG_STATE_HOME'])?.[1], c.raw(['HOME'])?.[1] ?? homedir());
}

/**
 * The default root of dead-letter folders, per user by construction where it can be: the XDG
 * state folder (`$XDG_STATE_HOME`, else `~/.local/state`) when the home folder is this user's
 * own and writable and nothing on the way to the state folder is another user's or writable by
 * others; else a folder named after the uid in the temp folder (a container whose home is
 * read-only or someone else's). The temp folder is shared by every user: the dead-letter layer
 * checks what it finds there (src/delivery/dead-letter/private-fs.ts).
 */
function defaultDlqDir(xdgStateHome: string | undefined, home: string): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (home !== '' && isAbsolute(home) && ownWritableFolder(home, uid)) {
    const state = xdgStateHome !== undefined && isAbsolute(xdgStateHome) ? xdgStateHome : join(home, '.local', 'state');
    if (stateFolderUsable(state, uid)) return join(state, 'tracewell', 'dlq');
  }
  return join(tmpdir(), `tracewell-${uid < 0 ? 'user' : uid}`, 'dlq');
}

function ownWritableFolder(path: string, uid: number): boolean {
  try {
    const st = lstatSync(path);
    if (!st.isDirectory() || (uid >= 0 && st.uid !== uid)) return false;
    accessSync(path, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first of the state folder and the folders above it that exists: ours, not writable by others, writable by us (what is missing is made later, 0700). */
function stateFolderUsable(state: string, uid: number): boolean {
  for (let at = state; dirname(at) !== at; at = dirname(at)) {
    let st;
    try {
      st = lstatSync(at);
    } catch {
      continue;
    }
    if (!st.isDirectory() || (uid >= 0 && st.uid !== uid) || (st.mode & 0o022) !== 0) return false;
    try {
      accessSync(at, fsConstants.W_OK);
      return true;
    } catch {
      return false;
    }
  }
  return false;
}

function resolveDogstatsdUrl(c: Ctx): string {
  const v = c.pick('dogstatsdUrl', ['TRACEWELL_DOGSTATSD_URL']);
  if (v !== undefined) return v;
  const host = c.raw(['DD_DOGSTATSD_HOSTNAME', 'DD_DOGSTATSD_HOST']);
  const statsdPort = c.variable('DD_DOGSTATSD_PORT', port(), '8125');
  let h = host?.[1];
  if (h === undefined) {
    try {
      const u = new URL(c.get('agentUrl'));
      h = u.protocol === 'unix:' ? 'localhost' : u.hostname;
    } catch {
      h = 'localhost';
    }
  }
  if (host || statsdPort !== undefined) c.sources.dogstatsdUrl = 'DD_DOGSTATSD_HOSTNAME/DD_DOGSTATSD_PORT';
  return `udp://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${statsdPort ?? 8125}`;
}

function resolveProfilingMode(c: Ctx): ProfilingMode {
  const v = c.pick('profilingMode', ['TRACEWELL_PROFILING_MODE']);
  if (v !== undefined) return v;
  if (c.variable('DD_PROFILING_CODEHOTSPOTS_ENABLED', bool(), 'false') === true) {
    c.sources.profilingMode = 'DD_PROFILING_CODEHOTSPOTS_ENABLED';
    return 'linked';
  }
  return 'lines';
}


/** Names from the option and both variables; `-name` (or `!name`) in a variable goes to `redactExclude`. */
function redactVariables(c: Ctx, exclude: boolean, from: string[]): string[] {
  const out: string[] = [];
  for (const name of ['TRACEWELL_REDACT', 'DD_DYNAMIC_INSTRUMENTATION_REDACTED_IDENTIFIERS']) {
    const hit = c.raw([name]);
    if (!hit) continue;
    let used = false;
    for (const part of hit[1].split(',')) {
      const n = part.trim();
      const negated = n.startsWith('-') || n.startsWith('!');
      if (negated && exclude && n.slice(1).trim() !== '') out.push(n.slice(1).trim());
      else if (!negated && !exclude && n !== '') out.push(n);
      else continue;
      used = true;
    }
    if (used) from.push(name);
  }
  return out;
}

function resolveRedact(c: Ctx): string[] {
  const from: string[] = c.options.redact !== undefined ? ['option'] : [];
  const out = [...(c.options.redact ?? []), ...redactVariables(c, false, from)];
  if (from.length > 0) c.sources.redact = from.join(', ');
  return out;
}

function resolveRedactExclude(c: Ctx): string[] {
  const from: string[] = c.options.redactExclude !== undefined ? ['option'] : [];
  const out = [...(c.options.redactExclude ?? []), ...redactVariables(c, true, from)];
  for (const name of ['TRACEWELL_REDACT_EXCLUDE', 'DD_DYNAMIC_INSTRUMENTATION_REDACTION_EXCLUDED_IDENTIFIERS']) {
    const hit = c.raw([name]);
    if (!hit) continue;
    for (const part of hit[1].split(',')) if (part.trim() !== '') out.push(part.trim());
    from.push(name);
  }
  if (from.length > 0) c.sources.redactExclude = from.join(', ');
  return out;
}

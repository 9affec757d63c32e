/**
 * Resolves options + environment into one frozen ResolvedConfig. This is the only module
 * that reads `process.env`. A value that is not accepted is reported once, naming the
 * variable, the value, what is accepted and the default used; start-up carries on.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { logger, LOG_LEVELS, type LogLevel } from '../internal/logger';
import { Codes } from '../internal/errors';
import type { ExporterName, InstrumentationName, ProfilingMode, PropagationStyle, ResolvedConfig, TraceProtocol, TracewellOptions } from './options';

type Env = Record<string, string | undefined>;

export interface ConfigProblem {
  variable: string;
  value: string;
  accepted: string;
  defaultUsed: string;
}

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
const INSTRUMENTATIONS: InstrumentationName[] = ['http', 'fastify', 'express', 'fetch', 'grpc', 'pino', 'winston'];
const DEFAULT_PROPAGATION: PropagationStyle[] = ['datadog', 'tracecontext', 'baggage'];

class Reader {
  readonly problems: ConfigProblem[] = [];
  readonly sources: Record<string, string> = {};
  /** The field each problem left to a fallback: when a later variable set it, the message says so. */
  readonly fieldOf = new Map<ConfigProblem, string>();
  constructor(private readonly env: Env) {}

  /** The first variable of `names` that is set and non-empty. */
  raw(names: string[]): [string, string] | undefined {
    for (const name of names) {
      const v = this.env[name];
      if (v !== undefined && v.trim() !== '') return [name, v.trim()];
    }
    return undefined;
  }

  bad(variable: string, value: string, accepted: string, defaultUsed: string, field?: string): void {
    const problem = { variable, value, accepted, defaultUsed };
    this.problems.push(problem);
    if (field !== undefined) this.fieldOf.set(problem, field);
  }

  pick<T>(field: string, option: T | undefined, names: string[], parse: (v: string) => T | undefined, accepted: string, fallback: T, fallbackText: string): T {
    if (option !== undefined) {
      this.sources[field] = 'option';
      return option;
    }
    for (const name of names) {
      const v = this.env[name];
      if (v === undefined || v.trim() === '') continue;
      const parsed = parse(v.trim());
      if (parsed === undefined) {
        this.bad(name, v, accepted, fallbackText, field);
        continue;
      }
      this.sources[field] = name;
      return parsed;
    }
    this.sources[field] = 'default';
    return fallback;
  }
}

export function parseBool(v: string): boolean | undefined {
  const s = v.toLowerCase();
  if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
  if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
  return undefined;
}

function parseIntIn(min: number, max: number) {
  return (v: string): number | undefined => {
    if (!/^\d+$/.test(v)) return undefined;
    const n = Number(v);
    return n >= min && n <= max ? n : undefined;
  };
}

function parseRate(v: string): number | undefined {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v)) return undefined;
  const n = Number(v);
  return n >= 0 && n <= 1 ? n : undefined;
}

/**
 * `k:v,k2:v2` or `k:v k2:v2` (DD_TAGS); a bare key gets an empty value. With a comma anywhere
 * the list is comma-separated and values may hold spaces (`owner:Jane Doe,team:core`), as Datadog reads it.
 */
export function parseDdTags(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(v.includes(',') ? ',' : /\s+/)) {
    if (!part) continue;
    const i = part.indexOf(':');
    const key = (i < 0 ? part : part.slice(0, i)).trim();
    if (key) out[key] = i < 0 ? '' : part.slice(i + 1).trim();
  }
  return out;
}

/** `k=v,k2=v2` with percent-encoding (OTEL_RESOURCE_ATTRIBUTES). */
export function parseOtelResource(v: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of v.split(',')) {
    if (!part.trim()) continue;
    const i = part.indexOf('=');
    if (i <= 0) return undefined;
    try {
      out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      return undefined;
    }
  }
  return out;
}

function parseStyles(v: string): PropagationStyle[] | undefined {
  const out: PropagationStyle[] = [];
  for (const part of v.split(',')) {
    const name = part.trim().toLowerCase();
    if (!name) continue;
    const style = PROPAGATION_NAMES[name];
    if (style === undefined) return undefined;
    if (!out.includes(style)) out.push(style);
  }
  return out.includes('none') ? [] : out;
}

function parseInstrumentations(v: string): InstrumentationName[] | undefined {
  const out: InstrumentationName[] = [];
  for (const part of v.split(',')) {
    const name = part.trim().toLowerCase();
    if (!name) continue;
    if (!INSTRUMENTATIONS.includes(name as InstrumentationName)) return undefined;
    out.push(name as InstrumentationName);
  }
  return out;
}

/** `2,4,12-15` -> [2, 4, 12, 13, 14, 15]; codes 0..16. */
function parseStatusList(v: string): number[] | undefined {
  const out = new Set<number>();
  for (const part of v.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const m = /^(\d{1,2})(?:\s*-\s*(\d{1,2}))?$/.exec(p);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > 16 || to > 16 || to < from) return undefined;
    for (let i = from; i <= to; i++) out.add(i);
  }
  return [...out];
}

function parseUrl(v: string): string | undefined {
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'unix:') return undefined;
    return v.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

function parseExporter(v: string): ExporterName | undefined {
  const s = v.toLowerCase();
  return s === 'datadog' || s === 'otlp' ? s : undefined;
}

function parseHttpUrl(v: string): string | undefined {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? v : undefined;
  } catch {
    return undefined;
  }
}

function parseUdpUrl(v: string): string | undefined {
  try {
    const u = new URL(v);
    return u.protocol === 'udp:' && u.hostname !== '' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The default root of dead-letter folders: per user under the OS temp dir. */
function defaultDlqDir(): string {
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return join(tmpdir(), `tracewell-${uid}`, 'dlq');
}

/** The app's own package.json: nearest to the main script, else the working directory. */
function appPackage(): { name?: string; version?: string } {
  const starts: string[] = [];
  if (process.argv[1]) starts.push(dirname(process.argv[1]));
  starts.push(process.cwd());
  for (const start of starts) {
    let dir = start;
    for (let i = 0; i < 20; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        return {
          name: typeof pkg.name === 'string' ? pkg.name : undefined,
          version: typeof pkg.version === 'string' ? pkg.version : undefined,
        };
      } catch {
        /* keep walking up */
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return {};
}

/** OTEL_TRACES_SAMPLER(_ARG) as a rate; `undefined` = not set or parent-based default. */
function otelSamplerRate(r: Reader): number | undefined {
  const sampler = r.raw(['OTEL_TRACES_SAMPLER']);
  if (!sampler) return undefined;
  const name = sampler[1].toLowerCase();
  const accepted = 'always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio';
  switch (name) {
    case 'always_on':
    case 'parentbased_always_on':
      return 1;
    case 'always_off':
    case 'parentbased_always_off':
      return 0;
    case 'traceidratio':
    case 'parentbased_traceidratio': {
      const arg = r.raw(['OTEL_TRACES_SAMPLER_ARG']);
      if (!arg) return 1;
      const rate = parseRate(arg[1]);
      if (rate === undefined) {
        r.bad('OTEL_TRACES_SAMPLER_ARG', arg[1], 'a number from 0 to 1', '1', 'sampleRate');
        return 1;
      }
      return rate;
    }
    default:
      r.bad('OTEL_TRACES_SAMPLER', sampler[1], accepted, 'agent-controlled sampling');
      return undefined;
  }
}

export function resolveConfig(options: TracewellOptions = {}, env: Env = process.env): { config: ResolvedConfig; problems: ConfigProblem[] } {
  const r = new Reader(env);
  const pkg = appPackage();

  // OTEL_RESOURCE_ATTRIBUTES: service.name, service.version, deployment.environment(.name), the rest as tags.
  let resource: Record<string, string> = {};
  const rawResource = r.raw(['OTEL_RESOURCE_ATTRIBUTES']);
  if (rawResource) {
    const parsed = parseOtelResource(rawResource[1]);
    if (parsed) resource = parsed;
    else r.bad('OTEL_RESOURCE_ATTRIBUTES', rawResource[1], 'comma-separated key=value pairs', 'no resource attributes');
  }
  const resourceEnv = resource['deployment.environment.name'] ?? resource['deployment.environment'];

  const fromEnvOr = (names: string[], extra: string | undefined): [string, string] | undefined => {
    const hit = r.raw(names);
    if (hit) return hit;
    return extra !== undefined && extra !== '' ? ['OTEL_RESOURCE_ATTRIBUTES', extra] : undefined;
  };

  const pickString = (field: string, option: string | undefined, names: string[], extra: string | undefined, fallback: string, fallbackSource: string): string => {
    if (option !== undefined && option !== '') {
      r.sources[field] = 'option';
      return option;
    }
    const hit = fromEnvOr(names, extra);
    if (hit) {
      r.sources[field] = hit[0];
      return hit[1];
    }
    r.sources[field] = fallbackSource;
    return fallback;
  };

  const service = pickString('service', options.service, ['TRACEWELL_SERVICE', 'DD_SERVICE', 'OTEL_SERVICE_NAME'], resource['service.name'], pkg.name ?? 'node', pkg.name ? 'package.json' : 'default');
  const envName = pickString('env', options.env, ['TRACEWELL_ENV', 'DD_ENV'], resourceEnv, '', 'default');
  const version = pickString('version', options.version, ['TRACEWELL_VERSION', 'DD_VERSION'], resource['service.version'], pkg.version ?? '', pkg.version ? 'package.json' : 'default');

  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(resource)) {
    if (k !== 'service.name' && k !== 'service.version' && k !== 'deployment.environment' && k !== 'deployment.environment.name') tags[k] = v;
  }
  const ddTags = r.raw(['DD_TAGS']);
  if (ddTags) Object.assign(tags, parseDdTags(ddTags[1]));
  const twTags = r.raw(['TRACEWELL_TAGS']);
  if (twTags) Object.assign(tags, parseDdTags(twTags[1]));
  if (options.tags) Object.assign(tags, options.tags);
  // service/env/version are fields of their own, never duplicated as tags.
  delete tags.service;
  delete tags.env;
  delete tags.version;

  const boolAccepted = 'true or false';
  let enabled = r.pick('enabled', options.enabled, ['TRACEWELL_ENABLED', 'DD_TRACE_ENABLED'], parseBool, boolAccepted, true, 'true');
  if (r.sources.enabled === 'default') {
    const sdkDisabled = r.pick('enabled', undefined, ['OTEL_SDK_DISABLED'], parseBool, boolAccepted, false, 'false');
    if (sdkDisabled) {
      enabled = false;
      r.sources.enabled = 'OTEL_SDK_DISABLED';
    }
  }

  let agentUrl = r.pick('agentUrl', options.agentUrl, ['TRACEWELL_AGENT_URL', 'DD_TRACE_AGENT_URL'], parseUrl, 'an http://, https:// or unix:// URL', '', 'http://localhost:8126');
  if (!agentUrl) {
    const host = r.raw(['DD_AGENT_HOST']);
    const port = r.pick('agentPort', undefined, ['DD_TRACE_AGENT_PORT'], parseIntIn(1, 65535), 'a port number from 1 to 65535', 8126, '8126');
    let hostName = 'localhost';
    if (host) {
      if (/^[A-Za-z0-9.\-:[\]]+$/.test(host[1])) hostName = host[1].includes(':') && !host[1].startsWith('[') ? `[${host[1]}]` : host[1];
      else r.bad('DD_AGENT_HOST', host[1], 'a host name or IP address', 'localhost');
    }
    agentUrl = `http://${hostName}:${port}`;
    r.sources.agentUrl = host || r.sources.agentPort !== 'default' ? 'DD_AGENT_HOST/DD_TRACE_AGENT_PORT' : 'default';
  }

  let sampleRate = r.pick<number | undefined>('sampleRate', options.sampleRate, ['TRACEWELL_SAMPLE_RATE', 'DD_TRACE_SAMPLE_RATE'], parseRate, 'a number from 0 to 1', undefined, 'agent-controlled sampling');
  if (sampleRate === undefined && options.sampleRate === undefined) {
    const otel = otelSamplerRate(r);
    if (otel !== undefined) {
      sampleRate = otel;
      r.sources.sampleRate = 'OTEL_TRACES_SAMPLER';
    }
  }
  if (sampleRate !== undefined && !(sampleRate >= 0 && sampleRate <= 1)) {
    r.bad('sampleRate', String(sampleRate), 'a number from 0 to 1', 'agent-controlled sampling');
    sampleRate = undefined;
    r.sources.sampleRate = 'default';
  }
  const rateLimit = r.pick('rateLimit', options.rateLimit, ['TRACEWELL_RATE_LIMIT', 'DD_TRACE_RATE_LIMIT'], parseIntIn(0, 1e9), 'a whole number of traces per second', 100, '100');

  const stylesAccepted = 'a comma list of datadog, tracecontext, b3, b3multi, baggage, none';
  const both = r.raw(['DD_TRACE_PROPAGATION_STYLE']);
  const otelProp = r.raw(['OTEL_PROPAGATORS']);
  const pickStyles = (field: 'propagationExtract' | 'propagationInject', specific: string): PropagationStyle[] => {
    if (options[field] !== undefined) {
      r.sources[field] = 'option';
      return [...(options[field] as PropagationStyle[])].filter((s) => s !== 'none');
    }
    for (const hit of [r.raw([specific]), both, otelProp]) {
      if (!hit) continue;
      const styles = parseStyles(hit[1]);
      if (styles === undefined) {
        r.bad(hit[0], hit[1], stylesAccepted, DEFAULT_PROPAGATION.join(','), field);
        continue;
      }
      r.sources[field] = hit[0];
      return styles;
    }
    r.sources[field] = 'default';
    return DEFAULT_PROPAGATION;
  };
  const propagationExtract = pickStyles('propagationExtract', 'DD_TRACE_PROPAGATION_STYLE_EXTRACT');
  const propagationInject = pickStyles('propagationInject', 'DD_TRACE_PROPAGATION_STYLE_INJECT');
  const logInjection = r.pick('logInjection', options.logInjection, ['TRACEWELL_LOGS_INJECTION', 'DD_LOGS_INJECTION'], parseBool, boolAccepted, true, 'true');
  const logLevel = r.pick<LogLevel>('logLevel', options.logLevel, ['TRACEWELL_LOG_LEVEL'], (v) => (LOG_LEVELS.includes(v.toLowerCase() as LogLevel) ? (v.toLowerCase() as LogLevel) : undefined), LOG_LEVELS.join(', '), 'warn', 'warn');
  const flushIntervalMs = r.pick('flushIntervalMs', options.flushIntervalMs, ['TRACEWELL_FLUSH_INTERVAL_MS'], parseIntIn(10, 600_000), 'a whole number of milliseconds from 10 to 600000', 1000, '1000');
  const maxPendingSpans = r.pick('maxPendingSpans', options.maxPendingSpans, ['TRACEWELL_MAX_PENDING_SPANS'], parseIntIn(1, 10_000_000), 'a whole number from 1 to 10000000', 50_000, '50000');
  const maxPayloadBytes = r.pick('maxPayloadBytes', options.maxPayloadBytes, ['TRACEWELL_MAX_PAYLOAD_BYTES'], parseIntIn(65_536, 25 * 1024 * 1024 - 1), 'a whole number of bytes from 65536 to 26214399', 8 * 1024 * 1024, '8388608');
  const traceProtocol = r.pick<TraceProtocol>('traceProtocol', options.traceProtocol, ['TRACEWELL_TRACE_PROTOCOL', 'DD_TRACE_AGENT_PROTOCOL_VERSION'], (v) => (['auto', '0.4', '0.5'].includes(v.trim()) ? (v.trim() as TraceProtocol) : undefined), 'auto, 0.4 or 0.5', 'auto', 'auto');
  const disabledInstrumentations = r.pick('disabledInstrumentations', options.disabledInstrumentations, ['TRACEWELL_DISABLED_INSTRUMENTATIONS', 'DD_TRACE_DISABLED_PLUGINS'], parseInstrumentations, `a comma list of ${INSTRUMENTATIONS.join(', ')}`, [], 'none');
  const httpUrlQuery = r.pick('httpUrlQuery', options.httpUrlQuery, ['TRACEWELL_HTTP_URL_QUERY'], parseBool, boolAccepted, false, 'false');

  const statusAccepted = 'a comma list of gRPC status codes 0-16 or ranges like 12-15';
  const grpcServerErrorStatuses = r.pick('grpcServerErrorStatuses', options.grpcServerErrorStatuses, ['TRACEWELL_GRPC_SERVER_ERROR_STATUSES', 'DD_GRPC_SERVER_ERROR_STATUSES'], parseStatusList, statusAccepted, [2, 4, 12, 13, 14, 15], '2,4,12-15');
  const grpcClientErrorStatuses = r.pick('grpcClientErrorStatuses', options.grpcClientErrorStatuses, ['TRACEWELL_GRPC_CLIENT_ERROR_STATUSES', 'DD_GRPC_CLIENT_ERROR_STATUSES'], parseStatusList, statusAccepted, Array.from({ length: 16 }, (_, i) => i + 1), '1-16');

  // Export: where to, retries, circuit breaker, dead-letter file, shutdown.
  let exporter = r.pick<ExporterName>('exporter', options.exporter, ['TRACEWELL_EXPORTER', 'OTEL_TRACES_EXPORTER'], parseExporter, 'datadog or otlp', 'datadog', 'datadog');
  // Not chosen by name: an OTLP endpoint given and no agent named means OTLP (an agent wins when both are named).
  if (r.sources.exporter === 'default') {
    const otlpNamedBy = options.otlpEndpoint !== undefined ? 'otlpEndpoint option' : r.raw(['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'])?.[0];
    const agentNamed = options.agentUrl !== undefined || r.sources.agentUrl !== 'default';
    if (otlpNamedBy !== undefined && !agentNamed) {
      exporter = 'otlp';
      r.sources.exporter = otlpNamedBy;
    }
  }
  let otlpEndpoint = r.pick('otlpEndpoint', options.otlpEndpoint, ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'], parseHttpUrl, 'an http:// or https:// URL', '', 'http://localhost:4318/v1/traces');
  if (!otlpEndpoint) {
    const base = r.pick('otlpEndpoint', undefined, ['OTEL_EXPORTER_OTLP_ENDPOINT'], parseHttpUrl, 'an http:// or https:// URL', '', 'http://localhost:4318');
    otlpEndpoint = base ? base.replace(/\/+$/, '') + '/v1/traces' : 'http://localhost:4318/v1/traces';
  }
  let otlpHeaders: Record<string, string> = {};
  if (options.otlpHeaders !== undefined) {
    otlpHeaders = { ...options.otlpHeaders };
    r.sources.otlpHeaders = 'option';
  } else {
    r.sources.otlpHeaders = 'default';
    for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
      const hit = r.raw([name]);
      if (!hit) continue;
      const parsed = parseOtelResource(hit[1]);
      if (parsed === undefined) r.bad(name, hit[1], 'comma-separated key=value pairs', 'no headers from it');
      else {
        Object.assign(otlpHeaders, parsed);
        r.sources.otlpHeaders = name;
      }
    }
  }
  const otlpTimeoutMs = r.pick('otlpTimeoutMs', options.otlpTimeoutMs, ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'], parseIntIn(1, 600_000), 'a whole number of milliseconds from 1 to 600000', 10_000, '10000');
  const msAccepted = (min: number, max: number): string => `a whole number of milliseconds from ${min} to ${max}`;
  const exportTimeoutMs = r.pick('exportTimeoutMs', options.exportTimeoutMs, ['TRACEWELL_EXPORT_TIMEOUT_MS'], parseIntIn(1, 600_000), msAccepted(1, 600000), 10_000, '10000');
  const exportRetries = r.pick('exportRetries', options.exportRetries, ['TRACEWELL_EXPORT_RETRIES'], parseIntIn(0, 100), 'a whole number from 0 to 100', 3, '3');
  const exportRetryDeadlineMs = r.pick('exportRetryDeadlineMs', options.exportRetryDeadlineMs, ['TRACEWELL_EXPORT_RETRY_DEADLINE_MS'], parseIntIn(0, 3_600_000), msAccepted(0, 3600000), 30_000, '30000');
  const exportBackoffMs = r.pick('exportBackoffMs', options.exportBackoffMs, ['TRACEWELL_EXPORT_BACKOFF_MS'], parseIntIn(1, 600_000), msAccepted(1, 600000), 500, '500');
  const breakerFailures = r.pick('breakerFailures', options.breakerFailures, ['TRACEWELL_BREAKER_FAILURES'], parseIntIn(1, 1000), 'a whole number from 1 to 1000', 3, '3');
  const breakerProbeMs = r.pick('breakerProbeMs', options.breakerProbeMs, ['TRACEWELL_BREAKER_PROBE_MS'], parseIntIn(1, 3_600_000), msAccepted(1, 3600000), 1000, '1000');
  const breakerProbeMaxMs = Math.max(breakerProbeMs, r.pick('breakerProbeMaxMs', options.breakerProbeMaxMs, ['TRACEWELL_BREAKER_PROBE_MAX_MS'], parseIntIn(1, 3_600_000), msAccepted(1, 3600000), 60_000, '60000'));
  const dlqEnabled = r.pick('dlqEnabled', options.dlqEnabled, ['TRACEWELL_DLQ_ENABLED'], parseBool, boolAccepted, true, 'true');
  let dlqDir = r.pick('dlqDir', options.dlqDir, ['TRACEWELL_DLQ_DIR'], (v) => v, 'a folder path', '', defaultDlqDir());
  dlqDir = dlqDir === '' ? defaultDlqDir() : isAbsolute(dlqDir) ? dlqDir : resolvePath(dlqDir);
  const dlqMaxBytes = r.pick('dlqMaxBytes', options.dlqMaxBytes, ['TRACEWELL_DLQ_MAX_BYTES'], parseIntIn(4096, Number.MAX_SAFE_INTEGER), 'a whole number of bytes of at least 4096', 128 * 1024 * 1024, '134217728');
  const dlqReplayBytesPerSec = r.pick('dlqReplayBytesPerSec', options.dlqReplayBytesPerSec, ['TRACEWELL_DLQ_REPLAY_BYTES_PER_SEC'], parseIntIn(1024, Number.MAX_SAFE_INTEGER), 'a whole number of bytes of at least 1024', 4 * 1024 * 1024, '4194304');
  const shutdownTimeoutMs = r.pick('shutdownTimeoutMs', options.shutdownTimeoutMs, ['TRACEWELL_SHUTDOWN_TIMEOUT_MS'], parseIntIn(0, 600_000), msAccepted(0, 600000), 2000, '2000');
  const outageSummaryIntervalMs = r.pick('outageSummaryIntervalMs', options.outageSummaryIntervalMs, ['TRACEWELL_OUTAGE_SUMMARY_INTERVAL_MS'], parseIntIn(100, 86_400_000), msAccepted(100, 86400000), 60_000, '60000');
  const healthMetrics = r.pick('healthMetrics', options.healthMetrics, ['TRACEWELL_HEALTH_METRICS', 'DD_TRACE_HEALTH_METRICS_ENABLED'], parseBool, boolAccepted, false, 'false');
  let dogstatsdUrl = r.pick('dogstatsdUrl', options.dogstatsdUrl, ['TRACEWELL_DOGSTATSD_URL'], parseUdpUrl, 'a udp://host:port URL', '', 'the agent host, port 8125');
  if (!dogstatsdUrl) {
    const host = r.raw(['DD_DOGSTATSD_HOSTNAME', 'DD_DOGSTATSD_HOST']);
    const port = r.pick('dogstatsdPort', undefined, ['DD_DOGSTATSD_PORT'], parseIntIn(1, 65535), 'a port number from 1 to 65535', 8125, '8125');
    let h = host?.[1];
    if (h === undefined) {
      try {
        const u = new URL(agentUrl);
        h = u.protocol === 'unix:' ? 'localhost' : u.hostname;
      } catch {
        h = 'localhost';
      }
    }
    dogstatsdUrl = `udp://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
    r.sources.dogstatsdUrl = host || r.sources.dogstatsdPort !== 'default' ? 'DD_DOGSTATSD_HOSTNAME/DD_DOGSTATSD_PORT' : 'default';
  }

  // Profiling (src/profiler): DD_PROFILING_* names are honoured as users already set them.
  const profiling = r.pick('profiling', options.profiling, ['TRACEWELL_PROFILING_ENABLED', 'DD_PROFILING_ENABLED'], parseBool, boolAccepted, false, 'false');
  let profilingMode = r.pick<ProfilingMode>('profilingMode', options.profilingMode, ['TRACEWELL_PROFILING_MODE'], (v) => (['lines', 'linked', 'span-lines'].includes(v.toLowerCase()) ? (v.toLowerCase() as ProfilingMode) : undefined), 'lines, linked or span-lines', 'lines', 'lines');
  if (r.sources.profilingMode === 'default' && r.pick('profilingHotspots', undefined, ['DD_PROFILING_CODEHOTSPOTS_ENABLED'], parseBool, boolAccepted, false, 'false')) {
    profilingMode = 'linked';
    r.sources.profilingMode = 'DD_PROFILING_CODEHOTSPOTS_ENABLED';
  }
  const profilingUploadPeriodS = r.pick('profilingUploadPeriodS', options.profilingUploadPeriodS, ['TRACEWELL_PROFILING_UPLOAD_PERIOD', 'DD_PROFILING_UPLOAD_PERIOD'], parseIntIn(1, 3600), 'a whole number of seconds from 1 to 3600', 60, '60');
  const profilingIntervalMs = r.pick('profilingIntervalMs', options.profilingIntervalMs, ['TRACEWELL_PROFILING_INTERVAL_MS'], parseIntIn(1, 1000), msAccepted(1, 1000), 10, '10');
  const profilingV8BugWorkaround = r.pick('profilingV8BugWorkaround', options.profilingV8BugWorkaround, ['TRACEWELL_PROFILING_V8_BUG_WORKAROUND', 'DD_PROFILING_V8_PROFILER_BUG_WORKAROUND'], parseBool, boolAccepted, false, 'false');
  const profilingHeap = r.pick('profilingHeap', options.profilingHeap, ['TRACEWELL_PROFILING_HEAP', 'DD_PROFILING_HEAP_ENABLED'], parseBool, boolAccepted, true, 'true');
  const profilingUpload = r.pick('profilingUpload', options.profilingUpload, ['TRACEWELL_PROFILING_UPLOAD'], parseBool, boolAccepted, true, 'true');
  let profilingDir = r.pick('profilingDir', options.profilingDir, ['TRACEWELL_PROFILING_DIR'], (v) => v, 'a folder path', '', 'none');
  if (profilingDir !== '' && !isAbsolute(profilingDir)) profilingDir = resolvePath(profilingDir);
  const profilingMaxBytes = r.pick('profilingMaxBytes', options.profilingMaxBytes, ['TRACEWELL_PROFILING_MAX_BYTES'], parseIntIn(65_536, 100 * 1024 * 1024), 'a whole number of bytes from 65536 to 104857600', 10 * 1024 * 1024, '10485760');
  const profilingSourceMapDirs = r.pick('profilingSourceMapDirs', options.profilingSourceMapDirs, ['TRACEWELL_PROFILING_SOURCE_MAP_DIRS'], (v) => v.split(',').map((d) => d.trim()).filter((d) => d !== '').map((d) => (isAbsolute(d) ? d : resolvePath(d))), 'a comma list of folders', process.argv[1] ? [dirname(resolvePath(process.argv[1]))] : [process.cwd()], 'the folder of the main script');
  // Dynamic probes: definitions, the probe file, redaction.
  const probes = r.pick('probes', options.probes, ['TRACEWELL_PROBES'], (v) => v, 'probe JSON or the compact form', '', 'none');
  let probesFile = r.pick('probesFile', options.probesFile, ['TRACEWELL_PROBES_FILE'], (v) => v, 'a file path', '', 'none');
  if (probesFile !== '' && !isAbsolute(probesFile)) probesFile = resolvePath(probesFile);
  const redact: string[] = [...(options.redact ?? [])];
  const redactExclude: string[] = [...(options.redactExclude ?? [])];
  for (const name of ['TRACEWELL_REDACT', 'DD_DYNAMIC_INSTRUMENTATION_REDACTED_IDENTIFIERS']) {
    const hit = r.raw([name]);
    if (!hit) continue;
    for (const part of hit[1].split(',')) {
      const n = part.trim();
      if (n.startsWith('-') || n.startsWith('!')) redactExclude.push(n.slice(1).trim());
      else if (n !== '') redact.push(n);
    }
  }
  for (const name of ['TRACEWELL_REDACT_EXCLUDE', 'DD_DYNAMIC_INSTRUMENTATION_REDACTION_EXCLUDED_IDENTIFIERS']) {
    const hit = r.raw([name]);
    if (hit) for (const part of hit[1].split(',')) if (part.trim() !== '') redactExclude.push(part.trim());
  }
  const probeBudgetMs = r.pick('probeBudgetMs', options.probeBudgetMs, ['TRACEWELL_PROBE_BUDGET_MS'], parseIntIn(1, 10_000), 'a whole number of milliseconds from 1 to 10000', 10, '10');

  const config: ResolvedConfig = Object.freeze({
    service,
    env: envName,
    version,
    tags: Object.freeze(tags),
    enabled,
    agentUrl,
    sampleRate,
    rateLimit,
    propagationExtract: Object.freeze(propagationExtract),
    propagationInject: Object.freeze(propagationInject),
    logInjection,
    logLevel,
    flushIntervalMs,
    maxPendingSpans,
    maxPayloadBytes,
    traceProtocol,
    disabledInstrumentations: Object.freeze([...disabledInstrumentations]),
    httpUrlQuery,
    spanProcessors: Object.freeze([...(options.spanProcessors ?? [])]),
    grpcServerErrorStatuses: Object.freeze([...grpcServerErrorStatuses]),
    grpcClientErrorStatuses: Object.freeze([...grpcClientErrorStatuses]),
    exporter,
    otlpEndpoint,
    otlpHeaders: Object.freeze(otlpHeaders),
    otlpTimeoutMs,
    exportTimeoutMs,
    exportRetries,
    exportRetryDeadlineMs,
    exportBackoffMs,
    breakerFailures,
    breakerProbeMs,
    breakerProbeMaxMs,
    dlqEnabled,
    dlqDir,
    dlqMaxBytes,
    dlqReplayBytesPerSec,
    shutdownTimeoutMs,
    outageSummaryIntervalMs,
    healthMetrics,
    dogstatsdUrl,
    profiling,
    profilingMode,
    profilingUploadPeriodS,
    profilingIntervalMs,
    profilingHeap,
    profilingV8BugWorkaround,
    profilingUpload,
    profilingDir,
    profilingMaxBytes,
    profilingSourceMapDirs: Object.freeze([...profilingSourceMapDirs]),
    probes,
    probesFile,
    redact: Object.freeze(redact),
    redactExclude: Object.freeze(redactExclude),
    probeBudgetMs,
    sources: Object.freeze({ ...r.sources }),
  });
  // A bad value whose field a lower-precedence variable then set: say what is used instead of the default.
  for (const [problem, field] of r.fieldOf) {
    const source = r.sources[field];
    if (source === undefined || source === 'default' || source === 'option') continue;
    const used = (config as unknown as Record<string, unknown>)[field];
    if (used === undefined || used === null || (typeof used === 'object' && !Array.isArray(used))) continue;
    problem.defaultUsed = `${Array.isArray(used) ? used.join(',') || 'none' : String(used)} from ${source}`;
  }
  // A value read for two fields (DD_TRACE_PROPAGATION_STYLE, OTEL_PROPAGATORS) is reported once.
  const seen = new Set<string>();
  const problems = r.problems.filter((p) => {
    const k = p.variable + '\0' + p.value;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { config, problems };
}

/** Writes one warning per problem, and the missing-env warning. */
export function reportConfig(config: ResolvedConfig, problems: ConfigProblem[]): void {
  for (const p of problems) {
    logger.warn(`[${Codes.CONFIG_INVALID}] ${p.variable}=${JSON.stringify(p.value)} is not accepted (expected ${p.accepted}); using ${p.defaultUsed}`);
  }
  if (config.enabled && config.env === '') {
    logger.warn(`[${Codes.CONFIG_NO_ENV}] no environment set for service "${config.service}": set DD_ENV (or the env option, or deployment.environment.name in OTEL_RESOURCE_ATTRIBUTES) so its traces are not filed under env:none`);
  }
}

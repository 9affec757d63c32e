/**
 * What each stage reads of the resolved config: its slice. A stage can declare the slice it
 * takes (`constructor(config: ExportConfig)`) instead of the whole ResolvedConfig; the full
 * config is assignable to every slice, so callers pass it unchanged, and a stage that starts
 * reading a new field has to add it here, where it shows.
 *
 * Each list is what the stage's folder reads today (`config.<field>` in src/tracer,
 * src/exporter, src/profiler, src/dynamic); test/config/table.test.mjs fails when a folder reads
 * a field its slice lacks. Internal: not exported from src/index.ts.
 */
import type { ResolvedConfig } from './options';

/** What every stage stamps on what it sends: who is sending. */
const IDENTITY = ['service', 'env', 'version'] as const;

/** src/tracer: sampling, propagation, the OTel span processors, and the identity for their resource. */
const TRACER_FIELDS = [...IDENTITY, 'tags', 'sampleRate', 'rateLimit', 'samplingRules', 'spanSamplingRules', 'propagationExtract', 'propagationInject', 'spanProcessors'] as const;
export type TracerConfig = Pick<ResolvedConfig, (typeof TRACER_FIELDS)[number]>;

/** What every producer hands the delivery layer (src/delivery): the agent, retries, its circuit, the dead-letter folder. */
const DELIVERY = [
  'agentUrl',
  'exportTimeoutMs',
  'exportRetries',
  'exportRetryDeadlineMs',
  'exportBackoffMs',
  'breakerFailures',
  'breakerProbeMs',
  'breakerProbeMaxMs',
  'outageSummaryIntervalMs',
  'dlqEnabled',
  'dlqDir',
  'dlqMaxBytes',
  'dlqReplayBytesPerSec',
  'shutdownTimeoutMs',
] as const;
const DELIVERY_FIELDS = ['service', ...DELIVERY] as const;
export type DeliveryConfig = Pick<ResolvedConfig, (typeof DELIVERY_FIELDS)[number]>;

/** src/exporter: where traces go, batching, retries, the circuit breaker, the dead-letter file, shutdown, health metrics. */
const EXPORT_FIELDS = [
  ...IDENTITY,
  'tags',
  ...DELIVERY,
  'traceProtocol',
  'flushIntervalMs',
  'maxPendingSpans',
  'maxPayloadBytes',
  'otlpEndpoint',
  'otlpHeaders',
  'otlpTimeoutMs',
  'dogstatsdUrl',
  'runtimeMetrics',
] as const;
export type ExportConfig = Pick<ResolvedConfig, (typeof EXPORT_FIELDS)[number]>;


/** src/profiler: the profiling options, and what its uploads hand the delivery layer. */
const PROFILER_FIELDS = [
  ...IDENTITY,
  'tags',
  ...DELIVERY,
  'profilingMode',
  'profilingUploadPeriodS',
  'profilingIntervalMs',
  'profilingHeap',
  'profilingV8BugWorkaround',
  'profilingUpload',
  'profilingDir',
  'profilingMaxBytes',
  'profilingSourceMapDirs',
] as const;
export type ProfilerConfig = Pick<ResolvedConfig, (typeof PROFILER_FIELDS)[number]>;

/** src/dynamic: the probe definitions, redaction, the budget, and what their snapshots and metrics hand the delivery layer and DogStatsD. */
const PROBE_FIELDS = [
  ...IDENTITY,
  ...DELIVERY,
  'dogstatsdUrl',
  'flushIntervalMs',
  'probes',
  'probesFile',
  'redact',
  'redactExclude',
  'probeBudgetMs',
] as const;
export type ProbeConfig = Pick<ResolvedConfig, (typeof PROBE_FIELDS)[number]>;

/** Each stage's folder under src/ and its slice, for the test that keeps them in step. */
export const SLICES = { tracer: TRACER_FIELDS, exporter: EXPORT_FIELDS, profiler: PROFILER_FIELDS, dynamic: PROBE_FIELDS, delivery: DELIVERY_FIELDS } as const;

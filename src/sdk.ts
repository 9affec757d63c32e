/**
 * `init()`: resolve configuration, build tracer core and exporter, register the OTel globals,
 * turn the integrations on. Called by the `--import`/`--require` preload or from code.
 */
import type { Tracer } from '@opentelemetry/api';
import type { InstrumentationName, ResolvedConfig, TracewellOptions } from './config/options';
import { reportConfig, resolveConfig } from './config/resolve';
import { counters, snapshot, type TracewellStats } from './internal/counters';
import { containerId } from './internal/container';
import { Codes } from './internal/errors';
import { logger } from './internal/logger';
import type { createAgentExporter } from './exporter/agent-exporter';
import type { createOtlpExporter } from './exporter/otlp-exporter';
import type { TraceExporter } from './exporter/trace-exporter';
import { installExitHooks, type Flushable } from './exporter/exit-hooks';
import type { startHealthMetrics } from './exporter/health-metrics';
import type { startRuntimeMetrics } from './exporter/runtime-metrics';
import { TracerCore, type TraceSink } from './tracer/tracer';
import type { FinishedSpan } from './tracer/finished-span';
import { registerGlobals, unregisterGlobals } from './tracer/provider';
import { disableHttpServer, enableHttpServer } from './tracer/instrumentations/http-server';
import { disableHttpClient, enableHttpClient } from './tracer/instrumentations/http-client';
import { disableFastify, enableFastify } from './tracer/instrumentations/fastify';
import { disableExpress, enableExpress } from './tracer/instrumentations/express';
import { disableNestjs, enableNestjs } from './tracer/instrumentations/nestjs';
import { disableHono, enableHono } from './tracer/instrumentations/hono';
import { disableKoa, enableKoa } from './tracer/instrumentations/koa';
import { disableGraphql, enableGraphql } from './tracer/instrumentations/graphql';
import { disableGrpc, enableGrpc } from './tracer/instrumentations/grpc';
import { disableIoredis, enableIoredis } from './tracer/instrumentations/ioredis';
import { disableAmqplib, enableAmqplib } from './tracer/instrumentations/amqplib';
import { disableRedis, enableRedis } from './tracer/instrumentations/redis';
import { disableLogCorrelation, enableLogCorrelation } from './tracer/logs/correlation';
import { disableSql, enableSql } from './tracer/instrumentations/sql';
import { patchPg } from './tracer/instrumentations/pg';
import { patchMysql2 } from './tracer/instrumentations/mysql2';
import type { ContinuousProfiler } from './profiler/profiler';
import { startDynamicProbes } from './dynamic';
import { compileGlobList } from './tracer/glob';
import { compileHeaderTags } from './tracer/instrumentations/header-tags';
import { Redactor } from './internal/redact';

/** What `init()` returns. */
export interface TracewellHandle {
  /** The resolved configuration (frozen). */
  readonly config: ResolvedConfig;
  /** An OTel tracer on the same pipeline (the same as `trace.getTracer()` from @opentelemetry/api). */
  readonly tracer: Tracer;
  /** Sends every finished span now; resolves when the agent answered or the send failed. */
  flush(): Promise<void>;
  /** Flushes within `deadlineMs` (default `shutdownTimeoutMs`, 2000), writes what was not acknowledged to the dead-letter file, then stops tracing. Safe to call twice. */
  shutdown(deadlineMs?: number): Promise<void>;
  /** Counters: spans started, finished, sent, pending, retried, dead-lettered, replayed, dropped by reason. */
  stats(): TracewellStats;
}

let current: TracewellHandle | null = null;

export function init(options: TracewellOptions = {}): TracewellHandle {
  if (current !== null) {
    logger.warn(`[${Codes.ALREADY_INITIALIZED}] tracewell is already initialized; this init() call changes nothing`);
    return current;
  }
  const { config, problems } = resolveConfig(options);
  logger.setLevel(config.logLevel);
  reportConfig(config, problems);
  try {
    current = config.enabled ? start(config) : disabledHandle(config);
  } catch (err) {
    // Start-up must not take the app down with it: trace nothing, say why once.
    logger.error('tracewell could not start; the app runs untraced', err);
    current = disabledHandle(config);
  }
  return current;
}

function start(config: ResolvedConfig): TracewellHandle {
  const core = new TracerCore(config);
  const runtimeId = runtimeUuid();
  const exporter = new DeferredExporter(core, () =>
    config.exporter === 'otlp'
      ? loadOtlpExporter()({ config, info: { runtimeId } })
      : loadAgentExporter()({
          config,
          info: { runtimeId },
          containerId: containerId(),
          onRates: (rates) => core.sampler.updateAgentRates(rates),
        }),
  );
  core.setSink(exporter);
  const provider = registerGlobals(core);

  enableIntegrations(core, config);
  const probes = startDynamicProbes(config, runtimeId);

  let stopped = false;
  // The profiler (off by default) loads its native binding here, lazily; without it, tracing carries on.
  const profiler = config.profiling ? startProfiler(config, runtimeId) : null;
  // beforeExit, SIGTERM/SIGINT and exit: flush within the deadline, the rest to the dead-letter file.
  const exitHooks = installExitHooks(together([exporter, profiler, probes]), config.shutdownTimeoutMs);
  const health = config.healthMetrics ? (require('./exporter/health-metrics') as { startHealthMetrics: typeof startHealthMetrics }).startHealthMetrics(config) : null;
  // Loaded only when on: its perf_hooks timer and GC observer cost nothing when off.
  const runtime = config.runtimeMetrics ? (require('./exporter/runtime-metrics') as { startRuntimeMetrics: typeof startRuntimeMetrics }).startRuntimeMetrics(config, runtimeId) : null;

  logger.info(`tracing service "${config.service}" env "${config.env}" version "${config.version}" to ${config.exporter === 'otlp' ? config.otlpEndpoint : config.agentUrl}`);
  return {
    config,
    tracer: provider.tracer,
    flush: () => Promise.all([exporter.flush(), core.flushProcessors()]).then(() => undefined),
    async shutdown(deadlineMs = config.shutdownTimeoutMs) {
      if (stopped) return;
      stopped = true;
      exitHooks.remove();
      await Promise.all([exporter.shutdown(deadlineMs), core.shutdownProcessors(), profiler?.shutdown(deadlineMs), probes?.stop()]);
      health?.stop();
      runtime?.stop();
      disableIntegrations();
      unregisterGlobals();
    },
    stats: snapshot,
  };
}

/** One integration: what `init()` turns on (as `disabledInstrumentations` and the options say) and `shutdown()` turns off. */
interface Integration {
  readonly name: string;
  enable(core: TracerCore, config: ResolvedConfig): void;
  /** Safe when it was never enabled. */
  disable(): void;
}

const isOn = (config: ResolvedConfig, name: InstrumentationName): boolean => !config.disabledInstrumentations.includes(name);

/** `headerTags` for one protocol, with the redaction rules the probes use; null when none is configured. */
function headerTagsFor(config: ResolvedConfig, protocol: 'http' | 'grpc'): ReturnType<typeof compileHeaderTags> {
  if (Object.keys(config.headerTags).length === 0) return null;
  return compileHeaderTags(config.headerTags, new Redactor(config.redact, config.redactExclude), protocol);
}

/** Every integration, in the order they are turned on; shutdown turns each of them off. */
const INTEGRATIONS: readonly Integration[] = [
  {
    name: 'http server',
    enable(core, config) {
      if (isOn(config, 'http')) enableHttpServer(core, { urlQuery: config.httpUrlQuery, ignorePaths: compileGlobList(config.httpIgnorePaths), headerTags: headerTagsFor(config, 'http') });
    },
    disable: disableHttpServer,
  },
  {
    name: 'http client and fetch',
    enable(core, config) {
      enableHttpClient(core, {
        urlQuery: config.httpUrlQuery,
        http: isOn(config, 'http'),
        fetch: isOn(config, 'fetch'),
        ignoreUrls: compileGlobList(config.httpClientIgnoreUrls),
        headerTags: headerTagsFor(config, 'http'),
      });
    },
    disable: disableHttpClient,
  },
  {
    name: 'fastify',
    enable(_core, config) {
      if (isOn(config, 'fastify')) enableFastify();
    },
    disable: disableFastify,
  },
  {
    name: 'express',
    enable(_core, config) {
      if (isOn(config, 'express')) enableExpress();
    },
    disable: disableExpress,
  },
  {
    name: 'nestjs',
    enable(_core, config) {
      if (isOn(config, 'nestjs')) enableNestjs();
    },
    disable: disableNestjs,
  },
  {
    name: 'hono',
    enable(_core, config) {
      if (isOn(config, 'hono')) enableHono();
    },
    disable: disableHono,
  },
  {
    name: 'koa',
    enable(_core, config) {
      if (isOn(config, 'koa')) enableKoa();
    },
    disable: disableKoa,
  },
  {
    name: 'graphql',
    enable(core, config) {
      if (isOn(config, 'graphql')) enableGraphql(core, { resolverDepth: config.graphqlResolverSpans ? config.graphqlResolverDepth : 0 });
    },
    disable: disableGraphql,
  },
  {
    name: 'grpc',
    enable(core, config) {
      if (isOn(config, 'grpc')) {
        enableGrpc(core, { serverErrorStatuses: config.grpcServerErrorStatuses, clientErrorStatuses: config.grpcClientErrorStatuses, metadataTags: headerTagsFor(config, 'grpc') });
      }
    },
    disable: disableGrpc,
  },
  {
    name: 'ioredis',
    enable(core, config) {
      if (isOn(config, 'ioredis')) enableIoredis(core, { rawCommands: config.redisRawCommands });
    },
    disable: disableIoredis,
  },
  {
    name: 'redis (node-redis)',
    enable(core, config) {
      if (isOn(config, 'redis')) enableRedis(core, { rawCommands: config.redisRawCommands });
    },
    disable: disableRedis,
  },
  {
    name: 'amqplib',
    enable(core, config) {
      if (isOn(config, 'amqplib')) enableAmqplib(core);
    },
    disable: disableAmqplib,
  },
  {
    name: 'pg',
    enable(core, config) {
      if (!isOn(config, 'pg')) return;
      enableSql('pg', core, { rawStatements: config.sqlRawStatements, dbmMode: config.dbmPropagationMode });
      patchPg();
    },
    disable: () => disableSql('pg'),
  },
  {
    name: 'mysql2',
    enable(core, config) {
      if (!isOn(config, 'mysql2')) return;
      enableSql('mysql2', core, { rawStatements: config.sqlRawStatements, dbmMode: config.dbmPropagationMode });
      patchMysql2();
    },
    disable: () => disableSql('mysql2'),
  },
  {
    name: 'log correlation (pino, winston)',
    enable(_core, config) {
      if (config.logInjection) enableLogCorrelation(config, { pino: isOn(config, 'pino'), winston: isOn(config, 'winston') });
    },
    disable: disableLogCorrelation,
  },
];

/** Turns the integrations on; if one throws, those already on are turned off again before the error goes on to `init()`. */
function enableIntegrations(core: TracerCore, config: ResolvedConfig): void {
  try {
    for (const integration of INTEGRATIONS) integration.enable(core, config);
  } catch (err) {
    disableIntegrations();
    throw err;
  }
}

function disableIntegrations(): void {
  for (const integration of INTEGRATIONS) {
    try {
      integration.disable();
    } catch (err) {
      logger.error(`the ${integration.name} integration could not be turned off`, err);
    }
  }
}

/** The profiler's modules (and its native binding) are loaded only when profiling is on. */
function startProfiler(config: ResolvedConfig, runtimeId: string): ContinuousProfiler | null {
  const { ContinuousProfiler: Profiler } = require('./profiler/profiler') as typeof import('./profiler/profiler');
  return Profiler.start(config, runtimeId);
}

/** What the exit hooks flush: traces, the profiler's last period, probe output, side by side. */
function together(parts: (Flushable | null)[]): Flushable {
  const all = parts.filter((p): p is Flushable => p !== null);
  return {
    flushWithin: (deadlineMs) => Promise.all(all.map((p) => p.flushWithin(deadlineMs))).then(() => undefined),
    persistNow: () => {
      for (const p of all) p.persistNow();
    },
    pending: () => all.some((p) => p.pending?.() === true),
  };
}

/**
 * How long after start-up the exporter is built when no trace has ended by then: its outbox looks
 * for dead-letter files that exited processes of the service left (1.5-3 s after it is made,
 * outbox.ts), which a process that makes no spans should still send.
 */
const BUILD_EXPORTER_AFTER_MS = 1000;

/**
 * The trace exporter (encoders, the delivery layer, the dead-letter store: a third of what the
 * preload used to load) is made when the first trace ends, when the app calls `flush()`, or a
 * second after start-up, whichever comes first; not while the app's own modules load. Until
 * then nothing is pending, so the exit hooks and `shutdown()` have nothing to send.
 */
class DeferredExporter implements TraceSink, Flushable {
  private real: TraceExporter | null = null;
  private timer: NodeJS.Timeout | null;
  private closed = false;

  constructor(
    private readonly core: TracerCore,
    private readonly make: () => TraceExporter,
  ) {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.get();
    }, BUILD_EXPORTER_AFTER_MS);
    this.timer.unref();
  }

  /** The exporter, made now if it was not; the tracer then hands traces to it directly. */
  get(): TraceExporter | null {
    if (this.real !== null || this.closed) return this.real;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    try {
      this.real = this.make();
      this.core.setSink(this.real);
    } catch (err) {
      // As when start-up failed: no exporter, and the spans that would have gone to it are counted.
      this.closed = true;
      logger.error('tracewell could not start its exporter; spans are dropped', err);
    }
    return this.real;
  }

  enqueue(spans: readonly FinishedSpan[]): void {
    const real = this.get();
    if (real !== null) real.enqueue(spans as never);
    else counters.dropped.shutdown += spans.length;
  }

  flush(): Promise<void> {
    return this.get()?.flush() ?? Promise.resolve();
  }

  flushWithin(deadlineMs: number): Promise<void> {
    return this.real?.flushWithin(deadlineMs) ?? Promise.resolve();
  }

  persistNow(): void {
    this.real?.persistNow();
  }

  shutdown(deadlineMs: number): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.closed = true;
    return this.real?.shutdown(deadlineMs) ?? Promise.resolve();
  }
}

function disabledHandle(config: ResolvedConfig): TracewellHandle {
  logger.info(`tracing is disabled (${config.sources.enabled})`);
  // The OTel API's own no-op tracer: manual spans cost nothing and go nowhere.
  const { trace } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  return {
    config,
    tracer: trace.getTracer('tracewell'),
    flush: async () => undefined,
    shutdown: async () => undefined,
    stats: snapshot,
  };
}

/**
 * The process's runtime id, a version 4 UUID drawn from `Math.random()` (which V8 seeds from the
 * operating system's entropy in every process): an identifier, not a secret, so `node:crypto`
 * is not loaded at start-up for it (the first span's ids load it).
 */
function runtimeUuid(): string {
  const hex = (digits: number): string =>
    Math.floor(Math.random() * 16 ** digits)
      .toString(16)
      .padStart(digits, '0');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${(8 + Math.floor(Math.random() * 4)).toString(16)}${hex(3)}-${hex(12)}`;
}

/** The handle of the running tracer, if `init()` was called. */
export function getHandle(): TracewellHandle | null {
  return current;
}

/** The Datadog exporter, its encoders and the delivery layer: loaded when the first trace ends (`DeferredExporter`). */
function loadAgentExporter(): typeof createAgentExporter {
  return (require('./exporter/agent-exporter') as { createAgentExporter: typeof createAgentExporter }).createAgentExporter;
}

/** The OTLP exporter and its protobuf encoder are loaded only when they are used (start-up time). */
function loadOtlpExporter(): typeof createOtlpExporter {
  return (require('./exporter/otlp-exporter') as { createOtlpExporter: typeof createOtlpExporter }).createOtlpExporter;
}

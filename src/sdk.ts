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
import { followWallClock } from './tracer/clock';
import { outsideRequests } from './tracer/context';
import type { FinishedSpan } from './tracer/finished-span';
import { registerGlobals, unregisterGlobals } from './tracer/provider';
import dc = require('node:diagnostics_channel');
import { disableHttpClient, enableHttpClient, patchHttpRequests } from './tracer/instrumentations/http-client';
import { addTrigger, onBuiltin } from './tracer/instrumentations/module-hook';
import { entryIsEsModule } from './tracer/instrumentations/esm-hook';
import { recognise } from './tracer/instrumentations/recognise';
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
  // The OTLP exporter is made at once, as before: deferred, a process's second dead-lettered
  // payload did not land in the first one's file (test/cli/dlq.test.mjs), not understood yet.
  // Also when probes or the profiler send to the same agent link: made later, probe output
  // kept while the agent was down was not sent once it was back (test/dynamic, not understood yet).
  if (config.exporter === 'otlp' || config.profiling || config.probes !== '' || config.probesFile !== '') exporter.get();
  const provider = registerGlobals(core);

  enableIntegrations(core, config);
  const probes = startDynamicProbes(config, runtimeId);

  let stopped = false;
  // Span times are monotonic; their epoch follows the wall clock if it is stepped after start-up.
  const stopClock = followWallClock();
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
      stopClock();
      await Promise.all([exporter.shutdown(deadlineMs), core.shutdownProcessors(), profiler?.shutdown(deadlineMs), probes?.stop()]);
      health?.stop();
      runtime?.stop();
      disableIntegrations();
      unregisterGlobals();
    },
    stats: snapshot,
  };
}

/**
 * One integration: what `init()` turns on (as `disabledInstrumentations` and the options say)
 * and `shutdown()` turns off. One with `recognise` is loaded and turned on only when a module of
 * its library is loaded (module-hook.ts, recognise.ts): its code is not part of start-up.
 */
interface Integration {
  readonly name: string;
  /** Whether the configuration wants it at all. */
  on(config: ResolvedConfig): boolean;
  /** The exports that tell its library was loaded, or `'http'`: when `node:http` or `node:https` is; without it, turned on at start. */
  readonly recognise?: ((exports: unknown) => boolean) | 'http';
  /** Its library has ES module builds (esm-mark.ts) that the trigger must see. */
  readonly esm?: boolean;
  enable(core: TracerCore, config: ResolvedConfig): void;
  /** Safe when it was never enabled (or never loaded). */
  disable(): void;
}

const isOn = (config: ResolvedConfig, name: InstrumentationName): boolean => !config.disabledInstrumentations.includes(name);

/** `headerTags` for one protocol, with the redaction rules the probes use; null when none is configured. */
function headerTagsFor(config: ResolvedConfig, protocol: 'http' | 'grpc'): ReturnType<typeof compileHeaderTags> {
  if (Object.keys(config.headerTags).length === 0) return null;
  return compileHeaderTags(config.headerTags, new Redactor(config.redact, config.redactExclude), protocol);
}

/** An integration's module, required when it is first turned on; `loaded` stays null until then (nothing to turn off). */
function lazy<T>(load: () => T): { get(): T; readonly loaded: T | null } {
  let m: T | null = null;
  return {
    get: () => (m ??= load()),
    get loaded() {
      return m;
    },
  };
}

/* eslint-disable @typescript-eslint/no-require-imports */
const httpServer = lazy(() => require('./tracer/instrumentations/http-server') as typeof import('./tracer/instrumentations/http-server'));
const fastify = lazy(() => require('./tracer/instrumentations/fastify') as typeof import('./tracer/instrumentations/fastify'));
const express = lazy(() => require('./tracer/instrumentations/express') as typeof import('./tracer/instrumentations/express'));
const nestjs = lazy(() => require('./tracer/instrumentations/nestjs') as typeof import('./tracer/instrumentations/nestjs'));
const hono = lazy(() => require('./tracer/instrumentations/hono') as typeof import('./tracer/instrumentations/hono'));
const koa = lazy(() => require('./tracer/instrumentations/koa') as typeof import('./tracer/instrumentations/koa'));
const graphql = lazy(() => require('./tracer/instrumentations/graphql') as typeof import('./tracer/instrumentations/graphql'));
const grpc = lazy(() => require('./tracer/instrumentations/grpc') as typeof import('./tracer/instrumentations/grpc'));
const ioredis = lazy(() => require('./tracer/instrumentations/ioredis') as typeof import('./tracer/instrumentations/ioredis'));
const redis = lazy(() => require('./tracer/instrumentations/redis') as typeof import('./tracer/instrumentations/redis'));
const amqplib = lazy(() => require('./tracer/instrumentations/amqplib') as typeof import('./tracer/instrumentations/amqplib'));
const sql = lazy(() => require('./tracer/instrumentations/sql') as typeof import('./tracer/instrumentations/sql'));
const pg = lazy(() => require('./tracer/instrumentations/pg') as typeof import('./tracer/instrumentations/pg'));
const mysql2 = lazy(() => require('./tracer/instrumentations/mysql2') as typeof import('./tracer/instrumentations/mysql2'));
const logs = lazy(() => require('./tracer/logs/correlation') as typeof import('./tracer/logs/correlation'));
/* eslint-enable @typescript-eslint/no-require-imports */

/** Every integration, in the order they are turned on; shutdown turns each of them off. */
const INTEGRATIONS: readonly Integration[] = [
  {
    name: 'http server',
    on: (config) => isOn(config, 'http'),
    recognise: 'http',
    enable(core, config) {
      httpServer.get().enableHttpServer(core, { urlQuery: config.httpUrlQuery, ignorePaths: compileGlobList(config.httpIgnorePaths), headerTags: headerTagsFor(config, 'http') });
    },
    disable: () => httpServer.loaded?.disableHttpServer(),
  },
  {
    // fetch (undici's channels) from start-up; `http.request` once the app loads `node:http`.
    name: 'http client and fetch',
    on: () => true,
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
    on: (config) => isOn(config, 'fastify'),
    recognise: recognise.fastify,
    enable: () => fastify.get().enableFastify(),
    disable: () => fastify.loaded?.disableFastify(),
  },
  {
    name: 'express',
    on: (config) => isOn(config, 'express'),
    recognise: recognise.express,
    enable: () => express.get().enableExpress(),
    disable: () => express.loaded?.disableExpress(),
  },
  {
    name: 'nestjs',
    on: (config) => isOn(config, 'nestjs'),
    recognise: recognise.nestjs,
    esm: true,
    enable: () => nestjs.get().enableNestjs(),
    disable: () => nestjs.loaded?.disableNestjs(),
  },
  {
    name: 'hono',
    on: (config) => isOn(config, 'hono'),
    recognise: recognise.hono,
    esm: true,
    enable: () => hono.get().enableHono(),
    disable: () => hono.loaded?.disableHono(),
  },
  {
    name: 'koa',
    on: (config) => isOn(config, 'koa'),
    recognise: recognise.koa,
    enable: () => koa.get().enableKoa(),
    disable: () => koa.loaded?.disableKoa(),
  },
  {
    name: 'graphql',
    on: (config) => isOn(config, 'graphql'),
    recognise: recognise.graphql,
    enable: (core, config) => graphql.get().enableGraphql(core, { resolverDepth: config.graphqlResolverSpans ? config.graphqlResolverDepth : 0 }),
    disable: () => graphql.loaded?.disableGraphql(),
  },
  {
    name: 'grpc',
    on: (config) => isOn(config, 'grpc'),
    recognise: recognise.grpc,
    enable(core, config) {
      grpc.get().enableGrpc(core, { serverErrorStatuses: config.grpcServerErrorStatuses, clientErrorStatuses: config.grpcClientErrorStatuses, metadataTags: headerTagsFor(config, 'grpc') });
    },
    disable: () => grpc.loaded?.disableGrpc(),
  },
  {
    name: 'ioredis',
    on: (config) => isOn(config, 'ioredis'),
    recognise: recognise.ioredis,
    enable: (core, config) => ioredis.get().enableIoredis(core, { rawCommands: config.redisRawCommands }),
    disable: () => ioredis.loaded?.disableIoredis(),
  },
  {
    name: 'redis (node-redis)',
    on: (config) => isOn(config, 'redis'),
    recognise: recognise.redis,
    enable: (core, config) => redis.get().enableRedis(core, { rawCommands: config.redisRawCommands }),
    disable: () => redis.loaded?.disableRedis(),
  },
  {
    name: 'amqplib',
    on: (config) => isOn(config, 'amqplib'),
    recognise: recognise.amqplib,
    enable: (core) => amqplib.get().enableAmqplib(core),
    disable: () => amqplib.loaded?.disableAmqplib(),
  },
  {
    name: 'pg',
    on: (config) => isOn(config, 'pg'),
    recognise: recognise.pg,
    enable(core, config) {
      sql.get().enableSql('pg', core, { rawStatements: config.sqlRawStatements, dbmMode: config.dbmPropagationMode });
      pg.get().patchPg();
    },
    disable: () => sql.loaded?.disableSql('pg'),
  },
  {
    name: 'mysql2',
    on: (config) => isOn(config, 'mysql2'),
    recognise: recognise.mysql2,
    enable(core, config) {
      sql.get().enableSql('mysql2', core, { rawStatements: config.sqlRawStatements, dbmMode: config.dbmPropagationMode });
      mysql2.get().patchMysql2();
    },
    disable: () => sql.loaded?.disableSql('mysql2'),
  },
  {
    name: 'log correlation (pino, winston)',
    on: (config) => config.logInjection && (isOn(config, 'pino') || isOn(config, 'winston')),
    recognise: (exp) => recognise.pino(exp) || recognise.winston(exp),
    enable: (_core, config) => logs.get().enableLogCorrelation(config, { pino: isOn(config, 'pino'), winston: isOn(config, 'winston') }),
    disable: () => logs.loaded?.disableLogCorrelation(),
  },
];

/**
 * Turns on the integrations without a trigger, and sets the triggers of the others; if one
 * throws, those already on are turned off again before the error goes on to `init()`. A trigger
 * that fails later turns its integration off and says so; the app's module loads as it would.
 */
function enableIntegrations(core: TracerCore, config: ResolvedConfig): void {
  try {
    const onHttp: (() => void)[] = [];
    if (isOn(config, 'http')) onHttp.push(patchHttpRequests);
    for (const integration of INTEGRATIONS) {
      if (!integration.on(config)) continue;
      const recognised = integration.recognise;
      if (recognised === undefined) {
        integration.enable(core, config);
        continue;
      }
      if (recognised === 'http') {
        onHttp.unshift(() => integration.enable(core, config));
        continue;
      }
      addTrigger({
        name: integration.name,
        esm: integration.esm,
        matches: recognised,
        fire() {
          try {
            integration.enable(core, config);
          } catch (err) {
            logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] the ${integration.name} integration could not be turned on; it stays untraced`, err);
            try {
              integration.disable();
            } catch {
              /* said above */
            }
          }
        },
      });
    }
    if (onHttp.length > 0) whenHttpLoaded(() => onHttp.forEach((f) => f()));
  } catch (err) {
    disableIntegrations();
    throw err;
  }
}

/** Whether the app's code may be ES modules: an ES module entry point, or `-e` code run as one (`--input-type=module`). */
function mayImport(): boolean {
  return entryIsEsModule() || /--(input-type|experimental-default-type)[= ]module/.test(process.execArgv.join(' '));
}

/** Channels Node publishes on before a server emits `'request'` and (22+) when a client request is made. */
const HTTP_SERVER_START = 'http.server.request.start';
const HTTP_CLIENT_CREATED = 'http.client.request.created';

/**
 * Calls `fire` once, when the app loads `node:http` or `node:https` (the HTTP server and client
 * integrations patch their prototypes then): at once if one is loaded already; else at the
 * first `require` of one, or ES import where the load hook runs in the loading thread (22.15+,
 * 24, 26). Where it does not (Node 20, 22 before 22.15) and the entry point is an ES module,
 * an import would go unseen: at once then, as before. Node's own channels for a server's
 * request and (22+) a client request's creation fire it too, in case a module loaded by some
 * other way made one: both are published before the server's `'request'` and before the
 * request's headers are stored, so that request is traced as well.
 */
function whenHttpLoaded(fire: () => void): void {
  let fired = false;
  const once = (): void => {
    if (fired) return;
    fired = true;
    dc.unsubscribe(HTTP_SERVER_START, once);
    dc.unsubscribe(HTTP_CLIENT_CREATED, once);
    try {
      fire();
    } catch (err) {
      logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] the HTTP integrations could not be turned on; HTTP stays untraced`, err);
    }
  };
  const loaded = (process as { moduleLoadList?: unknown }).moduleLoadList;
  if (!Array.isArray(loaded) || loaded.includes('NativeModule http') || loaded.includes('NativeModule https')) return once();
  if (!onBuiltin(['http', 'https'], once) && mayImport()) return once();
  dc.subscribe(HTTP_SERVER_START, once);
  dc.subscribe(HTTP_CLIENT_CREATED, once);
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
      // Made on the first finished trace, often inside a request: its timers must not keep that request's context.
      this.real = outsideRequests(this.make);
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

// Every tracer a scenario can run, as node flags and environment. Peers (dd-trace, the
// OpenTelemetry SDK) come from benchmarks/node_modules (`npm --prefix benchmarks install`).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './server-process.mjs';

const lib = join(repoRoot, 'benchmarks', 'lib');

export function tracerVariants() {
  return {
    baseline: { name: 'baseline' },
    // A second untraced server: what two identical processes differ by (an A/A control).
    // Differences between variants smaller than baseline-aa's are noise.
    'baseline-aa': { name: 'baseline-aa' },
    // Every http.Server 'request' emit inside AsyncLocalStorage.run, nothing else: the floor
    // any tracer that carries context across await pays.
    'als-floor': { name: 'als-floor', execArgv: ['--require', join(lib, 'als-floor.cjs')] },
    // Resolved from the repository root (the cwd of every server): the package references
    // itself by name through its exports map.
    tracewell: { name: 'tracewell', execArgv: ['--import', 'tracewell/register'] },
    // A second Tracewell server of this build: the A/A control of a paired run between Tracewell variants.
    'tracewell-aa': { name: 'tracewell-aa', execArgv: ['--import', 'tracewell/register'] },
    // Runtime metrics on (DogStatsD to a port nothing listens on: the datagrams are built and sent all the same).
    'tracewell-runtime-metrics': {
      name: 'tracewell-runtime-metrics',
      execArgv: ['--import', 'tracewell/register'],
      env: { DD_RUNTIME_METRICS_ENABLED: 'true', TRACEWELL_DOGSTATSD_URL: 'udp://127.0.0.1:9' },
    },
    // The SRE controls configured and not matching the benchmark's route: a sampling rule on the resource,
    // ignored paths, header tags (one present on every request), so their per-request cost when configured shows.
    'tracewell-controls': {
      name: 'tracewell-controls',
      execArgv: ['--import', 'tracewell/register'],
      env: {
        DD_TRACE_SAMPLING_RULES: '[{"resource":"GET /healthz","sample_rate":0},{"resource":"GET /hello/*","sample_rate":1}]',
        TRACEWELL_HTTP_IGNORE_PATHS: '/healthz,/readyz,/metrics,/internal/*',
        DD_TRACE_HEADER_TAGS: 'traceparent:parent,x-tenant-id:tenant',
      },
    },
    // Tracewell with the web frameworks' integrations off: the server span of the http
    // integration alone, so what a framework integration (route, errors) adds on top shows.
    'tracewell-http-only': {
      name: 'tracewell-http-only',
      execArgv: ['--import', 'tracewell/register'],
      env: { TRACEWELL_DISABLED_INSTRUMENTATIONS: 'fastify,express,hono,koa,nestjs,graphql' },
    },
    'dd-trace': {
      name: 'dd-trace',
      execArgv: ['--require', join(repoRoot, 'benchmarks', 'node_modules', 'dd-trace', 'init.js')],
      env: { DD_TRACE_STARTUP_LOGS: 'false', DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false', DD_REMOTE_CONFIGURATION_ENABLED: 'false', DD_RUNTIME_METRICS_ENABLED: 'false' },
    },
    otel: { name: 'otel', execArgv: ['--require', join(lib, 'otel-preload.cjs')] },
    // Another build of Tracewell (a checkout of an earlier commit, built), for before/after
    // comparisons in one interleaved run: TRACEWELL_REF=/path/to/checkout.
    ...(process.env.TRACEWELL_REF
      ? {
          'tracewell-ref': { name: 'tracewell-ref', execArgv: ['--import', pathToFileURL(join(process.env.TRACEWELL_REF, 'dist', 'esm', 'register.mjs')).href] },
          // A second server of that build: the A/A control of a before/after run.
          'tracewell-ref-aa': { name: 'tracewell-ref-aa', execArgv: ['--import', pathToFileURL(join(process.env.TRACEWELL_REF, 'dist', 'esm', 'register.mjs')).href] },
        }
      : {}),
  };
}

/**
 * The variants named in a comma list, in that order. Throws on an unknown name.
 * `name@KEY=VALUE+KEY2=VALUE2` is a known variant with more environment (an option's effect),
 * named by the whole string.
 */
export function pickVariants(known, list) {
  const names = String(list).split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error('--variants needs at least one name');
  if (new Set(names).size !== names.length) throw new Error(`--variants lists a name twice: ${list}`);
  return names.map((full) => {
    const at = full.indexOf('@');
    const n = at < 0 ? full : full.slice(0, at);
    if (!known[n]) throw new Error(`unknown variant "${n}"; known: ${Object.keys(known).join(', ')}`);
    if (at < 0) return known[n];
    const env = {};
    for (const kv of full.slice(at + 1).split('+')) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`variant "${full}": "${kv}" is not KEY=VALUE`);
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    return { ...known[n], name: full, env: { ...(known[n].env ?? {}), ...env } };
  });
}

// One tracer in its own process: creates spans through that tracer's manual API, as a
// service's own code would, and reports the CPU it took. Driven by run.mjs over IPC:
//   parent -> { type: 'run', spans, mode, rate }   mode 'steady': chunks of 1000 spans at `rate`
//                                            spans a second; 'burst': all at once
//   worker -> { type: 'warm' } after the warm-up (`warmup` spans, exported, then a pause)
//   worker -> { type: 'ran', loopCpuUs, created }
//   parent -> { type: 'cpu' } (once the sink has seen everything, or stopped seeing more)
//   worker -> { type: 'cpu', totalCpuUs, rssMb, dropped, stats }
//   parent -> { type: 'pace', spansPerSec }   a trace every 10 spans' worth of time, until
//   parent -> { type: 'stop' }                -> { type: 'stopped', created }  (outage soak)
// Every trace is a root span and 9 children, each with a string and a number attribute.
'use strict';
const { join } = require('node:path');

const repoRoot = join(__dirname, '..', '..');
const benchModules = join(__dirname, '..', 'node_modules');
const variant = process.env.BENCH_VARIANT;
const agentUrl = process.env.DD_TRACE_AGENT_URL;
const SPANS_PER_TRACE = 10;

function otelApiFrom(dir) {
  return require(require.resolve('@opentelemetry/api', { paths: [dir] }));
}

/** Returns makeTrace(i): creates and ends one trace of SPANS_PER_TRACE spans. */
function setup() {
  if (variant === 'tracewell' || variant === 'tracewell-ref') {
    // tracewell-ref: another build (TRACEWELL_REF=/path/to/checkout), for before/after runs.
    const tw = require(join(variant === 'tracewell' ? repoRoot : process.env.TRACEWELL_REF, 'dist', 'cjs', 'index.js'));
    const handle = tw.init({ service: 'bench', env: 'bench', version: '1', agentUrl });
    return { ...otelMaker(otelApiFrom(repoRoot)), dropped: () => handle.stats().dropped, stats: () => handle.stats() };
  }
  if (variant === 'none') {
    // The same calls through the OpenTelemetry API with no SDK registered (its no-op tracer):
    // what the harness itself costs (pacing timers, the calls), taken off the others' CPU.
    return { ...otelMaker(otelApiFrom(repoRoot)), dropped: () => null };
  }
  if (variant === 'otel') {
    const { NodeSDK } = require(require.resolve('@opentelemetry/sdk-node', { paths: [benchModules] }));
    const { OTLPTraceExporter } = require(require.resolve('@opentelemetry/exporter-trace-otlp-proto', { paths: [benchModules] }));
    const sdk = new NodeSDK({ serviceName: 'bench', traceExporter: new OTLPTraceExporter({ url: `${agentUrl}/v1/traces` }), instrumentations: [] });
    sdk.start();
    return { ...otelMaker(otelApiFrom(benchModules)), dropped: () => null };
  }
  if (variant === 'dd-trace') {
    const tracer = require(require.resolve('dd-trace', { paths: [benchModules] })).init({ service: 'bench', env: 'bench', version: '1', url: agentUrl, startupLogs: false, plugins: false });
    return {
      makeTrace(i) {
        const root = tracer.startSpan('bench.root', { tags: { 'resource.name': 'job', 'bench.item': 'item', 'bench.n': i } });
        for (let c = 1; c < SPANS_PER_TRACE; c++) {
          const child = tracer.startSpan('bench.step', { childOf: root, tags: { 'bench.item': 'step', 'bench.n': c } });
          child.finish();
        }
        root.finish();
      },
      dropped: () => null,
    };
  }
  throw new Error(`unknown BENCH_VARIANT ${variant}`);
}

function otelMaker(api) {
  const tracer = api.trace.getTracer('bench');
  const base = api.context.active();
  return {
    makeTrace(i) {
      const root = tracer.startSpan('bench.root', { attributes: { 'bench.item': 'item', 'bench.n': i } }, base);
      const ctx = api.trace.setSpan(base, root);
      for (let c = 1; c < SPANS_PER_TRACE; c++) {
        const child = tracer.startSpan('bench.step', { attributes: { 'bench.item': 'step', 'bench.n': c } }, ctx);
        child.end();
      }
      root.end();
    },
  };
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const t = setup();
t.stats ??= () => null;
let startCpu = cpuUs();
let paced = null;
let pacedCreated = 0;

/** Chunks of 100 traces (1000 spans) on a schedule of `rate` spans a second; the loop's CPU. */
async function runPaced(traces, rate) {
  const perChunk = 100;
  const chunkMs = (1000 * perChunk * SPANS_PER_TRACE) / rate;
  const start = performance.now();
  let loopCpu = 0;
  for (let i = 0, n = 0; i < traces; i += perChunk, n++) {
    const c0 = cpuUs();
    const end = Math.min(traces, i + perChunk);
    for (let k = i; k < end; k++) t.makeTrace(k);
    loopCpu += cpuUs() - c0;
    const wait = start + (n + 1) * chunkMs - performance.now();
    await new Promise((r) => (wait > 0 ? setTimeout(r, wait) : setImmediate(r)));
  }
  return loopCpu;
}

process.on('message', async (m) => {
  if (m?.type === 'run') {
    // Warm-up (not measured, but sent and counted by the sink): JIT, lazy module loads, the
    // exporter's first connection. Then a pause for its export, and the CPU clock restarts.
    const warmTraces = Math.ceil((m.warmup ?? 0) / SPANS_PER_TRACE);
    if (m.mode === 'burst') {
      for (let i = 0; i < warmTraces; i += 100) {
        for (let k = i; k < Math.min(warmTraces, i + 100); k++) t.makeTrace(k);
        await new Promise((r) => setImmediate(r));
      }
    } else {
      // The same paced schedule as the measured run, so that what it compiles and loads
      // (timers, the exporter's send path at this rate) is done before the clock starts.
      await runPaced(warmTraces, m.rate);
    }
    if (warmTraces > 0) await new Promise((r) => setTimeout(r, m.warmupPauseMs ?? 1500));
    process.send({ type: 'warm' });
    startCpu = cpuUs();
    const traces = Math.ceil(m.spans / SPANS_PER_TRACE);
    let loopCpu = 0;
    if (m.mode === 'burst') {
      const c0 = cpuUs();
      for (let i = 0; i < traces; i++) t.makeTrace(i);
      loopCpu = cpuUs() - c0;
    } else {
      loopCpu = await runPaced(traces, m.rate);
    }
    process.send({ type: 'ran', loopCpuUs: loopCpu, created: traces * SPANS_PER_TRACE, warmup: warmTraces * SPANS_PER_TRACE });
  } else if (m?.type === 'pace') {
    // Whole traces on a fixed schedule: spansPerSec / 10 traces a second, caught up if late.
    const every = (1000 * SPANS_PER_TRACE) / m.spansPerSec;
    const start = performance.now();
    paced = setInterval(() => {
      const due = Math.floor((performance.now() - start) / every);
      while (pacedCreated / SPANS_PER_TRACE < due) {
        t.makeTrace(pacedCreated / SPANS_PER_TRACE);
        pacedCreated += SPANS_PER_TRACE;
      }
    }, Math.max(1, Math.floor(every)));
  } else if (m?.type === 'stop') {
    clearInterval(paced);
    process.send({ type: 'stopped', created: pacedCreated });
  } else if (m?.type === 'cpu') {
    process.send({ type: 'cpu', totalCpuUs: cpuUs() - startCpu, rssMb: process.memoryUsage().rss / 1048576, dropped: t.dropped(), stats: t.stats() });
  } else if (m?.type === 'exit') {
    process.exit(0);
  }
});
process.send({ type: 'ready' });

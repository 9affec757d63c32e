// What linked profiling adds per span activation, in-process and without HTTP noise: S spans,
// each entered A times through the tracer's own context store (`storage.run(span, fn)`, as the
// HTTP and gRPC instrumentations and `startActiveSpan` do), with the profiler off and in linked
// mode, interleaved. K > 0 keeps the last K spans' frames alive (an AsyncResource made under
// each: requests in flight), as a loaded server does. Prints CPU ns per activation (collections
// included), median of 7 rounds after 3 warm-up rounds, and the difference. --hold N keeps the
// last N finished spans referenced, as spans waiting in an export batch are.
//   node benchmarks/profiler-overhead/activation-cost.cjs [--root DIR] [--acts 1,8] [--keep 0,256] [--hold 0]
// --root: a Tracewell checkout whose dist/ to measure (default: this one), e.g. a build of the
// commit before a change, to compare before and after on the same Node.
'use strict';
const { join, resolve } = require('node:path');
const { AsyncResource } = require('node:async_hooks');

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const root = resolve(arg('root', join(__dirname, '..', '..')));
const d = (p) => require(join(root, 'dist', 'cjs', p));
const { resolveConfig } = d('config/resolve.js');
const { TracerCore } = d('tracer/tracer.js');
const { storage } = d('tracer/context.js');
const { ContinuousProfiler } = d('profiler/profiler.js');
const { SpanKind, ROOT_CONTEXT } = require(join(root, 'node_modules', '@opentelemetry/api'));

const env = { DD_PROFILING_ENABLED: 'true', TRACEWELL_PROFILING_MODE: 'linked', TRACEWELL_PROFILING_UPLOAD: 'false', DD_PROFILING_UPLOAD_PERIOD: '3600', TRACEWELL_PROFILING_HEAP: 'false' };
const { config } = resolveConfig({ service: 'bench', env: 'bench', version: '1' }, env);
const core = new TracerCore(config);
core.setSink({ enqueue() {} });

const S = 40000;
const HOLD = Number(arg('hold', '0'));
const held = new Array(HOLD);
let h = 0;
let sink = 0;
function measure(A, K) {
  const keep = new Array(K);
  let k = 0;
  const body = () => {
    sink++;
  };
  const last = () => {
    if (K > 0) keep[k++ % K] = new AsyncResource('request');
  };
  const c0 = process.cpuUsage();
  for (let s = 0; s < S; s++) {
    const span = core.startSpan('op', SpanKind.SERVER, ROOT_CONTEXT, undefined, 0);
    for (let a = 1; a < A; a++) storage.run(span, body);
    storage.run(span, last);
    span.end(0);
    if (HOLD > 0) held[h++ % HOLD] = span;
  }
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / (S * A);
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
(async () => {
  const acts = arg('acts', '1,8').split(',').map(Number);
  const keeps = arg('keep', '0,256').split(',').map(Number);
  const rows = [];
  for (const A of acts) {
    for (const K of keeps) {
      const off = [];
      const on = [];
      for (let r = 0; r < 10; r++) {
        const a = measure(A, K);
        const p = ContinuousProfiler.start(config, 'bench');
        await new Promise((res) => setTimeout(res, 20));
        const b = measure(A, K);
        await p.shutdown(1000);
        if (r >= 3) {
          off.push(a);
          on.push(b);
        }
      }
      rows.push({ A, K, off: median(off), on: median(on) });
      console.log(`Node ${process.version} ${root}: ${A} activation(s) per span, ${K} frames kept, ${HOLD} finished spans held: off ${median(off).toFixed(0)} ns, linked ${median(on).toFixed(0)} ns per activation, +${(median(on) - median(off)).toFixed(0)} ns`);
    }
  }
  if (sink < 0) console.log(sink);
})();

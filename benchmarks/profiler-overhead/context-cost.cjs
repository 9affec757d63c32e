// What @datadog/pprof costs per context handed to it (linked mode hands it one per span):
// N iterations, each opening an AsyncLocalStorage frame as a request's span does, with and
// without `time.setContext(small object)` inside it. K > 0 keeps the last K frames alive (an
// AsyncResource made in each: requests still in flight), as a server under load does, so the
// binding's per-context records live through young-generation collections. Prints CPU ns per
// iteration (collections included), median of 5 rounds after 3 warm-up rounds.
//   node benchmarks/profiler-overhead/context-cost.cjs [K=0 ...]     (Node 24: async context frames)
'use strict';
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { AsyncLocalStorage, AsyncResource } = require('node:async_hooks');
const fromRoot = createRequire(join(__dirname, '..', '..', 'package.json'));
const pprof = fromRoot('@datadog/pprof');
const { isAsyncContextFrameActive } = fromRoot('@datadog/pprof/out/src/async-context-frame');

const frames = isAsyncContextFrameActive();
pprof.time.start({ intervalMicros: 10000, lineNumbers: false, withContexts: true, collectCpuTime: true, useCPED: frames, workaroundV8Bug: false });
const als = new AsyncLocalStorage();
const N = 200000;

function measure(K, set) {
  const keep = new Array(K);
  let n = 0;
  const body = () => {
    if (set) pprof.time.setContext({ spanHi: 1, spanLo: n, rootHi: 2, rootLo: 3 });
    if (K > 0) keep[n % K] = new AsyncResource('request');
  };
  const c0 = process.cpuUsage();
  for (; n < N; n++) als.run({ n }, body);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / N;
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const K of (process.argv.slice(2).length ? process.argv.slice(2) : ['0', '64', '1024']).map(Number)) {
  const off = [];
  const on = [];
  for (let r = 0; r < 8; r++) {
    const a = measure(K, false);
    const b = measure(K, true);
    if (r >= 3) {
      off.push(a);
      on.push(b);
    }
  }
  console.log(`Node ${process.version} (${frames ? 'context in async context frames' : 'current-context pointer'}), ${K} frames kept: ${median(off).toFixed(0)} ns per frame without setContext, ${median(on).toFixed(0)} with, +${(median(on) - median(off)).toFixed(0)} ns per context`);
}
pprof.time.stop(false);

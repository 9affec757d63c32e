// Where a profile's pause goes, part by part, on one raw profile serialized both ways.
//
//   node benchmarks/profiler-overhead/pause-parts.cjs [lines|linked] [periodS=5] [reps=7]
//
// In one process (build first: npm run build): the addon's wall profiler started as Tracewell
// starts it (binding-internals.ts), Fastify loaded after it (so the first profile has the
// start-up's frames, as with --import tracewell/register), then per period requests from an
// in-process client; at the end of each of two periods the profile is cut (timed) and the
// same raw profile is serialized `reps` times, alternating: the binding's serializer
// (`serializeTimeProfile`), the synchronous parts of its encoder (`encodeAsync` measures the
// whole profile and writes all samples in one turn), and ours (`ProfileWriter`) whole and in
// 3 ms slices. The heap profile likewise (`heap.v8Profile()`, then `serializeHeapProfile` or
// ours). Printed: the first run's time of each part (cold, what a process meets) and the
// minimum over the runs (the least a loaded machine inflated it). Wall-clock times of
// synchronous steps; on a shared machine read the minima, and the two ways side by side.
'use strict';
const { join } = require('node:path');
const root = join(__dirname, '..', '..');
const { PlainWallProfiler, FrameWallProfiler, asyncContextFrameActive } = require(join(root, 'dist/cjs/profiler/binding-internals.js'));
const { ProfileWriter } = require(join(root, 'dist/cjs/profiler/serialize.js'));
const { serializeTimeProfile, serializeHeapProfile } = require('@datadog/pprof/out/src/profile-serializer');
const pprof = require('@datadog/pprof');
const { AsyncLocalStorage } = require('node:async_hooks');

const mode = process.argv[2] ?? 'lines';
const periodS = Number(process.argv[3] ?? 5);
const reps = Number(process.argv[4] ?? 7);
const linked = mode === 'linked';
const frames = linked && asyncContextFrameActive();
const store = new AsyncLocalStorage();
const wall = frames
  ? new FrameWallProfiler(store, { intervalMicros: 10_000, sourceMapper: undefined, workaroundV8Bug: false })
  : new PlainWallProfiler({ intervalMicros: 10_000, lineNumbers: !linked, withContexts: linked, workaroundV8Bug: false });
pprof.heap.start(512 * 1024, 64);

const ms = (t0) => Math.round((performance.now() - t0) * 100) / 100;
const labels = ({ context }) => {
  const c = context?.context;
  return c?.id === undefined ? {} : { 'span id': c.id, 'local root span id': c.id, 'trace endpoint': 'GET /hello/:name' };
};

function timeParts(raw) {
  const parts = { binding: [], encodeSync: [], oursWhole: [], oursLongestSlice: [], slices: 0 };
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    const p = serializeTimeProfile(raw, 10_000, undefined, true, linked ? labels : undefined, ['trace endpoint']);
    parts.binding.push(ms(t0));
    // encodeAsync's first turn: the length of everything, then sample types and samples (its
    // first await comes after the sample types, its second after the samples).
    t0 = performance.now();
    const buf = new Uint8Array(p.length);
    let off = p._encodeSampleTypesToBuffer(buf, 0);
    parts.encodeSync.push(ms(t0));
    t0 = performance.now();
    p._encodeSamplesToBuffer(buf, off);
    parts.encodeSync[r] = Math.max(parts.encodeSync[r], ms(t0));
    t0 = performance.now();
    const w = ProfileWriter.time(raw, { intervalMicros: 10_000, labels: linked ? labels : undefined, lowCardinalityLabels: ['trace endpoint'], timeNanos: 1 });
    w.step(Infinity);
    w.bytes();
    parts.oursWhole.push(ms(t0));
    const s = ProfileWriter.time(raw, { intervalMicros: 10_000, labels: linked ? labels : undefined, lowCardinalityLabels: ['trace endpoint'], timeNanos: 1 });
    let longest = 0;
    let n = 0;
    const each = [];
    for (let done = false; !done; n++) {
      t0 = performance.now();
      done = s.step(3);
      each.push(ms(t0));
      if (done) {
        t0 = performance.now();
        s.bytes();
        each.push(`bytes ${ms(t0)}`);
      }
      longest = Math.max(longest, ms(t0));
    }
    if (process.env.SHOW_SLICES) console.log('slices', each.join(' '));
    parts.oursLongestSlice.push(longest);
    parts.slices = n;
  }
  return parts;
}

function heapParts() {
  const parts = { v8Profile: [], binding: [], encodeSync: [], oursLongestSlice: [] };
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    const rootNode = pprof.heap.v8Profile();
    parts.v8Profile.push(ms(t0));
    t0 = performance.now();
    const p = serializeHeapProfile(rootNode, 1, 512 * 1024, undefined, undefined, undefined, false);
    parts.binding.push(ms(t0));
    t0 = performance.now();
    const buf = new Uint8Array(p.length);
    p._encodeSamplesToBuffer(buf, p._encodeSampleTypesToBuffer(buf, 0));
    parts.encodeSync.push(ms(t0));
    const s = ProfileWriter.heap(rootNode, { intervalBytes: 512 * 1024, timeNanos: 1, external: 1 });
    let longest = 0;
    for (let done = false; !done; ) {
      t0 = performance.now();
      done = s.step(3);
      if (done) s.bytes();
      longest = Math.max(longest, ms(t0));
    }
    parts.oursLongestSlice.push(longest);
  }
  return parts;
}

const show = (name, xs) => `${name} ${xs[0]} (min ${Math.min(...xs)})`;

async function main() {
  // Loaded after the profiler started, as under --import tracewell/register.
  const { request } = require('undici');
  const app = require(join(root, 'node_modules', 'fastify'))({ logger: false });
  let next = 0;
  app.get('/hello/:name', async (req) => {
    const run = () => {
      let acc = 0;
      const copy = JSON.parse(JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ i, s: 'x' + i })) }));
      for (let i = 0; i < 200; i++) acc += Math.sqrt(i + copy.items.length);
      return { hello: req.params.name, v: acc };
    };
    if (!linked) return run();
    const ctx = { id: String(++next) };
    if (frames) return store.run(wall.holder(ctx), run);
    wall.setContext(ctx);
    try {
      return run();
    } finally {
      wall.setContext({});
    }
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${app.server.address().port}/hello/x`;
  console.log(`Node ${process.version}, ${mode}${frames ? ' (frames)' : ''}, ${periodS} s periods, ${reps} runs each (first run, and min)`);
  for (let period = 1; period <= 2; period++) {
    const end = Date.now() + periodS * 1000;
    while (Date.now() < end) await Promise.all(Array.from({ length: 8 }, () => request(url).then((r) => r.body.dump())));
    const t0 = performance.now();
    const raw = wall.cutRaw(true);
    const cut = ms(t0);
    const t = timeParts(raw);
    const h = heapParts();
    console.log(`profile ${period}: wall cut ${cut} | ${show('binding serialize', t.binding)} | ${show('binding encode, sync part', t.encodeSync)} | ${show('ours whole', t.oursWhole)} | ${show(`ours longest 3 ms slice (${t.slices} slices)`, t.oursLongestSlice)}`);
    console.log(`           heap: ${show('v8Profile', h.v8Profile)} | ${show('binding serialize', h.binding)} | ${show('encode sync', h.encodeSync)} | ${show('ours longest slice', h.oursLongestSlice)}`);
  }
  wall.dispose();
  pprof.heap.stop();
  await app.close();
}
main();

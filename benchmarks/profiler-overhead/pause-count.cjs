// Serializing one recorded raw wall profile the binding's way and ours, cold (in a fresh
// process, as a process's first profile meets it) and warm.
//
//   node benchmarks/profiler-overhead/pause-count.cjs capture lines|linked DIR
//     records two raw profiles into DIR: `first` (Fastify and undici loaded while profiling, then
//     1.5 s of requests: a first profile with the start-up's frames) and `later` (3 s of requests)
//   node benchmarks/profiler-overhead/pause-count.cjs run FILE binding|ours
//     loads FILE and serializes it: `binding` = serializeTimeProfile + pprof-format's encode
//     (what `time.stop` + `encode` do synchronously before this change), `ours` = ProfileWriter
//     in 3 ms slices. Prints JSON: the cold run (the longest synchronous step: the whole call for
//     the binding, the longest slice for ours, and the total) and the minimum of 10 warm runs.
//   node benchmarks/profiler-overhead/pause-count.cjs compare FILE [N=10] [NODE]
//     N fresh processes of each, alternating, pinned to CPU 1: the minimum over them (a loaded
//     machine only adds to a synchronous step's wall time, so the minimum is the least inflated).
'use strict';
const { join } = require('node:path');
const { readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const root = join(__dirname, '..', '..');
const [cmd, a, b, c] = process.argv.slice(2);
const labels = ({ context }) => (context?.context?.id === undefined ? {} : { 'span id': String(context.context.id), 'local root span id': String(context.context.id), 'trace endpoint': 'GET /hello/:name' });

if (cmd === 'capture') {
  const mode = a;
  const dir = b;
  mkdirSync(dir, { recursive: true });
  const { PlainWallProfiler } = require(join(root, 'dist/cjs/profiler/binding-internals.js'));
  const linked = mode === 'linked';
  const wall = new PlainWallProfiler({ intervalMicros: 10_000, lineNumbers: !linked, withContexts: linked, workaroundV8Bug: false });
  const save = (name, raw) => {
    const ids = new Map();
    const json = JSON.stringify(raw, (k, v) => {
      if (typeof v === 'bigint') return undefined;
      if (k === 'context' && v !== null && typeof v === 'object') {
        if (!ids.has(v)) ids.set(v, ids.size + 1);
        return v.span === undefined ? {} : { id: ids.get(v) };
      }
      return v;
    });
    writeFileSync(join(dir, `${mode}-${name}.json`), json);
    let nodes = 0;
    const walk = (n) => { nodes++; n.children.forEach(walk); };
    walk(raw.topDownRoot);
    console.log(`${mode}-${name}: ${nodes} nodes, ${json.length} bytes of JSON`);
  };
  (async () => {
    const { request } = require(join(root, 'node_modules', 'undici'));
    const app = require(join(root, 'node_modules', 'fastify'))({ logger: false });
    let n = 0;
    app.get('/hello/:name', async (req) => {
      const ctx = { span: ++n };
      if (linked) wall.setContext(ctx);
      const copy = JSON.parse(JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ i, s: 'x' + i })) }));
      let acc = 0;
      for (let i = 0; i < 200; i++) acc += Math.sqrt(i + copy.items.length);
      if (linked) wall.setContext({});
      return { hello: req.params.name, v: acc };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${app.server.address().port}/hello/x`;
    const load = async (ms) => {
      const end = Date.now() + ms;
      while (Date.now() < end) await Promise.all(Array.from({ length: 8 }, () => request(url).then((r) => r.body.dump())));
    };
    await load(1500);
    save('first', wall.cutRaw(true));
    await load(3000);
    save('later', wall.cutRaw(false));
    await app.close();
  })();
} else if (cmd === 'run') {
  const raw = JSON.parse(readFileSync(a, 'utf8'));
  const linked = raw.hasCpuTime === true;
  const now = () => performance.now();
  let once;
  if (b === 'binding') {
    const { serializeTimeProfile } = require('@datadog/pprof/out/src/profile-serializer');
    once = () => {
      const t0 = now();
      serializeTimeProfile(raw, 10_000, undefined, true, linked ? labels : undefined, ['trace endpoint']).encode();
      const ms = now() - t0;
      return { longest: ms, total: ms, slices: 1 };
    };
  } else {
    const { ProfileWriter } = require(join(root, 'dist/cjs/profiler/serialize.js'));
    once = () => {
      const w = ProfileWriter.time(raw, { intervalMicros: 10_000, labels: linked ? labels : undefined, lowCardinalityLabels: ['trace endpoint'], timeNanos: 1 });
      let longest = 0;
      let total = 0;
      let slices = 0;
      // As the profiler does: 3 ms slices, then the parts put together in a turn of their own.
      for (let done = false, last = false; !last; slices++) {
        const t0 = now();
        if (done) {
          w.bytes();
          last = true;
        } else done = w.step(3);
        const ms = now() - t0;
        longest = Math.max(longest, ms);
        total += ms;
      }
      return { longest, total, slices };
    };
  }
  const cold = once();
  let warm = Infinity;
  for (let i = 0; i < 10; i++) warm = Math.min(warm, once().longest);
  console.log(JSON.stringify({ cold, warmLongest: warm }));
} else if (cmd === 'compare') {
  const { execFileSync } = require('node:child_process');
  const n = Number(b ?? 10);
  const node = c ?? process.execPath;
  const res = { binding: [], ours: [] };
  for (let i = 0; i < n; i++) {
    for (const v of i % 2 === 0 ? ['binding', 'ours'] : ['ours', 'binding']) {
      res[v].push(JSON.parse(execFileSync('taskset', ['-c', '1', node, __filename, 'run', a, v], { encoding: 'utf8' })));
    }
  }
  const min = (xs) => Math.round(Math.min(...xs) * 100) / 100;
  const med = (xs) => Math.round(xs.slice().sort((p, q) => p - q)[xs.length >> 1] * 100) / 100;
  for (const v of ['binding', 'ours']) {
    const r = res[v];
    console.log(`${a} ${v}: cold longest step min ${min(r.map((x) => x.cold.longest))} (median ${med(r.map((x) => x.cold.longest))}), cold total min ${min(r.map((x) => x.cold.total))}, slices ${r[0].cold.slices}; warm longest min ${min(r.map((x) => x.warmLongest))} ms`);
  }
}

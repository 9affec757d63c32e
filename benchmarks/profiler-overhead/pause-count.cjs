// Instruction counts (valgrind --tool=callgrind: the same whatever else runs on the machine) of
// serializing one recorded raw wall profile the binding's way and ours.
//
//   node benchmarks/profiler-overhead/pause-count.cjs capture lines|linked DIR
//     records two raw profiles into DIR: `first` (Fastify and undici loaded while profiling, then
//     1.5 s of requests: a first profile with the start-up's frames) and `later` (3 s of requests)
//   valgrind --tool=callgrind --smc-check=all-non-file node pause-count.cjs run FILE none|binding|ours REPS
//     loads FILE and serializes it REPS times: `binding` = serializeTimeProfile + pprof-format's
//     encode (what `time.stop` + `encode` do synchronously, before), `ours` = ProfileWriter in one
//     go; `none` loads only. Per serialization: (Collected(REPS) - Collected(none)) / REPS.
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
  const reps = Number(c);
  const linked = raw.hasCpuTime === true;
  if (b === 'binding') {
    const { serializeTimeProfile } = require('@datadog/pprof/out/src/profile-serializer');
    for (let i = 0; i < reps; i++) serializeTimeProfile(raw, 10_000, undefined, true, linked ? labels : undefined, ['trace endpoint']).encode();
  } else if (b === 'ours') {
    const { ProfileWriter } = require(join(root, 'dist/cjs/profiler/serialize.js'));
    for (let i = 0; i < reps; i++) {
      const w = ProfileWriter.time(raw, { intervalMicros: 10_000, labels: linked ? labels : undefined, lowCardinalityLabels: ['trace endpoint'], timeNanos: 1 });
      w.step(Infinity);
      w.bytes();
    }
  } else {
    // Load the same modules, serialize nothing.
    require('@datadog/pprof/out/src/profile-serializer');
    require(join(root, 'dist/cjs/profiler/serialize.js'));
  }
}

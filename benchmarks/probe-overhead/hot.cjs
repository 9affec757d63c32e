// The hot-function measurement, run in its own process under `--require tracewell/register`.
// Four functions with the same body: one untouched, one with a hand-written line doing what
// the probe does (the active span gets a tag), one with a span decoration probe, one with a
// count probe. The probes come from TRACEWELL_PROBES (placed as this file loads), or, with
// AFTER_LOAD set, are written to TRACEWELL_PROBES_FILE once it has loaded (live edit; on a Node
// line without it they are errors, and the run says so). Called in a tight loop inside an
// active span, interleaved per round; prints one JSON line with ns per call of each.
const { createRequire } = require('node:module');
const fromRoot = createRequire(require('node:path').join(__dirname, '..', '..', 'package.json'));
const { trace } = fromRoot('@opentelemetry/api');

function plain(request) {
  const total = request.id + request.items.length;
  return total;
}

function hand(request) {
  trace.getActiveSpan()?.setAttribute('request.id', request.id);
  const total = request.id + request.items.length;
  return total;
}

function decorated(request) {
  const total = request.id + request.items.length; // probe: decoration
  return total;
}

function counted(request) {
  const total = request.id + request.items.length; // probe: metric
  return total;
}

const fns = { plain, hand, decorated, counted };
const calls = Number(process.env.CALLS || 200_000);
const rounds = Number(process.env.ROUNDS || 5);

function time(fn) {
  const request = { id: 7, items: [1, 2, 3] };
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink += fn(request);
  const ns = Number(process.hrtime.bigint() - t0) / calls;
  if (sink === -1) console.log('unreachable');
  return ns;
}

async function main() {
  const handle = fromRoot('tracewell').getHandle();
  if (process.env.AFTER_LOAD) require('node:fs').writeFileSync(process.env.TRACEWELL_PROBES_FILE, process.env.AFTER_LOAD.split(';').join('\n') + '\n');
  // Wait until both probes are installed.
  for (let i = 0; i < 400; i++) {
    const st = handle.stats().probes.statuses;
    if (st.length === 2 && st.every((s) => s.status === 'INSTALLED' || s.status === 'EMITTING')) break;
    if (st.some((s) => s.errorType === 'LoadedBeforeProbe')) {
      process.stdout.write(JSON.stringify({ ns: null, probes: st.map((s) => ({ id: s.id, status: s.status, errorType: s.errorType })) }) + '\n');
      await handle.shutdown(200);
      return;
    }
    if (st.some((s) => s.status === 'ERROR')) throw new Error(JSON.stringify(st));
    await new Promise((r) => setTimeout(r, 25));
  }
  const tracer = trace.getTracer('bench');
  const out = { plain: [], hand: [], decorated: [], counted: [] };
  await tracer.startActiveSpan('bench', async (span) => {
    for (const f of Object.values(fns)) time(f); // warm-up
    for (let r = 0; r < rounds; r++) {
      const order = Object.keys(fns);
      if (r % 2 === 1) order.reverse();
      for (const name of order) out[name].push(time(fns[name]));
    }
    span.end();
  });
  const st = handle.stats().probes;
  process.stdout.write(JSON.stringify({ ns: out, probes: st.statuses.map((s) => ({ id: s.id, status: s.status, hits: s.hits, technique: s.technique })) }) + '\n');
  await handle.shutdown(200);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});

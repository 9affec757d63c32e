// One variant's SQL client: a pg Pool (2 connections) selecting a row by key, or with
// BENCH_DRIVER=mysql2 a mysql2/promise pool (2 connections, MYSQL_* variables), the query
// outside any request (each traced query is its own trace, exported like any other). Started
// with the variant's preload; on { type: 'window', ms, rate } it runs `rate` queries per second
// for `ms` (issued every 10 ms, at most 16 in flight) and answers with the queries done and the
// process CPU (user + system, every thread: driver, tracer, exporter) they took.
'use strict';
const DRIVER = process.env.BENCH_DRIVER || 'pg';
const MYSQL = DRIVER === 'mysql2';
const pool = MYSQL
  ? require('mysql2/promise').createPool({ host: process.env.MYSQL_HOST, port: Number(process.env.MYSQL_PORT), user: process.env.MYSQL_USER, database: process.env.MYSQL_DATABASE, connectionLimit: 2 })
  : new (require('pg').Pool)({ max: 2 });
const SQL = MYSQL ? 'SELECT id, name FROM bench_users WHERE id = ?' : 'SELECT id, name FROM bench_users WHERE id = $1';
let key = 0;

async function setup() {
  if (MYSQL) {
    await pool.query('CREATE TABLE IF NOT EXISTS bench_users (id INT PRIMARY KEY, name VARCHAR(32))');
    const rows = Array.from({ length: 1000 }, (_, i) => `(${i + 1}, 'user ${i + 1}')`).join(',');
    await pool.query(`INSERT IGNORE INTO bench_users VALUES ${rows}`);
    return;
  }
  const c = await pool.connect();
  try {
    await c.query('CREATE TABLE IF NOT EXISTS bench_users (id int PRIMARY KEY, name text)');
    await c.query("INSERT INTO bench_users SELECT g, 'user ' || g FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING");
  } finally {
    c.release();
  }
}

function window(ms, rate) {
  return new Promise((resolve, reject) => {
    let inFlight = 0;
    let done = 0;
    let failed = null;
    const perTick = rate / 100;
    let owed = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const tick = setInterval(() => {
      owed += perTick;
      while (owed >= 1 && inFlight < 16) {
        owed--;
        inFlight++;
        key = (key % 1000) + 1;
        pool.query(SQL, [key]).then(
          () => {
            inFlight--;
            done++;
          },
          (err) => {
            inFlight--;
            failed = err;
          },
        );
      }
      if (performance.now() - t0 >= ms) {
        clearInterval(tick);
        const cpu = process.cpuUsage(cpu0);
        if (failed) reject(failed);
        else resolve({ queries: done, cpuUs: cpu.user + cpu.system, userUs: cpu.user, ms: performance.now() - t0 });
      }
    }, 10);
  });
}

// ---- toggle mode: the tracer's pg integration switched off and on inside this process ----
// Adjacent blocks of queries, alternately traced and not, in one process (the same JIT state,
// the same machine moment): what differs is the integration. Off is what each tracer does with
// its pg integration disabled: Tracewell's patch finds no subscriber on its diagnostics
// channels (one check per query), dd-trace's pg plugin is off (`tracer.use('pg', { enabled })`),
// OpenTelemetry's instrumentation is unwrapped (`disable()`).
const dc = require('node:diagnostics_channel');
const TRACER = process.env.BENCH_TRACER || 'none';
const CHANNELS = {
  tracewell: [`tracewell:${DRIVER}:query:start`, `tracewell:${DRIVER}:query:finish`],
};
const saved = new Map();
let tracing = true;
function setTracing(on) {
  if (on === tracing) return;
  tracing = on;
  if (TRACER === 'otel') {
    const inst = globalThis.__benchSqlInstrumentation;
    if (on) inst.enable();
    else inst.disable();
    return;
  }
  if (TRACER === 'dd-trace') {
    // dd-trace's channels are its own (dc-polyfill); its plugin switch unsubscribes them.
    require('dd-trace').use(DRIVER, { enabled: on });
    return;
  }
  for (const name of CHANNELS[TRACER] ?? []) {
    const ch = dc.channel(name);
    if (!on) {
      const subs = [...(ch._subscribers ?? [])];
      const stores = [...(ch._stores ?? new Map())];
      saved.set(name, { subs, stores });
      for (const fn of subs) ch.unsubscribe(fn);
      for (const [store] of stores) ch.unbindStore(store);
    } else {
      const s = saved.get(name);
      if (!s) continue;
      for (const [store, transform] of s.stores) ch.bindStore(store, transform);
      for (const fn of s.subs) ch.subscribe(fn);
    }
  }
}

async function flushTracer() {
  // BENCH_TRACEWELL_INDEX: another checkout's build (the tracewell-ref variants).
  if (TRACER === 'tracewell') await require(process.env.BENCH_TRACEWELL_INDEX || '../../dist/cjs/index.js').getHandle()?.flush();
  else if (TRACER === 'dd-trace') {
    const exporter = require('dd-trace')._tracer?._exporter;
    if (exporter && typeof exporter.flush === 'function') await new Promise((r) => exporter.flush(r));
  }
  else if (TRACER === 'otel') await require('@opentelemetry/api').trace.getTracerProvider().getDelegate?.().forceFlush?.();
}

// BENCH_PER_PARENT=N: the queries run N at a time, one after the other, inside a parent span
// made with the tracer's own API (a request doing N queries), so each query span is a child,
// as in a service; 0 (default): each query is a trace of its own. The parent spans are made in
// both kinds of block: the difference is the query spans.
const PER_PARENT = Number(process.env.BENCH_PER_PARENT || 0);

function nextQuery() {
  key = (key % 1000) + 1;
  return pool.query(SQL, [key]);
}

async function group(n) {
  for (let i = 0; i < n; i++) await nextQuery();
}

function inParent(fn) {
  if (TRACER === 'dd-trace') return require('dd-trace').trace('bench.request', () => fn());
  if (TRACER === 'tracewell' || TRACER === 'otel') {
    return require('@opentelemetry/api')
      .trace.getTracer('bench')
      .startActiveSpan('bench.request', (span) => fn().finally(() => span.end()));
  }
  return fn();
}

async function block(n) {
  const ps = [];
  if (PER_PARENT > 0) {
    for (let i = 0; i < n; i += PER_PARENT) {
      ps.push(inParent(() => group(Math.min(PER_PARENT, n - i))));
      if (ps.length >= 4) await Promise.all(ps.splice(0));
    }
  } else {
    for (let i = 0; i < n; i++) {
      ps.push(nextQuery());
      if (ps.length >= 4) await Promise.all(ps.splice(0));
    }
  }
  await Promise.all(ps);
}

/** `pairs` x (off block, on block + flush), order alternating; CPU µs per query of each (all, and user time). */
async function toggle(pairs, perBlock) {
  const off = [];
  const on = [];
  const offUser = [];
  const onUser = [];
  const measure = async (traced) => {
    setTracing(traced);
    const c0 = process.cpuUsage();
    await block(perBlock);
    if (traced) await flushTracer();
    const c = process.cpuUsage(c0);
    (traced ? on : off).push((c.user + c.system) / perBlock);
    // User time alone: the tracer's work is there; the driver's system calls (most of a query's
    // CPU here, and most of its noise) are the same in both blocks.
    (traced ? onUser : offUser).push(c.user / perBlock);
  };
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      await measure(false);
      await measure(true);
    } else {
      await measure(true);
      await measure(false);
    }
  }
  setTracing(true);
  return { off, on, offUser, onUser };
}

process.on('message', async (m) => {
  if (m?.type !== 'toggle') return;
  try {
    process.send({ type: 'toggled', id: m.id, ...(await toggle(m.pairs, m.perBlock)) });
  } catch (err) {
    process.send({ type: 'toggled', id: m.id, error: String(err?.stack ?? err) });
  }
});

setup().then(
  () => process.send({ type: 'ready' }),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
process.on('message', async (m) => {
  if (m?.type === 'window') {
    try {
      process.send({ type: 'result', id: m.id, ...(await window(m.ms, m.rate)) });
    } catch (err) {
      process.send({ type: 'result', id: m.id, error: String(err?.stack ?? err) });
    }
  }
  // callgrind.mjs: `calls` queries, `inflight` at a time (each its own trace), then a flush.
  // With BENCH_PER_PARENT=N each loop runs N queries inside a parent span at a time.
  if (m?.type === 'run') {
    let left = m.calls;
    const loop = async () => {
      while (left > 0) {
        if (PER_PARENT > 0) {
          const n = Math.min(PER_PARENT, left);
          left -= n;
          await inParent(() => group(n));
        } else {
          left--;
          await nextQuery();
        }
      }
    };
    const loops = [];
    for (let i = 0; i < (m.inflight ?? 1); i++) loops.push(loop());
    await Promise.all(loops);
    await flushTracer();
    process.send({ type: 'ran', calls: m.calls });
  }
  if (m?.type === 'exit' || m?.type === 'stop') {
    await pool.end().catch(() => {});
    process.exit(0);
  }
});

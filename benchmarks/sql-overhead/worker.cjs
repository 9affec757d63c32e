// One variant's PostgreSQL client: a pg Pool (2 connections) selecting a row by key, the query
// outside any request (each traced query is its own trace, exported like any other). Started
// with the variant's preload; on { type: 'window', ms, rate } it runs `rate` queries per second
// for `ms` (issued every 10 ms, at most 16 in flight) and answers with the queries done and the
// process CPU (user + system, every thread: driver, tracer, exporter) they took.
'use strict';
const pg = require('pg');

const pool = new pg.Pool({ max: 2 });
const SQL = 'SELECT id, name FROM bench_users WHERE id = $1';
let key = 0;

async function setup() {
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
        else resolve({ queries: done, cpuUs: cpu.user + cpu.system, ms: performance.now() - t0 });
      }
    }, 10);
  });
}

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
  if (m?.type === 'exit') {
    await pool.end().catch(() => {});
    process.exit(0);
  }
});

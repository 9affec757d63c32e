// Load from its own process on 127.0.0.1: CONNECTIONS keep-alive connections for DURATION ms,
// either as fast as the server answers (RATE=0) or paced at RATE requests per second.
// Every request carries a W3C traceparent, as when the caller is traced. Sends
// { done, errors, p50, p99 } (latency in ms) to the parent and exits.
'use strict';
const { Pool } = require('undici');
const { pacer, percentiles } = require('./pacer.cjs');

const port = Number(process.env.PORT);
const duration = Number(process.env.DURATION || 3000);
const rate = Number(process.env.RATE || 0);
const connections = Number(process.env.CONNECTIONS || 32);
const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 });
const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
const latencies = [];
let done = 0;
let errors = 0;
let stop = false;

const pace = pacer(rate);

async function worker() {
  while (!stop) {
    const wait = pace.take();
    if (wait) await wait;
    if (stop) break;
    const start = process.hrtime.bigint();
    try {
      const res = await pool.request({ path: '/hello/world', method: 'GET', headers });
      await res.body.dump();
      if (res.statusCode !== 200) errors++;
      else done++;
    } catch {
      errors++;
    }
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
}

setTimeout(() => {
  stop = true;
  pace.stop();
}, duration);

Promise.all(Array.from({ length: connections }, worker)).then(async () => {
  process.send({ done, errors, ...percentiles(latencies) });
  await pool.close();
  process.exit(0);
});

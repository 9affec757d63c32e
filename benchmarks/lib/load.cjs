// Load from its own process on 127.0.0.1: CONNECTIONS keep-alive connections for DURATION ms,
// either as fast as the server answers (RATE=0) or paced at RATE requests per second.
// Every request carries a W3C traceparent, as when the caller is traced. Sends
// { done, errors, p50, p99 } (latency in ms) to the parent and exits.
'use strict';
const { Pool } = require('undici');

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

// Pacing: a token per 1/RATE s, handed to waiting workers.
let tokens = 0;
let issued = 0;
const waiting = [];
const t0 = Date.now();
const pacer = rate > 0 ? setInterval(() => {
  const due = Math.floor(((Date.now() - t0) * rate) / 1000) - issued;
  for (let i = 0; i < due; i++) {
    issued++;
    const w = waiting.shift();
    if (w) w();
    else tokens++;
  }
}, 1) : null;
const take = () => (rate === 0 ? null : tokens > 0 ? (tokens--, null) : new Promise((r) => waiting.push(r)));

async function worker() {
  while (!stop) {
    const wait = take();
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
  if (pacer) clearInterval(pacer);
  for (const w of waiting.splice(0)) w();
}, duration);

Promise.all(Array.from({ length: connections }, worker)).then(async () => {
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  process.send({ done, errors, p50: q(0.5), p99: q(0.99) });
  await pool.close();
  process.exit(0);
});

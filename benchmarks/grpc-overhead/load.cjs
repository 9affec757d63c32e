// Unary calls from an untraced process: CONNECTIONS concurrent callers on one channel for
// DURATION ms, as fast as answered (RATE=0) or paced at RATE calls/s. Each call carries a
// traceparent in its metadata, as from a traced caller.
'use strict';
const grpc = require('@grpc/grpc-js');
const { definition } = require('./service.cjs');

const Client = grpc.makeGenericClientConstructor(definition, 'MemberService');
const client = new Client(`127.0.0.1:${process.env.PORT}`, grpc.credentials.createInsecure());
const duration = Number(process.env.DURATION || 3000);
const rate = Number(process.env.RATE || 0);
const concurrency = Number(process.env.CONNECTIONS || 32);
const latencies = [];
let done = 0;
let errors = 0;
let stop = false;
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
const once = () =>
  new Promise((resolve) => {
    const md = new grpc.Metadata();
    md.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const start = process.hrtime.bigint();
    client.getMemberInfo({ member_no: '42' }, md, (err) => {
      if (err) errors++;
      else done++;
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      resolve();
    });
  });
async function worker() {
  while (!stop) {
    const wait = take();
    if (wait) await wait;
    if (stop) break;
    await once();
  }
}
setTimeout(() => {
  stop = true;
  if (pacer) clearInterval(pacer);
  for (const w of waiting.splice(0)) w();
}, duration);
Promise.all(Array.from({ length: concurrency }, worker)).then(() => {
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  process.send({ done, errors, p50: q(0.5), p99: q(0.99) });
  client.close();
  process.exit(0);
});

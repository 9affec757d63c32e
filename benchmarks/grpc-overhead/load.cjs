// Unary calls from an untraced process: CONNECTIONS concurrent callers on one channel for
// DURATION ms, as fast as answered (RATE=0) or paced at RATE calls/s. Each call carries a
// traceparent in its metadata, as from a traced caller.
'use strict';
const grpc = require('@grpc/grpc-js');
const { definition } = require('./service.cjs');
const { pacer, percentiles } = require('../lib/pacer.cjs');

const Client = grpc.makeGenericClientConstructor(definition, 'MemberService');
const client = new Client(`127.0.0.1:${process.env.PORT}`, grpc.credentials.createInsecure());
const duration = Number(process.env.DURATION || 3000);
const rate = Number(process.env.RATE || 0);
const concurrency = Number(process.env.CONNECTIONS || 32);
const latencies = [];
let done = 0;
let errors = 0;
let stop = false;
const pace = pacer(rate);
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
    const wait = pace.take();
    if (wait) await wait;
    if (stop) break;
    await once();
  }
}
setTimeout(() => {
  stop = true;
  pace.stop();
}, duration);
Promise.all(Array.from({ length: concurrency }, worker)).then(() => {
  process.send({ done, errors, ...percentiles(latencies) });
  client.close();
  process.exit(0);
});

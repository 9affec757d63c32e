// One variant's process: a Redis client (BENCH_CLIENT: ioredis or redis, i.e. node-redis 5)
// connected to REDIS_PORT, traced by whatever the variant preloaded. On { type: 'run', calls }
// it awaits `calls` GETs one after another (one connection, closed loop) and answers with the
// process CPU time and wall time they took. Every GET is its own trace (no parent span), as a
// command made outside a request would be: the tracer's whole cost per command (span, trace,
// sampling, encoding, export) lands in this process's CPU.
'use strict';
const kind = process.env.BENCH_CLIENT;
const port = Number(process.env.REDIS_PORT);

async function connect() {
  if (kind === 'ioredis') {
    const Redis = require('ioredis');
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
    await client.connect();
    return client;
  }
  const { createClient } = require('redis');
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  client.on('error', () => {});
  await client.connect();
  return client;
}

(async () => {
  const client = await connect();
  await client.set('bench:key', 'value-of-some-length-0123456789');
  process.on('message', async (m) => {
    if (m?.type === 'run') {
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      // `inflight` loops share the calls (1: each GET waits for the one before).
      let left = m.calls;
      const loop = async () => {
        while (left > 0) {
          left--;
          await client.get('bench:key');
        }
      };
      const loops = [];
      for (let i = 0; i < (m.inflight ?? 1); i++) loops.push(loop());
      await Promise.all(loops);
      const wallNs = Number(process.hrtime.bigint() - t0);
      const cpu = process.cpuUsage(cpu0);
      process.send({ type: 'ran', calls: m.calls, cpuUs: cpu.user + cpu.system, userUs: cpu.user, wallNs });
    }
    // Paired windows: GETs one after another until `ms` have passed, so that two workers
    // started together overlap for the whole window.
    if (m?.type === 'run-for') {
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const end = t0 + BigInt(m.ms) * 1_000_000n;
      // `inflight` loops at once: the client writes the GETs of several callers in one go,
      // so the socket's system calls, which dwarf a tracer's work when each GET waits alone,
      // are shared, and what differs between variants is the work per command.
      let calls = 0;
      const loop = async () => {
        while (true) {
          for (let i = 0; i < 20; i++) await client.get('bench:key');
          calls += 20;
          if (process.hrtime.bigint() >= end) return;
        }
      };
      const loops = [];
      for (let i = 0; i < (m.inflight ?? 1); i++) loops.push(loop());
      await Promise.all(loops);
      const wallNs = Number(process.hrtime.bigint() - t0);
      const cpu = process.cpuUsage(cpu0);
      process.send({ type: 'ran', calls, cpuUs: cpu.user + cpu.system, userUs: cpu.user, wallNs });
    }
    if (m?.type === 'stop') {
      await client.quit();
      process.exit(0);
    }
  });
  process.send({ type: 'ready' });
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

// Paces work at `rate` per second (0 = unpaced): `take()` resolves when the next slot is due.
'use strict';

function pacer(rate) {
  if (rate <= 0) return { take: () => null, stop() {} };
  let tokens = 0;
  let issued = 0;
  const waiting = [];
  const t0 = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - t0) * rate) / 1000) - issued;
    for (let i = 0; i < due; i++) {
      issued++;
      const w = waiting.shift();
      if (w) w();
      else tokens++;
    }
  }, 1);
  return {
    take: () => (tokens > 0 ? (tokens--, null) : new Promise((r) => waiting.push(r))),
    stop() {
      clearInterval(timer);
      for (const w of waiting.splice(0)) w();
    },
  };
}

/** p50/p99 of latencies in ms. */
function percentiles(latencies) {
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { p50: q(0.5), p99: q(0.99) };
}

/** In a server under test: answers 'start'/'stop' with CPU time and `served()` in between. */
function reportUsage(served) {
  let cpu0;
  let served0 = 0;
  process.on('message', (m) => {
    if (m === 'start') {
      cpu0 = process.cpuUsage();
      served0 = served();
    } else if (m === 'stop') {
      const cpu = process.cpuUsage(cpu0);
      process.send({ cpuMicros: cpu.user + cpu.system, requests: served() - served0, rss: process.memoryUsage().rss });
    } else if (m === 'exit') {
      process.exit(0);
    }
  });
}

module.exports = { pacer, percentiles, reportUsage };

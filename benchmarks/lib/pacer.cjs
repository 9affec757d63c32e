// Paces work at `rate` per second (0 = unpaced): `take()` returns null when a slot is free
// now, or a promise that resolves when the next slot is due. Unused slots accumulate only up
// to `burst`, so a stall is not followed by an unbounded catch-up burst.
'use strict';

function pacer(rate, burst = 64) {
  if (!(rate > 0)) return { take: () => null, stop() {} };
  let tokens = 0;
  let issued = 0;
  const waiting = [];
  const t0 = process.hrtime.bigint();
  const timer = setInterval(() => {
    const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const due = Math.floor((elapsedMs * rate) / 1000) - issued;
    for (let i = 0; i < due; i++) {
      issued++;
      const w = waiting.shift();
      if (w) w();
      else if (tokens < burst) tokens++;
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

module.exports = { pacer };

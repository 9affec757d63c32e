/**
 * Times are `performance.now()` milliseconds on the hot path; they become epoch
 * nanoseconds only when encoded. Monotonic, so durations never go negative.
 */
import { performance } from 'node:perf_hooks';
import type { HrTime, TimeInput } from '@opentelemetry/api';

/**
 * Epoch ms of performance.now() === 0: `performance.timeOrigin` (read to the microsecond at
 * start-up) until the wall clock is seen to have moved against the monotonic one.
 */
export let TIME_ORIGIN_MS = performance.timeOrigin;

/** How far below the origin a reading may fall before it counts as the wall clock stepped back (a reading is up to 1 ms low). */
const BACK_STEP_MS = 2;
const FOLLOW_EVERY_MS = 1000;

/**
 * Reads the wall clock against the monotonic one. A process that keeps its start-up origin
 * keeps any later step of the system clock (NTP stepping it, a VM resumed or restored from a
 * snapshot) as an offset against every other process for as long as it runs: a server span
 * in one service then starts outside its client span in another. Date.now() is truncated to
 * the millisecond, so one reading is the true origin minus [0, 1) ms: a reading above the
 * origin moves it up at once; one more than BACK_STEP_MS below resets it, and later readings
 * raise it back towards the truth.
 */
function resyncClock(): void {
  let reading = -Infinity;
  // Three readings, the highest kept: a preemption between the two calls makes one low.
  for (let i = 0; i < 3; i++) {
    const r = Date.now() - performance.now();
    if (r > reading) reading = r;
  }
  if (reading > TIME_ORIGIN_MS || reading < TIME_ORIGIN_MS - BACK_STEP_MS) TIME_ORIGIN_MS = reading;
}

/** Follows the wall clock once a second (timer unref'd); the returned function stops it. */
export function followWallClock(): () => void {
  const timer = setInterval(resyncClock, FOLLOW_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export const now: () => number = performance.now.bind(performance);

/** A user-supplied OTel TimeInput as performance.now() ms. */
export function fromTimeInput(t: TimeInput | undefined): number {
  if (t === undefined) return now();
  if (typeof t === 'number') {
    // OTel: a number is epoch ms when large, else performance.now() ms.
    return t > 1e11 ? t - TIME_ORIGIN_MS : t;
  }
  if (t instanceof Date) return t.getTime() - TIME_ORIGIN_MS;
  return t[0] * 1000 + t[1] / 1e6 - TIME_ORIGIN_MS;
}

/** performance.now() ms to an OTel HrTime (epoch seconds, nanoseconds). */
export function toHrTime(ms: number): HrTime {
  const epochMs = TIME_ORIGIN_MS + ms;
  const s = Math.floor(epochMs / 1000);
  return [s, Math.round((epochMs - s * 1000) * 1e6)];
}

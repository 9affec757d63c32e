/**
 * Times are `performance.now()` milliseconds on the hot path; they become epoch
 * nanoseconds only when encoded. Monotonic, so durations never go negative.
 */
import { performance } from 'node:perf_hooks';
import type { HrTime, TimeInput } from '@opentelemetry/api';

/** Epoch ms of performance.now() === 0. */
export const TIME_ORIGIN_MS = performance.timeOrigin;

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

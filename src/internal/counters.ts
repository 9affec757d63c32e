/**
 * Process-wide counters: nothing is dropped or retried without being counted here.
 * Plain number fields, so counting on the hot path is one increment. `stats()` returns a copy.
 */
export interface DroppedCounts {
  /** Finished spans refused because the pending buffer was full. */
  bufferFull: number;
  /** Spans in payloads the agent could not be reached with (connection refused, timeout...). */
  sendFailed: number;
  /** Spans in payloads the agent rejected (4xx other than 429/408). */
  rejected: number;
  /** Spans that could not be encoded. */
  encodeFailed: number;
  /** Spans still pending when shutdown's deadline passed. */
  shutdown: number;
}

export interface TracewellStats {
  spansStarted: number;
  spansFinished: number;
  /** Spans the agent accepted. */
  spansSent: number;
  tracesSent: number;
  /** Payloads (HTTP requests) the agent accepted. */
  payloadsSent: number;
  bytesSent: number;
  /** Finished spans waiting to be sent right now. */
  spansPending: number;
  dropped: DroppedCounts;
  /** Internal log lines suppressed by the rate limit. */
  logLinesSuppressed: number;
  /** Errors inside instrumentations, caught before they reached the app. */
  instrumentationErrors: number;
}

export const counters: TracewellStats = {
  spansStarted: 0,
  spansFinished: 0,
  spansSent: 0,
  tracesSent: 0,
  payloadsSent: 0,
  bytesSent: 0,
  spansPending: 0,
  dropped: { bufferFull: 0, sendFailed: 0, rejected: 0, encodeFailed: 0, shutdown: 0 },
  logLinesSuppressed: 0,
  instrumentationErrors: 0,
};

export function snapshot(): TracewellStats {
  return { ...counters, dropped: { ...counters.dropped } };
}

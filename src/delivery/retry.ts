/**
 * One payload's delivery: attempts with p-retry, bounded by a number of retries and by a total
 * deadline, exponential backoff with jitter, `Retry-After` honoured. What comes back is an
 * outcome the outbox acts on; nothing here throws.
 *
 * What is retried is what can succeed later: connection refused or reset, timeouts, and the
 * statuses in `retryStatuses` (408, 429, 502, 503, 504 for the Datadog Agent; 429, 502, 503,
 * 504 for OTLP). 413 is split by the caller; other 4xx are rejected (never retried). For the
 * Datadog Agent, 500 and the other 5xx are dead-lettered (not hammered now, replayed later);
 * for OTLP they are rejected too, as its spec says. An unknown host is a configuration error.
 */
import type { TransportResponse } from './transport';
import { describeError } from '../internal/logger';

export type Outcome =
  | { kind: 'ok'; status: number; body: string; raw?: Buffer }
  /** Never to be sent again as is: goes to the rejected file. */
  | { kind: 'rejected'; status: number; body: string }
  | { kind: 'too-large'; status: number }
  /** Could not be delivered now; may succeed later: goes to the dead-letter file. */
  | { kind: 'unavailable'; reason: string }
  /** The agent's address does not resolve. */
  | { kind: 'config'; reason: string }
  /** The caller gave up (shutdown deadline). */
  | { kind: 'aborted'; reason: string };

/** One attempt's result, classified. */
type Attempt = Outcome | { kind: 'retry'; reason: string; retryAfterMs: number };

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENOENT', // a unix socket that is not there (yet)
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

export const DATADOG_RETRY_STATUSES: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);
export const OTLP_RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** `Retry-After`: seconds or an HTTP date; -1 when absent or unreadable. */
function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v.trim() === '') return -1;
  const t = v.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const date = Date.parse(t);
  return Number.isNaN(date) ? -1 : Math.max(0, date - now);
}

/**
 * `rejectUnlisted`: a status that is neither 2xx, nor retryable, nor 413 is final (OTLP allows
 * retries of 429, 502, 503 and 504 only); otherwise only 4xx are, and 5xx are kept for later.
 */
function classifyResponse(res: TransportResponse, retryStatuses: ReadonlySet<number>, rejectUnlisted = false): Attempt {
  const s = res.status;
  if (s >= 200 && s < 300) return { kind: 'ok', status: s, body: res.body, raw: res.raw };
  if (retryStatuses.has(s)) return { kind: 'retry', reason: `the agent answered ${s}`, retryAfterMs: retryAfterMs(res.headers['retry-after']) };
  if (s === 413) return { kind: 'too-large', status: s };
  if ((s >= 400 && s < 500) || rejectUnlisted) return { kind: 'rejected', status: s, body: res.body };
  return { kind: 'unavailable', reason: `the agent answered ${s}` };
}

export function classifyError(err: unknown, aborted: boolean): Attempt {
  const code = (err as { code?: unknown } | null)?.code;
  if (aborted || (err as Error | null)?.name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') return { kind: 'aborted', reason: 'gave up at the deadline' };
  if (code === 'ENOTFOUND') return { kind: 'config', reason: describeError(err) };
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return { kind: 'retry', reason: describeError(err), retryAfterMs: -1 };
  // Anything else (TLS errors, a bad URL...) will not get better by itself soon.
  return { kind: 'unavailable', reason: describeError(err) };
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** No retry starts later than this after the first attempt. */
  deadlineMs: number;
  /** First backoff; doubled per retry, times a random 1-2, capped at `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  retryStatuses: ReadonlySet<number>;
  /** Statuses outside `retryStatuses` (and 413) are final, 5xx included (OTLP). Default false. */
  rejectUnlisted?: boolean;
}

export interface DeliveryHooks {
  /** Before each retry (the second attempt and later). */
  onRetry?(): void;
  /** After each attempt that failed in a way that counts against the agent (not 4xx). */
  onAttemptFailed(reason: string, retryAfterMs: number): void;
  /** After each attempt the agent answered with 2xx. */
  onAttemptSucceeded(): void;
  /** Checked before each retry: false stops retrying (e.g. the circuit opened). */
  mayRetry(): boolean;
}

/** Thrown inside p-retry for an attempt worth repeating. Never a TypeError (p-retry would not retry it). */
class RetryableFailure extends Error {
  constructor(readonly attempt: Attempt & { kind: 'retry' }) {
    super(attempt.reason);
    this.name = 'RetryableFailure';
  }
}

type PRetry = typeof import('p-retry').default;
let pRetry: PRetry | null = null;

/** p-retry, an ES module, loaded on the first send (`require(esm)`: Node 20.19+, our engines). */
function loadPRetry(): PRetry {
  return (pRetry ??= (require('p-retry') as { default: PRetry }).default);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    t.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends with retries. `attempt` performs one request; it may throw network errors.
 * Resolves with the final outcome; never rejects.
 *
 * p-retry does what it is for: the number of retries, exponential backoff with jitter
 * (`backoffMs` doubled per retry, times a random factor from 1 to 2, capped at
 * `maxBackoffMs`), the total deadline (no retry starts after `deadlineMs`, and no backoff
 * runs past it), `shouldRetry` (only failures that can succeed later, and only while the
 * circuit stays closed), abort on a signal, unref'd timers.
 *
 * What it cannot do is honour `Retry-After` (its delay is its own formula): that is the one
 * addition, in `shouldRetry`, which waits what the agent asked before p-retry's own backoff
 * (so the pause is at least what the agent asked), and gives up at once when the agent asks
 * for more time than the deadline leaves.
 */
export async function deliver(attempt: () => Promise<TransportResponse>, policy: RetryPolicy, hooks: DeliveryHooks, signal?: AbortSignal): Promise<Outcome> {
  const started = performance.now();
  try {
    return await loadPRetry()(
      async (n: number): Promise<Outcome> => {
        if (n > 1) hooks.onRetry?.();
        const a = await attemptOnce(attempt, policy, signal);
        if (a.kind === 'retry') {
          hooks.onAttemptFailed(a.reason, a.retryAfterMs);
          throw new RetryableFailure(a);
        }
        if (a.kind === 'ok') hooks.onAttemptSucceeded();
        else if (a.kind === 'unavailable' || a.kind === 'config') hooks.onAttemptFailed(a.reason, -1);
        return a;
      },
      {
        retries: policy.retries,
        maxRetryTime: policy.deadlineMs,
        minTimeout: policy.backoffMs,
        maxTimeout: policy.maxBackoffMs,
        factor: 2,
        randomize: true,
        unref: true,
        signal,
        shouldRetry: async ({ error }) => {
          if (!(error instanceof RetryableFailure) || !hooks.mayRetry()) return false;
          const after = error.attempt.retryAfterMs;
          if (after > 0) {
            // Retry-After: wait what the agent asked, unless that is past the deadline.
            if (after > policy.deadlineMs - (performance.now() - started)) return false;
            await sleep(after, signal);
          }
          return hooks.mayRetry();
        },
      },
    );
  } catch (err) {
    if (err instanceof RetryableFailure) return { kind: 'unavailable', reason: err.attempt.reason };
    if (signal?.aborted) return { kind: 'aborted', reason: 'gave up at the deadline' };
    return { kind: 'unavailable', reason: describeError(err) };
  }
}

async function attemptOnce(attempt: () => Promise<TransportResponse>, policy: RetryPolicy, signal: AbortSignal | undefined): Promise<Attempt> {
  try {
    return classifyResponse(await attempt(), policy.retryStatuses, policy.rejectUnlisted === true);
  } catch (err) {
    return classifyError(err, signal?.aborted === true);
  }
}

/**
 * One payload's delivery: attempts with p-retry, bounded by a number of retries and by a total
 * deadline, exponential backoff with jitter, `Retry-After` honoured. What comes back is an
 * outcome the pipeline acts on; nothing here throws.
 *
 * What is retried is what can succeed later: connection refused or reset, timeouts, and the
 * statuses in `retryStatuses` (408, 429, 502, 503, 504 for the Datadog Agent; 429, 502, 503,
 * 504 for OTLP). 413 is split by the caller; other 4xx are rejected (never retried). For the
 * Datadog Agent, 500 and the other 5xx are dead-lettered (not hammered now, replayed later);
 * for OTLP they are rejected too, as its spec says. An unknown host is a configuration error.
 */
import { pathToFileURL } from 'node:url';
import type { TransportResponse } from './transport';
import { counters } from '../internal/counters';
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
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number {
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
export function classifyResponse(res: TransportResponse, retryStatuses: ReadonlySet<number>, rejectUnlisted = false): Attempt {
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
  /** First backoff; doubled per retry, jittered, capped at `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  retryStatuses: ReadonlySet<number>;
  /** Statuses outside `retryStatuses` (and 413) are final, 5xx included (OTLP). Default false. */
  rejectUnlisted?: boolean;
}

export interface DeliveryHooks {
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
let pRetryPromise: Promise<PRetry> | null = null;

/**
 * p-retry is an ES module and Tracewell is compiled to CommonJS: it is loaded with a real
 * dynamic `import()` (which TypeScript would otherwise turn into `require`), once, on the
 * first send. `require(esm)` would print an ExperimentalWarning on Node 20 and 22.
 */
export function loadPRetry(): Promise<PRetry> {
  if (pRetryPromise === null) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const dynamicImport = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<{ default: PRetry }>;
    pRetryPromise = dynamicImport(pathToFileURL(require.resolve('p-retry')).href).then((m) => m.default);
    pRetryPromise.catch(() => {
      pRetryPromise = null;
    });
  }
  return pRetryPromise;
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

/** Exponential backoff with "equal jitter": half fixed, half random. */
export function backoffDelay(retry: number, base: number, max: number, random = Math.random): number {
  const d = Math.min(max, base * 2 ** Math.min(retry, 30));
  return Math.round(d / 2 + (random() * d) / 2);
}

/**
 * Sends with retries. `attempt` performs one request; it may throw network errors.
 * Resolves with the final outcome; never rejects.
 */
export async function deliver(attempt: () => Promise<TransportResponse>, policy: RetryPolicy, hooks: DeliveryHooks, signal?: AbortSignal): Promise<Outcome> {
  let pRetry: PRetry;
  try {
    pRetry = await loadPRetry();
  } catch (err) {
    // Without the retry library, one attempt is still better than none.
    return once(attempt, policy, hooks, signal, err);
  }
  const started = performance.now();
  try {
    return await pRetry(
      async (n: number): Promise<Outcome> => {
        if (n > 1) counters.retries++;
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
        // The delay is ours (shouldRetry below): p-retry's own would not know about Retry-After.
        minTimeout: 0,
        factor: 1,
        unref: true,
        signal,
        shouldRetry: async ({ error, retriesConsumed }) => {
          if (!(error instanceof RetryableFailure) || !hooks.mayRetry()) return false;
          const remaining = policy.deadlineMs - (performance.now() - started);
          const after = error.attempt.retryAfterMs;
          const wait = after >= 0 ? after : backoffDelay(retriesConsumed, policy.backoffMs, policy.maxBackoffMs);
          // A Retry-After past the deadline: give up now rather than wake up to give up.
          if (wait > remaining) return false;
          await sleep(wait, signal);
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

async function once(attempt: () => Promise<TransportResponse>, policy: RetryPolicy, hooks: DeliveryHooks, signal: AbortSignal | undefined, why: unknown): Promise<Outcome> {
  void why;
  const a = await attemptOnce(attempt, policy, signal);
  if (a.kind === 'retry') {
    hooks.onAttemptFailed(a.reason, a.retryAfterMs);
    return { kind: 'unavailable', reason: a.reason };
  }
  if (a.kind === 'ok') hooks.onAttemptSucceeded();
  return a;
}

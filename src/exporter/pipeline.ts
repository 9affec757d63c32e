/**
 * Finished traces -> encoder -> payloads -> target, with the dead-letter file beside the
 * transport. The same machinery serves the Datadog Agent and OTLP; what differs (encoding,
 * endpoint, headers, which statuses are retried, how a payload is split) is the target's.
 *
 * - Traces are encoded in small batches as they end, into the open payload; a payload is
 *   sealed at a size or on the flush timer and queued (bounded in bytes: past the bound the
 *   oldest queued payloads go to the dead-letter file, not to the bin).
 * - One payload is in flight at a time, with bounded retries (retry.ts). 413 splits it, 400
 *   and other 4xx put it in the rejected file, what could not be delivered goes to the
 *   dead-letter file.
 * - Failed attempts in a row open the circuit: then payloads go straight to the dead-letter
 *   file and the agent is probed on a backoff schedule.
 * - Once the agent answers and live data is out, dead-lettered payloads are replayed in the
 *   background, throttled, each removed only once the agent accepted it.
 * - Shutdown flushes within a deadline; whatever is not acknowledged by then is written to
 *   the dead-letter file, synchronously. `persistNow()` does that at `exit`.
 *
 * Nothing here throws into the host; every timer is unref'd; what is dropped is counted.
 */
import type { ResolvedConfig } from '../config/options';
import { counters } from '../internal/counters';
import { describeError, logger } from '../internal/logger';
import { Codes } from '../internal/errors';
import type { TwSpan } from '../tracer/span';
import type { TraceSink } from '../tracer/tracer';
import { CircuitBreaker } from './circuit-breaker';
import { ExportCodes } from './codes';
import { DeadLetterStore, type ReplayItem, type StreamKind } from './dead-letter/store';
import type { Part } from './encoders/split';
import { OutageLog } from './outage-log';
import { deliver, type DeliveryHooks, type Outcome, type RetryPolicy } from './retry';
import type { TransportResponse } from './transport';

/**
 * Spans encoded together (whole traces). A batch is encoded as soon as it holds this many, and
 * what is left of one at the next flush: no timer of its own. A timer a few ms after a burst
 * woke the process a second time for every burst of work, and on a virtual machine one
 * wake-up from idle costs 100-200 µs of CPU (measured here: more than encoding 300 spans).
 */
const BATCH_SPANS = 128;
/** A payload is sent once it holds this much, without waiting for the flush timer. */
const SEND_AT_BYTES = 1024 * 1024;
/** Dead-letter files of exited processes are looked for this long after start, then this often. */
const ADOPT_FIRST_MS = 1500;
const ADOPT_EVERY_MS = 5 * 60_000;
const MAX_BACKOFF_MS = 30_000;

export interface Payload {
  body: Buffer;
  traces: number;
  spans: number;
}

interface LivePayload extends Payload {
  /** Sent, dead-lettered, rejected or dropped: counted once. */
  settled: boolean;
}

export interface Encoder {
  append(spans: TwSpan[]): boolean;
  seal(): Payload;
  /** Spans in the open payload. */
  readonly spans: number;
  /** A sealed payload the agent accepted: nothing reads its body any more. */
  recycle?(body: Buffer): void;
  readonly size: number;
  readonly traces: number;
}

/** Where payloads go: the Datadog Agent or an OTLP endpoint. */
export interface ExportTarget {
  readonly kind: StreamKind;
  /** For messages: the agent or endpoint URL. */
  readonly url: string;
  readonly retryStatuses: ReadonlySet<number>;
  /** Other non-2xx answers (but 413) are final, 5xx included: to the rejected file. */
  readonly rejectUnlisted?: boolean;
  send(payload: Payload, signal: AbortSignal): Promise<TransportResponse>;
  /** True when the agent answered at all (it is reachable). Never rejects. */
  probe(): Promise<boolean>;
  /** A 2xx answer (Datadog: sampling rates; OTLP: a partial success). */
  accepted(res: { status: number; body: string; raw?: Buffer }): void;
  split(body: Buffer): [Part, Part] | null;
  /** The agent answers again (or for the first time): re-read what it supports. Never rejects. */
  refresh(): Promise<void>;
  /** Largest body the agent takes, when it said so. */
  readonly maxBodyBytes: number | undefined;
  destroy(): Promise<void>;
}

export interface PipelineOptions {
  config: ResolvedConfig;
  target: ExportTarget;
  encoder: Encoder;
  /** False for traces this export does not take (OTLP: unsampled traces). */
  accepts?: (spans: TwSpan[]) => boolean;
}

export class ExportPipeline implements TraceSink {
  protected readonly config: ResolvedConfig;
  protected readonly target: ExportTarget;
  private readonly encoder: Encoder;
  private readonly accepts: ((spans: TwSpan[]) => boolean) | undefined;
  readonly store: DeadLetterStore | null;
  private readonly breaker: CircuitBreaker;
  private readonly outage: OutageLog;
  private readonly policy: RetryPolicy;
  private readonly replayPolicy: RetryPolicy;
  private readonly hooks: DeliveryHooks;

  private readonly queue: LivePayload[] = [];
  private queuedBytes = 0;
  private queuedSpans = 0;
  /** Bounds on what waits in memory, in spans: past them, payloads are sealed, then spilled to disk. */
  private readonly maxQueuedSpans: number;
  private readonly sealAtSpans: number;
  private readonly maxQueuedBytes: number;
  private sendAtBytes: number;
  private readonly maxPendingSpans: number;
  private timer: NodeJS.Timeout | null = null;
  private adoptTimer: NodeJS.Timeout | null = null;
  private holdTimer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private closed = false;
  private started = false;
  /** Aborts live requests in flight when a bounded flush runs out of time. */
  private abort = new AbortController();
  private deadlinePassed = false;
  /** Aborts a replay in flight when the shutdown deadline passes. */
  private replayAbort = new AbortController();
  private replaying: Promise<void> | null = null;
  private stopping = false;
  private replayNextAt = 0;
  private configWarned = false;

  constructor(opts: PipelineOptions) {
    const { config, target } = opts;
    this.config = config;
    this.target = target;
    this.encoder = opts.encoder;
    this.accepts = opts.accepts;
    this.sendAtBytes = Math.min(config.maxPayloadBytes, SEND_AT_BYTES);
    this.maxPendingSpans = config.maxPendingSpans;
    this.store = config.dlqEnabled ? new DeadLetterStore({ root: config.dlqDir, service: config.service, kind: target.kind, maxBytes: config.dlqMaxBytes }) : null;
    // Queued payloads hold at most half of maxPendingSpans and the open one a quarter, so spans
    // that are made faster than they can be sent go to the dead-letter file (when there is
    // one) before the pending count reaches the bound where they would be dropped.
    // Without one, the pending bound alone decides (spans past it are dropped and counted).
    this.maxQueuedSpans = this.store !== null ? Math.max(1, this.maxPendingSpans >> 1) : Infinity;
    // (A quarter of the default 50k is 12.5k spans, about 1 MiB of /v0.5: payloads are sealed
    // at their size under a steady load, and each request costs ~1 ms of CPU however small.)
    this.sealAtSpans = this.store !== null ? Math.max(1, this.maxPendingSpans >> 2) : Infinity;
    // With a dead-letter file, memory holds a few payloads and the rest goes to disk.
    this.maxQueuedBytes = this.store !== null ? Math.max(4 * this.sendAtBytes, 4 * 1024 * 1024) : config.maxPayloadBytes * 4;
    this.policy = {
      retries: config.exportRetries,
      deadlineMs: config.exportRetryDeadlineMs,
      backoffMs: config.exportBackoffMs,
      maxBackoffMs: Math.max(config.exportBackoffMs, MAX_BACKOFF_MS),
      retryStatuses: target.retryStatuses,
      rejectUnlisted: target.rejectUnlisted === true,
    };
    // A replayed payload is tried once: if that fails the circuit decides when to try again.
    this.replayPolicy = { ...this.policy, retries: 0 };
    this.outage = new OutageLog(target.url, config.outageSummaryIntervalMs, () => this.fate());
    this.breaker = new CircuitBreaker({
      failures: config.breakerFailures,
      probeBaseMs: config.breakerProbeMs,
      probeMaxMs: config.breakerProbeMaxMs,
      probe: () => this.target.probe(),
      onOpen: (reason) => this.outage.start(reason, !this.configWarned),
      onClose: () => {
        this.outage.end();
        this.refreshTarget();
        this.flushSoon();
      },
    });
    this.hooks = {
      onAttemptFailed: (reason, retryAfterMs) => this.breaker.failure(reason, retryAfterMs),
      onAttemptSucceeded: () => this.breaker.success(),
      mayRetry: () => this.breaker.closed && !this.deadlinePassed && !this.closed,
    };
    this.timer = setInterval(() => this.flushSoon(), config.flushIntervalMs);
    this.timer.unref();
    if (this.store !== null) {
      this.adoptTimer = setTimeout(() => this.adopt(), ADOPT_FIRST_MS + Math.random() * ADOPT_FIRST_MS);
      this.adoptTimer.unref();
    }
  }

  /** What happens to spans while the agent is unreachable, for the outage warning. */
  private fate(): string {
    if (this.store === null) return 'spans are dropped and counted in stats().dropped.sendFailed until it answers (the dead-letter file is off)';
    return `spans are written to the dead-letter file in ${this.store.dir} and sent once it answers again (counts in stats().deadLetter)`;
  }

  // ------------------------------------------------------------ intake

  enqueue(spans: TwSpan[]): void {
    if (this.closed) {
      counters.dropped.shutdown += spans.length;
      return;
    }
    if (this.accepts !== undefined && !this.accepts(spans)) {
      counters.dropped.unsampled += spans.length;
      return;
    }
    if (counters.spansPending + spans.length > this.maxPendingSpans) {
      this.dropFull(spans.length, 'the pending buffer is full');
      return;
    }
    counters.spansPending += spans.length;
    // Traces are encoded in small batches, not one by one between two requests: one hot loop
    // over a batch runs several times faster. The batch is bounded in spans, not traces, so
    // what it holds stays small enough to be dead by the next scavenge (128 ten-span traces
    // held for their batch cost ~20% more CPU per span, most of it in the collector). A batch
    // that does not fill waits for the next flush (at most flushIntervalMs).
    const batch = this.batch;
    batch.push(spans);
    this.batchSpans += spans.length;
    if (this.batchSpans >= BATCH_SPANS) this.encodeBatch();
  }

  private batch: TwSpan[][] = [];
  private batchSpans = 0;
  /** The other batch array: the two swap, so encoding a batch never sees traces added meanwhile. */
  private spareBatch: TwSpan[][] = [];

  private encodeBatch(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    // Taken out before the loop: a flush started from here (which encodes what is batched)
    // must find an empty batch, not encode these traces a second time.
    this.batch = this.spareBatch;
    this.batchSpans = 0;
    let sealed = false;
    for (let i = 0; i < batch.length; i++) {
      const spans = batch[i];
      if (!this.encoder.append(spans)) {
        counters.spansPending -= spans.length;
        counters.dropped.encodeFailed += spans.length;
        logger.warn('a trace could not be encoded and was dropped', 'encode');
      } else if (this.encoder.size >= this.sendAtBytes || this.encoder.spans >= this.sealAtSpans) {
        // Under load, send every MiB rather than let one payload grow to the limit: memory
        // stays small and the agent sees a steady stream.
        this.seal();
        sealed = true;
      }
    }
    batch.length = 0;
    this.spareBatch = batch;
    if (sealed) this.sendSoon();
  }

  private dropFull(n: number, why: string): void {
    counters.dropped.bufferFull += n;
    logger.warn(`[${Codes.BUFFER_FULL}] dropping spans: ${why} (${counters.dropped.bufferFull} dropped so far; see stats().dropped)`, 'buffer-full');
  }

  /** Moves the open payload to the send queue; past the memory bound the oldest queued go to disk. */
  private seal(): void {
    if (this.encoder.traces === 0) return;
    const sealed = this.encoder.seal();
    const payload: LivePayload = { body: sealed.body, traces: sealed.traces, spans: sealed.spans, settled: false };
    const over = (): boolean => (this.queuedBytes + payload.body.length > this.maxQueuedBytes || this.queuedSpans + payload.spans > this.maxQueuedSpans) && this.queue.length > 0;
    if (this.store !== null) {
      // Persist early: the oldest queued payloads go to disk (the head may be in flight).
      while (over()) {
        const victim = this.queue.length > 1 ? this.queue[1] : this.sending === null ? this.queue[0] : undefined;
        if (victim === undefined) break;
        this.unqueue(victim);
        this.deadLetter(victim);
      }
      if (over()) {
        this.deadLetter(payload);
        return;
      }
    } else if (over()) {
      counters.spansPending -= payload.spans;
      payload.settled = true;
      this.dropFull(payload.spans, 'payloads are waiting for the agent');
      return;
    }
    this.queue.push(payload);
    this.queuedBytes += payload.body.length;
    this.queuedSpans += payload.spans;
  }

  private unqueue(p: LivePayload): void {
    const i = this.queue.indexOf(p);
    if (i < 0) return;
    this.queue.splice(i, 1);
    this.queuedBytes -= p.body.length;
    this.queuedSpans -= p.spans;
  }

  // ------------------------------------------------------------ sending

  private flushSoon(): void {
    this.flush().catch((err) => logger.error('flush failed', err, 'flush'));
  }

  /** Sends everything finished so far; resolves when the agent answered (or failed). */
  async flush(): Promise<void> {
    this.encodeBatch();
    this.seal();
    await this.sendQueued();
  }

  /**
   * Sends the sealed payloads, not the open one: a payload sealed at its size is sent at once
   * while the next one keeps filling (sealing that one too would halve the payload size and
   * double the requests under a steady load).
   */
  private sendSoon(): void {
    this.sendQueued().catch((err) => logger.error('send failed', err, 'flush'));
  }

  private async sendQueued(): Promise<void> {
    while (this.sending !== null) await this.sending;
    if (this.queue.length === 0) {
      this.kickReplay();
      return;
    }
    this.sending = this.drain();
    try {
      await this.sending;
    } finally {
      this.sending = null;
    }
    this.kickReplay();
  }

  private async drain(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.refreshTarget();
    }
    this.applyAgentLimit();
    while (this.queue.length > 0) {
      if (this.deadlinePassed || !this.breaker.closed) {
        this.deadLetterQueue();
        return;
      }
      const hold = this.breaker.holdUntil - Date.now();
      if (hold > 0) {
        // The agent asked for a pause (Retry-After): payloads wait (bounded) until then.
        if (this.holdTimer === null) {
          this.holdTimer = setTimeout(() => {
            this.holdTimer = null;
            this.flushSoon();
          }, hold);
          this.holdTimer.unref();
        }
        return;
      }
      const p = this.queue[0];
      const outcome = await deliver(() => this.target.send(p, this.abort.signal), this.policy, this.hooks, this.abort.signal);
      this.unqueue(p);
      if (p.settled) continue;
      this.settle(p, outcome);
    }
  }

  /** Re-reads what the agent supports; its size limit applies to payloads from then on. */
  private refreshTarget(): void {
    this.target.refresh().then(
      () => this.applyAgentLimit(),
      () => undefined,
    );
  }

  /** Payloads are sealed at half the agent's `max_request_bytes` (when it said), so one trace more still fits. */
  private applyAgentLimit(): void {
    const agentMax = this.target.maxBodyBytes;
    if (agentMax !== undefined && agentMax >> 1 < this.sendAtBytes) this.sendAtBytes = Math.max(16 * 1024, agentMax >> 1);
  }

  private settle(p: LivePayload, outcome: Outcome): void {
    switch (outcome.kind) {
      case 'ok':
        p.settled = true;
        counters.spansPending -= p.spans;
        counters.spansSent += p.spans;
        counters.tracesSent += p.traces;
        counters.payloadsSent++;
        counters.bytesSent += p.body.length;
        if (this.outage.active && this.breaker.closed) this.outage.end();
        this.target.accepted(outcome);
        this.encoder.recycle?.(p.body);
        return;
      case 'rejected':
        this.reject(p, `${outcome.status}: ${outcome.body.slice(0, 200)}`);
        counters.spansPending -= p.spans;
        p.settled = true;
        return;
      case 'too-large': {
        const parts = this.target.split(p.body);
        if (parts === null) {
          this.reject(p, `${outcome.status}: a single trace larger than the agent accepts`);
          counters.spansPending -= p.spans;
          p.settled = true;
          return;
        }
        // Halves go first in line, in order; their spans stay pending.
        p.settled = true;
        const halves = parts.map((part): LivePayload => ({ ...part, settled: false }));
        this.queue.unshift(...halves);
        for (const h of halves) {
          this.queuedBytes += h.body.length;
          this.queuedSpans += h.spans;
        }
        this.sendAtBytes = Math.max(16 * 1024, Math.min(this.sendAtBytes, p.body.length >> 1));
        return;
      }
      case 'config':
        this.configError(outcome.reason);
        this.deadLetter(p);
        return;
      case 'unavailable':
        if (!this.outage.active) this.outage.start(outcome.reason);
        this.deadLetter(p);
        return;
      case 'aborted':
        this.deadLetter(p);
        return;
    }
  }

  private configError(reason: string): void {
    if (!this.configWarned) {
      this.configWarned = true;
      let host = this.target.url;
      try {
        host = new URL(this.target.url).hostname;
      } catch {
        /* keep the URL */
      }
      const where = this.target.kind === 'dd' ? 'DD_AGENT_HOST / DD_TRACE_AGENT_URL' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
      logger.warn(
        `[${ExportCodes.AGENT_HOST_UNKNOWN}] the host "${host}" of ${this.target.url} does not resolve (${reason}): a configuration error, check ${where}; meanwhile ${this.fate()}`,
        'config-host',
      );
    }
    // A configuration error is an outage that says so in its own words.
    this.breaker.open(reason);
  }

  /** Spans that cannot be sent now: to the dead-letter file, or counted as dropped. */
  private deadLetter(p: LivePayload): void {
    if (p.settled) return;
    p.settled = true;
    counters.spansPending -= p.spans;
    if (this.store === null) {
      counters.dropped.sendFailed += p.spans;
      return;
    }
    // Deflated when it may sit on disk a while (an outage, a shutdown) or when the folder
    // holds an eighth of its limit already (a burst far larger than memory must still fit);
    // a smaller burst that outran a healthy agent is replayed within seconds, and deflating
    // costs ~2 µs a span.
    const deflate = !this.breaker.closed || this.stopping || this.deadlinePassed || this.store.bytesOnDisk > this.store.maxBytes / 8;
    if (this.store.append(p.body, p.spans, p.traces, false, deflate) === 'ok') {
      counters.deadLetter.spansWritten += p.spans;
      counters.deadLetter.payloadsWritten++;
    } else {
      counters.dropped.deadLetterFailed += p.spans;
    }
  }

  private deadLetterQueue(): void {
    for (const p of this.queue.splice(0)) this.deadLetter(p);
    this.queuedBytes = 0;
    this.queuedSpans = 0;
  }

  /** Malformed for the agent: counted, kept in the rejected file, never sent again by itself. */
  private reject(p: Payload, why: string): void {
    counters.dropped.rejected += p.spans;
    counters.deadLetter.spansRejected += p.spans;
    counters.deadLetter.payloadsRejected++;
    const kept = this.store !== null && this.store.append(p.body, p.spans, p.traces, true) === 'ok';
    const where = kept ? `it is kept in ${this.store!.dir} (see \`tracewell dlq show\`) and not sent again` : 'it was dropped';
    logger.warn(`[${ExportCodes.EXPORT_REJECTED}] ${this.target.url} rejected a payload of ${p.spans} spans with ${why}; ${where}`, 'rejected');
  }

  // ------------------------------------------------------------ replay

  private adopt(): void {
    this.adoptTimer = null;
    if (this.stopping || this.store === null) return;
    try {
      const n = this.store.adoptOrphans();
      if (n > 0) {
        logger.debug(`adopted ${n} dead-letter file(s) of exited processes in ${this.store.dir}`);
        // Replay once the agent is known to answer: quietly ask it.
        if (this.breaker.closed) {
          void this.target.probe().then((ok) => {
            if (ok) this.kickReplay();
          });
        }
      }
    } catch (err) {
      logger.error('could not look for dead-letter files to adopt', err, 'adopt');
    }
    this.adoptTimer = setTimeout(() => this.adopt(), ADOPT_EVERY_MS);
    this.adoptTimer.unref();
  }

  private liveBusy(): boolean {
    return this.queue.length > 0 || this.sending !== null || this.batch.length > 0;
  }

  private kickReplay(): void {
    if (this.replaying !== null || this.store === null || this.stopping || !this.breaker.closed || !this.store.hasPending) return;
    this.replaying = this.replayLoop()
      .catch((err) => logger.error('dead-letter replay failed', err, 'replay'))
      .finally(() => {
        this.replaying = null;
      });
  }

  private async replayLoop(): Promise<void> {
    const store = this.store!;
    while (!this.stopping && this.breaker.closed && !this.liveBusy()) {
      const item = store.next();
      if (item === null) return;
      // Throttled: at most dlqReplayBytesPerSec, measured over the items sent.
      const now = Date.now();
      const wait = this.replayNextAt - now;
      this.replayNextAt = Math.max(now, this.replayNextAt) + (item.body.length * 1000) / this.config.dlqReplayBytesPerSec;
      if (wait > 0) await sleepUnref(wait);
      if (this.stopping || !this.breaker.closed || this.liveBusy()) {
        store.rewind();
        return;
      }
      if (item.gone()) continue;
      this.replayAbort = new AbortController();
      const outcome = await deliver(() => this.target.send(item, this.replayAbort.signal), this.replayPolicy, this.hooks, this.replayAbort.signal);
      if (!this.replayed(item, outcome)) {
        store.rewind();
        return;
      }
    }
  }

  /** Acts on a replayed payload's outcome; false when replay should stop for now. */
  private replayed(item: ReplayItem, outcome: Outcome): boolean {
    switch (outcome.kind) {
      case 'ok':
        if (item.gone()) counters.dropped.evicted -= item.spans; // evicted while in flight, but it arrived
        item.done();
        counters.deadLetter.spansReplayed += item.spans;
        counters.deadLetter.payloadsReplayed++;
        counters.spansSent += item.spans;
        counters.tracesSent += item.traces;
        counters.payloadsSent++;
        counters.bytesSent += item.body.length;
        this.target.accepted(outcome);
        return true;
      case 'rejected':
        this.reject(item, `${outcome.status}: ${outcome.body.slice(0, 200)}`);
        item.done();
        return true;
      case 'too-large': {
        const parts = this.target.split(item.body);
        if (parts === null) this.reject(item, `${outcome.status}: a single trace larger than the agent accepts`);
        else {
          // The halves go to the end of the file as new records; the original is done.
          for (const part of parts) {
            if (this.store!.append(part.body, part.spans, part.traces) !== 'ok') counters.dropped.deadLetterFailed += part.spans;
          }
        }
        item.done();
        return true;
      }
      case 'config':
        this.configError(outcome.reason);
        return false;
      default:
        return false;
    }
  }

  // ------------------------------------------------------------ shutdown

  /**
   * Writes everything not yet acknowledged (the open payload, the queue, the payload in
   * flight) to the dead-letter file, synchronously. For `exit` and signal paths.
   */
  persistNow(): void {
    try {
      this.encodeBatch();
      this.seal();
      this.deadLetterQueue();
    } catch (err) {
      logger.error('could not write pending spans to the dead-letter file', err, 'persist');
    }
  }

  /**
   * Flushes, but gives up after `deadlineMs`: requests still in flight are aborted, and what
   * was not acknowledged goes to the dead-letter file. The deadline timer holds the process
   * open until then (our sockets do not), so an exiting app waits at most `deadlineMs`.
   */
  async flushWithin(deadlineMs: number = this.config.shutdownTimeoutMs): Promise<void> {
    this.encodeBatch();
    this.seal();
    if (!this.breaker.closed || this.breaker.holdUntil > Date.now()) {
      // The agent is known to be down (or asked for a pause): no point waiting for it.
      this.persistNow();
      return;
    }
    if (this.queue.length === 0 && this.sending === null) return;
    const abort = this.abort;
    const timer = setTimeout(() => {
      this.deadlinePassed = true;
      abort.abort();
    }, deadlineMs);
    try {
      await this.flush();
    } finally {
      clearTimeout(timer);
      if (this.deadlinePassed) {
        this.deadlinePassed = false;
        this.abort = new AbortController();
      }
    }
    this.persistNow();
  }

  async shutdown(deadlineMs: number = this.config.shutdownTimeoutMs): Promise<void> {
    if (this.closed) return;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.adoptTimer !== null) clearTimeout(this.adoptTimer);
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.timer = this.adoptTimer = this.holdTimer = null;
    this.stopping = true;
    const started = Date.now();
    try {
      await this.flushWithin(deadlineMs);
      // A replayed payload in flight is waited for (within the deadline) so it is not sent twice.
      if (this.replaying !== null) {
        const left = Math.max(0, deadlineMs - (Date.now() - started));
        let t: NodeJS.Timeout | undefined;
        await Promise.race([this.replaying, new Promise<void>((r) => (t = setTimeout(r, left)))]);
        clearTimeout(t);
        this.replayAbort.abort();
      }
    } catch (err) {
      logger.error('shutdown flush failed', err, 'shutdown');
    }
    this.closed = true;
    this.persistNow();
    if (counters.spansPending > 0) {
      counters.dropped.shutdown += counters.spansPending;
      counters.spansPending = 0;
    }
    this.breaker.stop();
    this.outage.stop();
    this.store?.close();
    await this.target.destroy();
  }
}

function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export { describeError };

/**
 * The outbox of one producer to one agent: what the producer encoded, on its way.
 *
 * - Payloads wait in a queue bounded in bytes and items; past the bound the oldest go to the
 *   dead-letter file (not to the bin), or are dropped and counted when there is none.
 * - One payload is in flight at a time, with bounded retries (retry.ts). 413 splits it (when
 *   the destination can), 400 and other 4xx put it in the rejected file, what could not be
 *   delivered goes to the dead-letter file.
 * - The agent's circuit (link.ts, shared by every outbox to that agent): while it is open,
 *   payloads go straight to the dead-letter file and the agent is probed on a backoff schedule.
 * - Once the agent answers and live data is out, dead-lettered payloads (this process's, and
 *   those of exited processes of the same service, adopted) are replayed in the background,
 *   throttled, each marked done only once the agent accepted it.
 * - A bounded flush (`flushWithin`) for shutdown; whatever is not acknowledged by then is
 *   written to the dead-letter file, synchronously; `persistNow()` does that at `exit`.
 *
 * Nothing here throws into the host; every timer is unref'd; what is dropped is counted by the
 * producer's ledger.
 */
import { logger } from '../internal/logger';
import { DeliveryCodes } from './codes';
import type { DeadLetterStore, ReplayItem } from './dead-letter/store';
import { diskBody, payloadFromDisk, type Destination, type DropReason, type Ledger, type Payload } from './destination';
import type { AgentLink, LinkUser } from './link';
import { deliver, type DeliveryHooks, type Outcome, type RetryPolicy } from './retry';
import type { TransportResponse } from './transport';

/** Dead-letter files of exited processes are looked for this long after start, then this often. */
const ADOPT_FIRST_MS = 1500;
const ADOPT_EVERY_MS = 5 * 60_000;

interface LivePayload extends Payload {
  /** Sent, dead-lettered, rejected or dropped: counted once. */
  settled: boolean;
}

interface OutboxOptions {
  link: AgentLink;
  destination: Destination;
  ledger: Ledger;
  /** Where the ledger's counts are read, for messages (`stats().deadLetter`). */
  countedIn: string;
  /** Retries, deadline and backoff of one payload's delivery. */
  policy: Omit<RetryPolicy, 'retryStatuses' | 'rejectUnlisted'>;
  /** The dead-letter file of this kind of payload, or null when it is off. */
  store: DeadLetterStore | null;
  replayBytesPerSec: number;
  /** Bounds on what waits in memory; past them the oldest payloads are spilled (or dropped). */
  maxQueuedBytes: number;
  maxQueuedItems: number;
  /** Live data the producer holds that is not pushed yet: replay waits for it. */
  producerBusy?: () => boolean;
  /** Run when the agent answers again (default: send what is queued). */
  onAgentBack?: () => void;
}

export class Outbox implements LinkUser {
  readonly destination: Destination;
  readonly store: DeadLetterStore | null;
  private readonly link: AgentLink;
  private readonly ledger: Ledger;
  private readonly policy: RetryPolicy;
  private readonly replayPolicy: RetryPolicy;
  private readonly hooks: DeliveryHooks;

  private readonly queue: LivePayload[] = [];
  private queuedBytes = 0;
  private queuedItems = 0;
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
  /** A bounded flush ran out of time while replaying: the loop ends after the item in flight. */
  private replayStop = false;
  /** Files of exited processes were looked for once (at the first timer, or when the agent first accepted something). */
  private adopted = false;
  /** For the outage log: items kept, dropped and retried so far. */
  private readonly counts = { kept: 0, dropped: 0, retries: 0 };

  constructor(private readonly opts: OutboxOptions) {
    this.link = opts.link;
    this.destination = opts.destination;
    this.ledger = opts.ledger;
    this.store = opts.store;
    this.policy = { ...opts.policy, retryStatuses: opts.destination.retryStatuses, rejectUnlisted: opts.destination.rejectUnlisted === true };
    // A replayed payload is tried once: if that fails the circuit decides when to try again.
    this.replayPolicy = { ...this.policy, retries: 0 };
    const breaker = this.link.breaker;
    this.hooks = {
      onRetry: () => {
        this.counts.retries++;
        this.ledger.retried();
      },
      onAttemptFailed: (reason, retryAfterMs) => breaker.failure(reason, retryAfterMs),
      onAttemptSucceeded: () => breaker.success(),
      mayRetry: () => breaker.closed && !this.deadlinePassed && !this.closed,
    };
    this.link.attach(this);
    if (this.store !== null) {
      this.adoptTimer = setTimeout(() => this.adopt(), ADOPT_FIRST_MS + Math.random() * ADOPT_FIRST_MS);
      this.adoptTimer.unref();
    }
  }

  get url(): string {
    return this.link.url;
  }

  // ------------------------------------------------------------ the link's questions

  get what(): string {
    return this.destination.what;
  }

  /** What happens to this outbox's data while the agent is unreachable. */
  fate(): string {
    const unit = this.destination.unit;
    if (this.store === null) return `${unit} are dropped and counted in ${this.opts.countedIn} until it answers (the dead-letter file is off)`;
    return `${unit} are written to the dead-letter file in ${this.store.dir} and sent once it answers again (counts in ${this.opts.countedIn})`;
  }

  tally(): { unit: string; kept: number; dropped: number; retries: number } {
    return { unit: this.destination.unit, ...this.counts };
  }

  agentBack(): void {
    this.refresh();
    if (this.opts.onAgentBack !== undefined) this.opts.onAgentBack();
    else this.flushSoon();
  }

  // ------------------------------------------------------------ intake

  /** Queues a payload and starts sending; past the memory bound the oldest queued go to disk. */
  push(p: Payload): void {
    const payload: LivePayload = { ...p, settled: false };
    if (this.closed) {
      this.drop(payload, 'shutdown');
      return;
    }
    const over = (): boolean => (this.queuedBytes + payload.body.length > this.opts.maxQueuedBytes || this.queuedItems + payload.items > this.opts.maxQueuedItems) && this.queue.length > 0;
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
      this.drop(payload, 'bufferFull');
      logger.warn(`[TW_BUFFER_FULL] dropping ${this.destination.unit}: payloads are waiting for the agent (see ${this.opts.countedIn})`, `buffer-full-${this.destination.kind}`);
      return;
    }
    this.queue.push(payload);
    this.queuedBytes += payload.body.length;
    this.queuedItems += payload.items;
  }

  /** Payloads waiting or in flight. */
  get busy(): boolean {
    return this.queue.length > 0 || this.sending !== null;
  }

  private unqueue(p: LivePayload): void {
    const i = this.queue.indexOf(p);
    if (i < 0) return;
    this.queue.splice(i, 1);
    this.queuedBytes -= p.body.length;
    this.queuedItems -= p.items;
  }

  // ------------------------------------------------------------ sending

  flushSoon(): void {
    this.flush().catch((err) => logger.error('send failed', err, 'flush'));
  }

  /** Sends what is queued; resolves when the agent answered (or the sends failed). */
  async flush(): Promise<void> {
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
      this.refresh();
    }
    const breaker = this.link.breaker;
    while (this.queue.length > 0) {
      if (this.deadlinePassed || !breaker.closed) {
        this.deadLetterQueue();
        return;
      }
      const hold = breaker.holdUntil - Date.now();
      if (hold > 0) {
        // The agent asked for a pause (Retry-After): payloads wait (bounded) until then.
        if (this.holdTimer === null) {
          this.holdTimer = setTimeout(() => {
            this.holdTimer = null;
            if (this.opts.onAgentBack !== undefined) this.opts.onAgentBack();
            else this.flushSoon();
          }, hold);
          this.holdTimer.unref();
        }
        return;
      }
      const p = this.queue[0];
      const outcome = await deliver(() => this.send(p, this.abort.signal), this.policy, this.hooks, this.abort.signal);
      this.unqueue(p);
      if (p.settled) continue;
      this.settle(p, outcome);
    }
  }

  private send(p: Payload, signal: AbortSignal): Promise<TransportResponse> {
    return this.destination.send(p, this.link.transport, signal);
  }

  /** Re-reads what the agent supports. */
  private refresh(): void {
    this.destination.refresh?.(this.link.transport).catch(() => undefined);
  }

  private settle(p: LivePayload, outcome: Outcome): void {
    switch (outcome.kind) {
      case 'ok':
        p.settled = true;
        this.ledger.sent(p, false);
        this.link.delivered();
        this.destination.accepted?.(p, outcome);
        return;
      case 'rejected':
        p.settled = true;
        this.reject(p, outcome.status, `${outcome.status}: ${outcome.body.slice(0, 200)}`, true);
        return;
      case 'too-large': {
        this.ledger.tooLarge?.(p);
        const parts = this.destination.split?.(p) ?? null;
        p.settled = true;
        if (parts === null) {
          this.reject(p, outcome.status, `${outcome.status}: a single ${this.destination.unit === 'spans' ? 'trace' : 'payload'} larger than the agent accepts`, true);
          return;
        }
        // Halves go first in line, in order; their items stay pending.
        const halves = parts.map((part): LivePayload => ({ ...part, settled: false }));
        this.queue.unshift(...halves);
        for (const h of halves) {
          this.queuedBytes += h.body.length;
          this.queuedItems += h.items;
        }
        return;
      }
      case 'config':
        this.link.configError(outcome.reason);
        this.deadLetter(p);
        return;
      case 'unavailable':
        this.link.unavailable(outcome.reason);
        this.deadLetter(p);
        return;
      case 'aborted':
        this.deadLetter(p);
        return;
    }
  }

  private drop(p: LivePayload, why: DropReason): void {
    if (p.settled) return;
    p.settled = true;
    this.counts.dropped += p.items;
    this.ledger.dropped(p, why, true);
  }

  /** A payload that cannot be sent now: to the dead-letter file, or counted as dropped. */
  private deadLetter(p: LivePayload): void {
    if (p.settled) return;
    if (this.store === null) {
      this.drop(p, 'sendFailed');
      return;
    }
    p.settled = true;
    // Deflated when it may sit on disk a while (an outage, a shutdown) or when the folder
    // holds an eighth of its limit already (a burst far larger than memory must still fit);
    // a smaller burst that outran a healthy agent is replayed within seconds, and deflating
    // costs ~2 µs a span.
    const deflate = !this.link.breaker.closed || this.stopping || this.deadlinePassed || this.store.bytesOnDisk > this.store.maxBytes / 8;
    if (this.store.append(diskBody(this.destination, p), p.items, p.traces, false, deflate) === 'ok') {
      this.counts.kept += p.items;
      this.ledger.deadLettered(p);
    } else {
      this.counts.dropped += p.items;
      this.ledger.dropped(p, 'deadLetterFailed', true);
    }
  }

  private deadLetterQueue(): void {
    for (const p of this.queue.splice(0)) this.deadLetter(p);
    this.queuedBytes = 0;
    this.queuedItems = 0;
  }

  /** Malformed for the agent: counted, kept in the rejected file, never sent again by itself. */
  private reject(p: Payload, status: number, why: string, live: boolean): void {
    this.ledger.rejected(p, status, live);
    const kept = this.store !== null && this.store.append(diskBody(this.destination, p), p.items, p.traces, true) === 'ok';
    const where = kept ? `it is kept in ${this.store!.dir} (see \`tracewell dlq show\`) and not sent again` : 'it was dropped';
    logger.warn(`[${DeliveryCodes.EXPORT_REJECTED}] ${this.link.url} rejected a payload of ${p.items} ${this.destination.unit} with ${why}; ${where}`, `rejected-${this.destination.kind}`);
  }

  // ------------------------------------------------------------ replay

  private adopt(): void {
    if (this.adoptTimer !== null) clearTimeout(this.adoptTimer);
    this.adoptTimer = null;
    this.adopted = true;
    if (this.stopping || this.store === null) return;
    try {
      const n = this.store.adoptOrphans();
      if (n > 0) {
        logger.debug(`adopted ${n} dead-letter file(s) of exited processes in ${this.store.dir}`);
        // Replay once the agent is known to answer: quietly ask it.
        if (this.link.breaker.closed) {
          void this.link.probe().then((ok) => {
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
    return this.busy || this.opts.producerBusy?.() === true;
  }

  private kickReplay(): void {
    if (this.replaying !== null || this.store === null || this.stopping || !this.link.breaker.closed) return;
    // The agent just took something: a good moment to look for what exited processes left.
    if (!this.adopted) this.adopt();
    if (!this.store.hasPending) return;
    this.replaying = this.replayLoop()
      .catch((err) => logger.error('dead-letter replay failed', err, 'replay'))
      .finally(() => {
        this.replaying = null;
      });
  }

  private async replayLoop(): Promise<void> {
    const store = this.store!;
    const breaker = this.link.breaker;
    this.replayStop = false;
    while (!this.stopping && !this.replayStop && breaker.closed && !this.liveBusy()) {
      const item = store.next();
      if (item === null) return;
      // Throttled: at most replayBytesPerSec, measured over the items sent.
      const now = Date.now();
      const wait = this.replayNextAt - now;
      this.replayNextAt = Math.max(now, this.replayNextAt) + (item.body.length * 1000) / this.opts.replayBytesPerSec;
      if (wait > 0) await sleepUnref(wait);
      if (this.stopping || this.replayStop || !breaker.closed || this.liveBusy()) {
        store.rewind();
        return;
      }
      if (item.gone()) continue;
      this.replayAbort = new AbortController();
      const payload = payloadFromDisk(this.destination, item);
      const outcome = await deliver(() => this.send(payload, this.replayAbort.signal), this.replayPolicy, this.hooks, this.replayAbort.signal);
      if (!this.replayed(item, payload, outcome)) {
        store.rewind();
        return;
      }
    }
  }

  /** Acts on a replayed payload's outcome; false when replay should stop for now. */
  private replayed(item: ReplayItem, payload: Payload, outcome: Outcome): boolean {
    switch (outcome.kind) {
      case 'ok':
        if (item.gone()) this.ledger.evicted(-item.items); // evicted while in flight, but it arrived
        item.done();
        this.ledger.sent(payload, true);
        this.destination.accepted?.(payload, outcome);
        return true;
      case 'rejected':
        this.reject(payload, outcome.status, `${outcome.status}: ${outcome.body.slice(0, 200)}`, false);
        item.done();
        return true;
      case 'too-large': {
        const parts = this.destination.split?.(payload) ?? null;
        if (parts === null) this.reject(payload, outcome.status, `${outcome.status}: a single payload larger than the agent accepts`, false);
        else {
          // The halves go to the end of the file as new records; the original is done.
          for (const part of parts) {
            if (this.store!.append(diskBody(this.destination, part), part.items, part.traces) !== 'ok') this.ledger.dropped(part, 'deadLetterFailed', false);
          }
        }
        item.done();
        return true;
      }
      case 'config':
        this.link.configError(outcome.reason);
        return false;
      default:
        return false;
    }
  }

  // ------------------------------------------------------------ shutdown

  /** Writes everything not yet acknowledged (the queue, the payload in flight) to the dead-letter file, synchronously. */
  persistNow(): void {
    try {
      this.deadLetterQueue();
    } catch (err) {
      logger.error(`could not write pending ${this.destination.unit} to the dead-letter file`, err, 'persist');
    }
  }

  /** Whether the agent is known to be down (or asked for a pause): no point waiting for it. */
  get unreachable(): boolean {
    return !this.link.breaker.closed || this.link.breaker.holdUntil > Date.now();
  }

  /**
   * Sends what is queued, but gives up after `deadlineMs`: requests still in flight are
   * aborted, and what was not acknowledged goes to the dead-letter file. The deadline timer
   * holds the process open until then (our sockets do not), so an exiting app waits at most
   * `deadlineMs`.
   */
  async flushWithin(deadlineMs: number): Promise<void> {
    if (this.unreachable) {
      this.persistNow();
      return;
    }
    if (this.queue.length === 0 && this.sending === null) return;
    const started = Date.now();
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
    // Live data is out: what the dead-letter file holds is sent too, within what is left.
    await this.awaitReplay(deadlineMs - (Date.now() - started));
  }

  /** Waits for a replay in flight for at most `ms`; then stops it (what was not acknowledged stays on disk). */
  private async awaitReplay(ms: number): Promise<void> {
    if (this.replaying === null) return;
    let t: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([this.replaying.then(() => false), new Promise<boolean>((r) => (t = setTimeout(() => r(true), Math.max(0, ms))))]);
    clearTimeout(t);
    if (timedOut) {
      this.replayStop = true;
      this.replayAbort.abort();
    }
  }

  /** Stops replay and adoption: the producer's last flush comes next (`close`). */
  beginClose(): void {
    if (this.adoptTimer !== null) clearTimeout(this.adoptTimer);
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.adoptTimer = this.holdTimer = null;
    this.stopping = true;
  }

  /** After the producer's last `flushWithin`: waits (within what is left of the deadline) for a replay in flight, then closes. */
  async close(deadlineLeftMs: number): Promise<void> {
    if (this.closed) return;
    this.beginClose();
    try {
      // A replayed payload in flight is waited for (within the deadline) so it is not sent twice.
      await this.awaitReplay(deadlineLeftMs);
    } catch (err) {
      logger.error('shutdown flush failed', err, 'shutdown');
    }
    this.closed = true;
    this.persistNow();
    this.store?.close();
    await this.link.detach(this);
  }
}

function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

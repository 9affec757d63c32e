/**
 * Finished traces -> encoder -> payloads -> the delivery layer (src/delivery: the outbox to
 * the agent, with retries, the circuit, the dead-letter file and replay). What is here is
 * what is particular to traces: batching, encoding, when a payload is sealed, and the bound
 * on spans waiting in memory.
 *
 * - Traces are encoded in small batches as they end, into the open payload; a payload is
 *   sealed at a size or at the flush interval and handed to the outbox.
 * - Spans made faster than they can be sent go to the dead-letter file (the outbox spills its
 *   oldest payloads) before the pending count reaches `maxPendingSpans`, where they would be
 *   dropped and counted.
 */
import type { ExportConfig } from '../config/slices';
import { counters } from '../internal/counters';
import { Codes } from '../internal/errors';
import { logger } from '../internal/logger';
import type { TwSpan } from '../tracer/span';
import type { TraceSink } from '../tracer/tracer';
import { DeadLetterStore } from '../delivery/dead-letter/store';
import type { Destination, Ledger } from '../delivery/destination';
import type { AgentLink } from '../delivery/link';
import { Outbox } from '../delivery/outbox';

/**
 * Spans encoded together (whole traces). A batch is encoded as soon as it holds this many, and
 * what is left of one at the next flush: no timer of its own. A timer a few ms after a burst
 * woke the process a second time for every burst of work, and on a virtual machine one
 * wake-up from idle costs 100-200 µs of CPU (measured here: more than encoding 300 spans).
 * 16, not 128: the spans of a batch are alive until it is encoded, so every young-generation
 * collection found half a batch alive and copied it. On Fastify at saturation (Node 24) that was
 * 50-60 KB surviving each scavenge against 1 KB untraced, and V8 answers steady survival by
 * growing the young generation (16 MB semi-spaces instead of 4). At 16: 9-12 KB, 8 MB, RSS
 * 6-14 MB lower, and no CPU difference measurable in paired runs (-0.9 to +0.4 µs a request);
 * at 1 to 4, +4.5 to +7.4 µs a request (encoding between requests runs cold).
 */
const BATCH_SPANS = 16;
/**
 * A payload is sent once it holds this much, without waiting for the flush timer. 256 KiB,
 * not 1 MiB: at saturation the payload being filled, the ones in flight, the pool of accepted
 * buffers and the dead ones waiting for a full collection (payloads live in old space's
 * external memory, collected rarely) held 9-13 MB of ArrayBuffers at 6k spans/s on Node 24,
 * about 2 MB at 256 KiB; four requests a second instead of one cost ~0.3% of a core.
 */
const SEND_AT_BYTES = 256 * 1024;
/** The smallest payload size a split or the agent's limit may bring the seal size down to. */
const MIN_SEND_AT = 16 * 1024;
const MAX_BACKOFF_MS = 30_000;

/** A sealed payload of traces, as the encoders make it. */
export interface EncodedTraces {
  body: Buffer;
  traces: number;
  spans: number;
}

export interface TraceEncoder {
  append(spans: TwSpan[]): boolean;
  seal(): EncodedTraces;
  /** Spans in the open payload. */
  readonly spans: number;
  /** A sealed payload the agent accepted: nothing reads its body any more. */
  recycle?(body: Buffer): void;
  readonly size: number;
  readonly traces: number;
}

/** A destination of traces: it may know the agent's largest body. */
export interface TraceDestination extends Destination {
  readonly maxBodyBytes?: number;
}

type TraceExportConfig = ExportConfig;

interface TraceExporterOptions {
  config: TraceExportConfig;
  link: AgentLink;
  destination: TraceDestination;
  encoder: TraceEncoder;
  /** False for traces this export does not take (OTLP: unsampled traces). */
  accepts?: (spans: TwSpan[]) => boolean;
}

/** Counts of sent, kept and lost spans: `stats()`. */
const traceLedger = (encoder: TraceEncoder): Ledger => ({
  sent(p, replayed) {
    if (replayed) {
      counters.deadLetter.spansReplayed += p.items;
      counters.deadLetter.payloadsReplayed++;
    } else {
      counters.spansPending -= p.items;
      encoder.recycle?.(p.body);
    }
    counters.spansSent += p.items;
    counters.tracesSent += p.traces;
    counters.payloadsSent++;
    counters.bytesSent += p.body.length;
  },
  deadLettered(p) {
    counters.spansPending -= p.items;
    counters.deadLetter.spansWritten += p.items;
    counters.deadLetter.payloadsWritten++;
  },
  dropped(p, why, live) {
    if (live) counters.spansPending -= p.items;
    counters.dropped[why] += p.items;
  },
  rejected(p, _status, live) {
    if (live) counters.spansPending -= p.items;
    counters.dropped.rejected += p.items;
    counters.deadLetter.spansRejected += p.items;
    counters.deadLetter.payloadsRejected++;
  },
  retried() {
    counters.retries++;
  },
  evicted(items) {
    counters.dropped.evicted += items;
  },
});

export class TraceExporter implements TraceSink {
  readonly outbox: Outbox;
  private readonly encoder: TraceEncoder;
  private readonly destination: TraceDestination;
  private readonly accepts: ((spans: TwSpan[]) => boolean) | undefined;
  private readonly config: TraceExportConfig;
  private readonly sealAtSpans: number;
  private readonly maxPendingSpans: number;
  /** Seal size: the configured one, lowered by the agent's limit and by 413 answers. */
  private sendAt: number;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  private batch: TwSpan[][] = [];
  private batchSpans = 0;
  /** The other batch array: the two swap, so encoding a batch never sees traces added meanwhile. */
  private spareBatch: TwSpan[][] = [];

  constructor(opts: TraceExporterOptions) {
    const { config } = opts;
    this.config = config;
    this.encoder = opts.encoder;
    this.accepts = opts.accepts;
    this.maxPendingSpans = config.maxPendingSpans;
    this.sendAt = Math.min(config.maxPayloadBytes, SEND_AT_BYTES);
    this.destination = opts.destination;
    const store = config.dlqEnabled
      ? new DeadLetterStore({ root: config.dlqDir, service: config.service, kind: opts.destination.kind, maxBytes: config.dlqMaxBytes, onEvicted: (n) => (counters.dropped.evicted += n) })
      : null;
    // Queued payloads hold at most half of maxPendingSpans and the open one a quarter, so spans
    // that are made faster than they can be sent go to the dead-letter file (when there is
    // one) before the pending count reaches the bound where they would be dropped.
    // Without one, the pending bound alone decides (spans past it are dropped and counted).
    // (A quarter of the default 50k is 12.5k spans, about 1 MiB of /v0.5: payloads are sealed
    // at their size, 256 KiB, under a steady load; each request costs ~1 ms of CPU however small.)
    this.sealAtSpans = store !== null ? Math.max(1, this.maxPendingSpans >> 2) : Infinity;
    opts.link.reportsCircuit = true;
    this.outbox = new Outbox({
      link: opts.link,
      destination: opts.destination,
      ledger: {
        ...traceLedger(opts.encoder),
        // A 413 also lowers the size payloads are sealed at from then on.
        tooLarge: (p) => {
          this.sendAt = Math.max(MIN_SEND_AT, Math.min(this.sendAt, p.body.length >> 1));
        },
      },
      countedIn: store !== null ? 'stats().deadLetter' : 'stats().dropped.sendFailed',
      policy: {
        retries: config.exportRetries,
        deadlineMs: config.exportRetryDeadlineMs,
        backoffMs: config.exportBackoffMs,
        maxBackoffMs: Math.max(config.exportBackoffMs, MAX_BACKOFF_MS),
      },
      store,
      replayBytesPerSec: config.dlqReplayBytesPerSec,
      // With a dead-letter file, memory holds a few payloads and the rest goes to disk.
      maxQueuedBytes: store !== null ? Math.max(4 * this.sendAt, 4 * 1024 * 1024) : config.maxPayloadBytes * 4,
      maxQueuedItems: store !== null ? Math.max(1, this.maxPendingSpans >> 1) : Infinity,
      producerBusy: () => this.batch.length > 0,
      onAgentBack: () => this.flushSoon(),
    });
    this.timer = setInterval(() => this.flushSoon(), config.flushIntervalMs);
    this.timer.unref();
  }

  /** The dead-letter store of this export (tests, `tracewell doctor`). */
  get store(): DeadLetterStore | null {
    return this.outbox.store;
  }

  // ------------------------------------------------------------ intake

  enqueue(spans: TwSpan[]): void {
    if (this.closed) {
      counters.dropped.shutdown += spans.length;
      return;
    }
    if (this.accepts !== undefined && !this.accepts(spans)) {
      // A dropped trace: only the spans single span sampling kept go on.
      let kept = 0;
      for (let i = 0; i < spans.length; i++) if (spans[i].spanSampled) kept++;
      counters.dropped.unsampled += spans.length - kept;
      if (kept === 0) return;
      spans = spans.filter((s) => s.spanSampled);
    }
    if (counters.spansPending + spans.length > this.maxPendingSpans) {
      this.dropFull(spans.length, 'the pending buffer is full');
      return;
    }
    counters.spansPending += spans.length;
    // Traces are encoded in small batches, not one by one between two requests: one hot loop
    // over a batch runs several times faster. The batch is bounded in spans, not traces, and
    // kept small: what it holds survives the scavenges that find it (see BATCH_SPANS). A batch
    // that does not fill waits for the next flush (at most flushIntervalMs).
    const batch = this.batch;
    batch.push(spans);
    this.batchSpans += spans.length;
    if (this.batchSpans >= BATCH_SPANS) this.encodeBatch();
  }

  /** Payloads are sealed at half the agent's `max_request_bytes` (when it said), so one trace more still fits. */
  private sealSize(): number {
    const agentMax = this.destination.maxBodyBytes;
    return agentMax !== undefined && agentMax >> 1 < this.sendAt ? Math.max(MIN_SEND_AT, agentMax >> 1) : this.sendAt;
  }

  private encodeBatch(): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    // Taken out before the loop: a flush started from here (which encodes what is batched)
    // must find an empty batch, not encode these traces a second time.
    this.batch = this.spareBatch;
    this.batchSpans = 0;
    const sendAt = this.sealSize();
    let sealed = false;
    for (let i = 0; i < batch.length; i++) {
      const spans = batch[i];
      if (!this.encoder.append(spans)) {
        counters.spansPending -= spans.length;
        counters.dropped.encodeFailed += spans.length;
        logger.warn('a trace could not be encoded and was dropped', 'encode');
      } else if (this.encoder.size >= sendAt || this.encoder.spans >= this.sealAtSpans) {
        // Under load, send every 256 KiB rather than let one payload grow to the limit: memory
        // stays small and the agent sees a steady stream.
        this.seal();
        sealed = true;
      }
    }
    batch.length = 0;
    this.spareBatch = batch;
    if (sealed) this.outbox.flushSoon();
  }

  private dropFull(n: number, why: string): void {
    counters.dropped.bufferFull += n;
    logger.warn(`[${Codes.BUFFER_FULL}] dropping spans: ${why} (${counters.dropped.bufferFull} dropped so far; see stats().dropped)`, 'buffer-full');
  }

  /** Hands the open payload to the outbox. */
  private seal(): void {
    if (this.encoder.traces === 0) return;
    const sealed = this.encoder.seal();
    this.outbox.push({ body: sealed.body, items: sealed.spans, traces: sealed.traces });
  }

  // ------------------------------------------------------------ sending

  private flushSoon(): void {
    this.flush().catch((err) => logger.error('flush failed', err, 'flush'));
  }

  /** Sends everything finished so far; resolves when the agent answered (or failed). */
  async flush(): Promise<void> {
    this.encodeBatch();
    this.seal();
    await this.outbox.flush();
  }

  /** Writes everything not yet acknowledged to the dead-letter file, synchronously (`exit`, signals). */
  persistNow(): void {
    try {
      this.encodeBatch();
      this.seal();
    } catch (err) {
      logger.error('could not write pending spans to the dead-letter file', err, 'persist');
    }
    this.outbox.persistNow();
  }

  /** Flushes, but gives up after `deadlineMs`; what was not acknowledged goes to the dead-letter file. */
  async flushWithin(deadlineMs: number = this.config.shutdownTimeoutMs): Promise<void> {
    this.encodeBatch();
    this.seal();
    await this.outbox.flushWithin(deadlineMs);
  }

  async shutdown(deadlineMs: number = this.config.shutdownTimeoutMs): Promise<void> {
    if (this.closed) return;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const started = Date.now();
    this.outbox.beginClose();
    try {
      await this.flushWithin(deadlineMs);
    } catch (err) {
      logger.error('shutdown flush failed', err, 'shutdown');
    }
    this.closed = true;
    this.persistNow();
    await this.outbox.close(deadlineMs - (Date.now() - started));
    if (counters.spansPending > 0) {
      counters.dropped.shutdown += counters.spansPending;
      counters.spansPending = 0;
    }
  }
}

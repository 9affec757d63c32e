/**
 * Finished traces -> Datadog Agent. Each trace is encoded as it ends into the open payload;
 * a payload is sealed when it reaches the size limit or when the flush timer fires, and
 * sealed payloads wait (bounded in bytes) for their turn to be sent. What cannot be kept or
 * sent is counted; an unreachable agent is one warning, not a line per flush.
 */
import type { ResolvedConfig } from '../config/options';
import { counters } from '../internal/counters';
import { Codes } from '../internal/errors';
import { describeError, logger } from '../internal/logger';
import type { TwSpan } from '../tracer/span';
import type { TraceSink } from '../tracer/tracer';
import { DatadogEncoder, type EncoderInfo } from './encoders/datadog-v04';
import { Transport } from './transport';
import { TRACER_VERSION } from '../internal/version';

/** Traces encoded together, at the latest this long after the first of them ended. */
const BATCH_TRACES = 128;
const BATCH_DELAY_MS = 20;
/** A payload is sent once it holds this much, without waiting for the flush timer. */
const SEND_AT_BYTES = 1024 * 1024;

export interface Payload {
  body: Buffer;
  traces: number;
  spans: number;
}

export interface AgentExporterOptions {
  config: ResolvedConfig;
  info: EncoderInfo;
  containerId?: string;
  /** Called with the agent's `rate_by_service` answer. */
  onRates?: (rates: Record<string, unknown>) => void;
}

export class AgentExporter implements TraceSink {
  private readonly encoder: DatadogEncoder;
  private readonly transport: Transport;
  private readonly headers: Record<string, string>;
  private readonly queue: Payload[] = [];
  private queuedBytes = 0;
  private readonly maxQueuedBytes: number;
  private readonly sendAtBytes: number;
  private readonly maxPendingSpans: number;
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private outage: { since: number; failedSpans: number } | null = null;
  private closed = false;

  constructor(private readonly opts: AgentExporterOptions) {
    const { config } = opts;
    this.encoder = new DatadogEncoder(config, opts.info);
    this.transport = new Transport(config.agentUrl);
    this.sendAtBytes = Math.min(config.maxPayloadBytes, SEND_AT_BYTES);
    this.maxQueuedBytes = config.maxPayloadBytes * 4;
    this.maxPendingSpans = config.maxPendingSpans;
    this.headers = {
      'Content-Type': 'application/msgpack',
      'Datadog-Meta-Lang': 'nodejs',
      'Datadog-Meta-Lang-Version': process.version,
      'Datadog-Meta-Lang-Interpreter': 'v8',
      'Datadog-Meta-Tracer-Version': TRACER_VERSION,
      'Datadog-Send-Real-Http-Status': 'true',
    };
    if (opts.containerId) this.headers['Datadog-Container-ID'] = opts.containerId;
    this.timer = setInterval(() => this.flushSoon(), config.flushIntervalMs);
    this.timer.unref();
  }

  enqueue(spans: TwSpan[]): void {
    if (this.closed) {
      counters.dropped.shutdown += spans.length;
      return;
    }
    if (counters.spansPending + spans.length > this.maxPendingSpans) {
      this.drop(spans.length, 'the pending buffer is full');
      return;
    }
    counters.spansPending += spans.length;
    // Traces are encoded in small batches a few ms after they end: one hot loop over a batch
    // runs several times faster than encoding each trace between two requests, and the spans
    // are still young garbage by the next scavenge.
    const batch = this.batch;
    batch.push(spans);
    if (batch.length >= BATCH_TRACES) this.encodeBatch();
    else if (this.batchTimer === null) {
      this.batchTimer = setTimeout(this.encodeBatchCallback, BATCH_DELAY_MS);
      this.batchTimer.unref();
    }
  }

  private readonly batch: TwSpan[][] = [];
  private batchTimer: NodeJS.Timeout | null = null;
  private readonly encodeBatchCallback = (): void => this.encodeBatch();

  private encodeBatch(): void {
    if (this.batchTimer !== null) {
      clearTimeout(this.batchTimer);
      this.batchTimer = null;
    }
    const batch = this.batch;
    for (let i = 0; i < batch.length; i++) {
      const spans = batch[i];
      if (!this.encoder.append(spans)) {
        counters.spansPending -= spans.length;
        counters.dropped.encodeFailed += spans.length;
        logger.warn('a trace could not be encoded and was dropped', 'encode');
      } else if (this.encoder.size >= this.sendAtBytes) {
        // Under load, send every MiB rather than let one payload grow to the limit: memory
        // stays small and the agent sees a steady stream.
        this.seal();
        this.flushSoon();
      }
    }
    batch.length = 0;
  }

  private drop(n: number, why: string): void {
    counters.dropped.bufferFull += n;
    logger.warn(`[${Codes.BUFFER_FULL}] dropping spans: ${why} (${counters.dropped.bufferFull} dropped so far; see stats().dropped)`, 'buffer-full');
  }

  /** Moves the open payload to the send queue. */
  private seal(): void {
    if (this.encoder.traces === 0) return;
    const payload = this.encoder.seal();
    if (this.queuedBytes + payload.body.length > this.maxQueuedBytes) {
      counters.spansPending -= payload.spans;
      this.drop(payload.spans, 'payloads are waiting for the agent');
      return;
    }
    this.queue.push(payload);
    this.queuedBytes += payload.body.length;
  }

  private flushSoon(): void {
    this.flush().catch((err) => logger.error('flush failed', err, 'flush'));
  }

  /** Sends everything finished so far; resolves when the agent answered (or failed). */
  async flush(): Promise<void> {
    this.encodeBatch();
    this.seal();
    while (this.sending !== null) await this.sending;
    if (this.queue.length === 0) return;
    this.sending = this.drain();
    try {
      await this.sending;
    } finally {
      this.sending = null;
    }
  }

  private async drain(): Promise<void> {
    let payload: Payload | undefined;
    while ((payload = this.queue.shift()) !== undefined) {
      this.queuedBytes -= payload.body.length;
      counters.spansPending -= payload.spans;
      await this.send(payload);
    }
  }

  private async send(payload: Payload): Promise<void> {
    try {
      const res = await this.transport.request({
        method: 'PUT',
        path: '/v0.4/traces',
        headers: { ...this.headers, 'X-Datadog-Trace-Count': String(payload.traces) },
        body: payload.body,
        signal: this.abort.signal,
      });
      if (res.status >= 200 && res.status < 300) {
        counters.spansSent += payload.spans;
        counters.tracesSent += payload.traces;
        counters.payloadsSent++;
        counters.bytesSent += payload.body.length;
        this.recovered();
        this.readRates(res.body);
        return;
      }
      if (res.status === 429 || res.status === 408 || res.status >= 500) {
        this.failed(payload, `the agent answered ${res.status}`);
        return;
      }
      counters.dropped.rejected += payload.spans;
      logger.warn(`[${Codes.EXPORT_FAILED}] the agent at ${this.opts.config.agentUrl} rejected a payload of ${payload.spans} spans with ${res.status}: ${res.body.slice(0, 200)}`, 'rejected');
    } catch (err) {
      this.failed(payload, describeError(err));
    }
  }

  private failed(payload: Payload, why: string): void {
    counters.dropped.sendFailed += payload.spans;
    if (this.outage === null) {
      this.outage = { since: Date.now(), failedSpans: 0 };
      logger.warn(`[${Codes.EXPORT_FAILED}] cannot send traces to the agent at ${this.opts.config.agentUrl} (${why}); spans are dropped and counted in stats().dropped.sendFailed until it answers`, 'outage');
    }
    this.outage.failedSpans += payload.spans;
  }

  private recovered(): void {
    if (this.outage === null) return;
    const { since, failedSpans } = this.outage;
    this.outage = null;
    logger.warn(`the agent at ${this.opts.config.agentUrl} answers again after ${Math.round((Date.now() - since) / 1000)} s; ${failedSpans} spans could not be sent meanwhile`, 'outage-end');
  }

  private readRates(body: string): void {
    if (!this.opts.onRates || body.length === 0) return;
    try {
      const parsed = JSON.parse(body) as { rate_by_service?: unknown };
      if (parsed.rate_by_service && typeof parsed.rate_by_service === 'object') this.opts.onRates(parsed.rate_by_service as Record<string, unknown>);
    } catch {
      /* an agent that answers something else than JSON: keep the current rates */
    }
  }

  /** Flushes within `deadlineMs`; whatever is still pending after it is counted as dropped. */
  /** Aborts every request in flight when a bounded flush runs out of time. */
  private abort = new AbortController();

  /**
   * Flushes, but gives up after `deadlineMs`: requests still in flight are aborted, so a
   * process that is about to exit never waits on a slow or silent agent for longer.
   */
  async flushWithin(deadlineMs: number): Promise<void> {
    const abort = this.abort;
    const timer = setTimeout(() => {
      this.abort = new AbortController();
      abort.abort();
    }, deadlineMs);
    timer.unref();
    try {
      await this.flush();
    } finally {
      clearTimeout(timer);
    }
  }

  async shutdown(deadlineMs = 2000): Promise<void> {
    if (this.closed) return;
    if (this.timer !== null) clearInterval(this.timer);
    let timeout: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timeout = setTimeout(resolve, deadlineMs);
      timeout.unref();
    });
    await Promise.race([this.flush(), deadline]);
    clearTimeout(timeout);
    this.closed = true;
    if (counters.spansPending > 0) {
      counters.dropped.shutdown += counters.spansPending;
      counters.spansPending = 0;
    }
    await this.transport.destroy();
  }
}

/**
 * Where probe output goes: snapshots and probe logs to the agent's debugger intake
 * (`POST /debugger/v1/input`, a JSON array), probe statuses to its diagnostics endpoint
 * (`POST /debugger/v1/diagnostics`, multipart part `event`), metric values to DogStatsD over
 * UDP. Snapshots and statuses are buffered, batched on an unref'd timer and handed to the
 * delivery layer (src/delivery): the same pool and circuit as the traces to that agent,
 * retries, and the dead-letter file while the agent is down (replayed once it answers, each
 * batch once). A full buffer or a refusal drops entries; everything is counted in
 * `stats().probes`.
 */
import { dogstatsdTarget } from '../internal/dogstatsd';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { ProbeConfig } from '../config/slices';
import { datadogAgentLink } from '../delivery/datadog-agent';
import { DeadLetterStore } from '../delivery/dead-letter/store';
import type { Destination, Ledger, Payload } from '../delivery/destination';
import { Outbox } from '../delivery/outbox';
import { DATADOG_RETRY_STATUSES } from '../delivery/retry';
import type { Transport, TransportResponse } from '../delivery/transport';
import { counters } from '../internal/counters';
import { logger } from '../internal/logger';
import { Codes } from '../internal/errors';
import type { MetricKind } from './types';

/** Snapshots waiting to be sent, at most. */
const MAX_PENDING_SNAPSHOTS = 1000;
/** Largest entry kept (the intake refuses more than 1 MiB). */
const MAX_ENTRY_BYTES = 1024 * 1024;
/** Largest batch sent in one request (the intake takes 5 MiB). */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Histogram/distribution values kept per probe between two sends. */
const MAX_VALUES_PER_METRIC = 1000;
/** Most bytes of probe output kept in the dead-letter folder (each kind). */
const MAX_DEAD_BYTES = 16 * 1024 * 1024;

/** Snapshots to `/debugger/v1/input`, statuses to `/debugger/v1/diagnostics`. */
export class DebuggerDestination implements Destination {
  readonly retryStatuses = DATADOG_RETRY_STATUSES;
  constructor(
    readonly kind: 'snapshots' | 'statuses',
    private readonly timeoutMs: number,
  ) {}

  get what(): string {
    return this.kind === 'snapshots' ? 'probe snapshots' : 'probe statuses';
  }

  get unit(): string {
    return this.kind;
  }

  get contentTypeInBody(): boolean {
    return this.kind === 'statuses';
  }

  send(p: Payload, transport: Transport, signal: AbortSignal): Promise<TransportResponse> {
    const path = this.kind === 'snapshots' ? '/debugger/v1/input' : '/debugger/v1/diagnostics';
    const type = this.kind === 'snapshots' ? 'application/json' : (p.contentType ?? 'multipart/form-data');
    return transport.request({ method: 'POST', path, headers: { 'content-type': type }, body: p.body, timeoutMs: this.timeoutMs, signal });
  }
}

/** Counts of probe output in `stats().probes`: snapshots (replays counted too) or statuses. */
function probeLedger(kind: 'snapshots' | 'statuses'): Ledger {
  const p = counters.probes;
  const lost = (n: number): void => {
    if (kind === 'snapshots') p.snapshotsDropped += n;
    else p.statusesDropped += n;
  };
  return {
    sent(payload, replayed) {
      if (kind === 'statuses') p.statusesSent += payload.items;
      else {
        p.snapshotsSent += payload.items;
        if (replayed) p.snapshotsReplayed += payload.items;
      }
    },
    deadLettered(payload) {
      if (kind === 'snapshots') p.snapshotsDeadLettered += payload.items;
    },
    dropped: (payload) => lost(payload.items),
    rejected: (payload) => lost(payload.items),
    retried() {
      p.deliveryRetries++;
    },
    evicted: lost,
  };
}

interface DiagnosticEvent {
  probeId: string;
  probeVersion: number;
  status: string;
  exception?: { type: string; message: string };
}

interface MetricState {
  name: string;
  kind: MetricKind;
  tags: string;
  sum: number;
  count: number;
  last: number;
  values: number[];
}

export class Intake {
  private readonly snapshotsOut: Outbox;
  private readonly statusesOut: Outbox;
  private snapshots: string[] = [];
  private diagnostics: DiagnosticEvent[] = [];
  private readonly metrics = new Map<string, MetricState>();
  private timer: NodeJS.Timeout | null = null;
  private socket: Socket | null = null;
  private readonly statsdHost: string;
  private readonly statsdPort: number;
  readonly runtimeId: string;
  private readonly baseTags: string;
  private stopped = false;

  constructor(
    private readonly config: ProbeConfig,
    runtimeId?: string,
  ) {
    this.runtimeId = runtimeId ?? randomBytes(16).toString('hex');
    const { host, port } = dogstatsdTarget(config.dogstatsdUrl);
    this.statsdHost = host;
    this.statsdPort = port;
    const tags = [`service:${config.service}`];
    if (config.env) tags.push(`env:${config.env}`);
    if (config.version) tags.push(`version:${config.version}`);
    this.baseTags = tags.join(',');
    const outbox = (kind: 'snapshots' | 'statuses', ledger: Ledger): Outbox =>
      new Outbox({
        link: datadogAgentLink(config),
        destination: new DebuggerDestination(kind, config.exportTimeoutMs),
        ledger,
        countedIn: 'stats().probes',
        policy: { retries: config.exportRetries, deadlineMs: config.exportRetryDeadlineMs, backoffMs: config.exportBackoffMs, maxBackoffMs: Math.max(config.exportBackoffMs, 30_000) },
        store: config.dlqEnabled ? new DeadLetterStore({ root: config.dlqDir, service: config.service, kind, maxBytes: Math.min(config.dlqMaxBytes, MAX_DEAD_BYTES), onEvicted: ledger.evicted }) : null,
        replayBytesPerSec: config.dlqReplayBytesPerSec,
        maxQueuedBytes: 2 * MAX_BATCH_BYTES,
        maxQueuedItems: 2 * MAX_PENDING_SNAPSHOTS,
        producerBusy: () => (kind === 'snapshots' ? this.snapshots.length > 0 : this.diagnostics.length > 0),
      });
    this.snapshotsOut = outbox('snapshots', probeLedger('snapshots'));
    this.statusesOut = outbox('statuses', probeLedger('statuses'));
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.flush(), Math.max(50, Math.min(this.config.flushIntervalMs, 5000)));
    this.timer.unref();
  }

  /** Sends what waits within `deadlineMs` (the rest goes to the dead-letter file), then closes. */
  async stop(deadlineMs = this.config.shutdownTimeoutMs): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const started = Date.now();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.snapshotsOut.beginClose();
    this.statusesOut.beginClose();
    await this.flushWithin(deadlineMs);
    this.socket?.close();
    this.socket = null;
    const left = deadlineMs - (Date.now() - started);
    await Promise.all([this.snapshotsOut.close(left), this.statusesOut.close(left)]);
  }

  /** Sends what waits within `deadlineMs`; what is not acknowledged by then goes to the dead-letter file. */
  async flushWithin(deadlineMs: number): Promise<void> {
    this.flushMetrics();
    this.batch();
    await Promise.all([this.statusesOut.flushWithin(deadlineMs), this.snapshotsOut.flushWithin(deadlineMs)]);
  }

  /** Snapshots or statuses wait to be sent. */
  pending(): boolean {
    return this.snapshots.length > 0 || this.diagnostics.length > 0 || this.snapshotsOut.busy || this.statusesOut.busy;
  }

  /** At `exit`: what waits, to the dead-letter file, synchronously. */
  persistNow(): void {
    this.batch();
    this.statusesOut.persistNow();
    this.snapshotsOut.persistNow();
  }

  addSnapshot(entry: object): void {
    if (this.snapshots.length >= MAX_PENDING_SNAPSHOTS) {
      counters.probes.snapshotsDropped++;
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(entry);
    } catch {
      counters.probes.snapshotsDropped++;
      return;
    }
    if (text.length > MAX_ENTRY_BYTES) {
      counters.probes.snapshotsDropped++;
      return;
    }
    this.snapshots.push(text);
  }

  addDiagnostic(ev: DiagnosticEvent): void {
    // Only the latest status of a probe matters.
    this.diagnostics = this.diagnostics.filter((d) => d.probeId !== ev.probeId);
    this.diagnostics.push(ev);
  }

  /** Per-probe metric state; the hot path updates it in place. */
  metric(probeId: string, name: string, kind: MetricKind): MetricState {
    let m = this.metrics.get(probeId);
    if (m === undefined || m.name !== name || m.kind !== kind) {
      m = { name, kind, tags: `${this.baseTags},probe_id:${probeId.replace(/[,|#\s]/g, '_')}`, sum: 0, count: 0, last: 0, values: [] };
      this.metrics.set(probeId, m);
    }
    return m;
  }

  static record(m: MetricState, v: number): void {
    m.count++;
    m.sum += v;
    m.last = v;
    if ((m.kind === 'HISTOGRAM' || m.kind === 'DISTRIBUTION') && m.values.length < MAX_VALUES_PER_METRIC) m.values.push(v);
  }

  dropMetric(probeId: string): void {
    this.metrics.delete(probeId);
  }

  /** Hands what is buffered to the delivery layer and sends it. */
  async flush(): Promise<void> {
    this.flushMetrics();
    this.batch();
    await Promise.all([this.statusesOut.flush(), this.snapshotsOut.flush()]);
  }

  /** The buffered statuses as one payload, the snapshots as batches of at most MAX_BATCH_BYTES. */
  private batch(): void {
    if (this.diagnostics.length > 0) {
      const events = this.diagnostics;
      this.diagnostics = [];
      const body = events.map((e) => ({
        ddsource: 'dd_debugger',
        service: this.config.service,
        timestamp: Date.now(),
        debugger: { diagnostics: { probeId: e.probeId, runtimeId: this.runtimeId, probeVersion: e.probeVersion, status: e.status, ...(e.exception ? { exception: e.exception } : {}) } },
      }));
      const boundary = `tracewell-${randomBytes(8).toString('hex')}`;
      const multipart =
        `--${boundary}\r\nContent-Disposition: form-data; name="event"; filename="event.json"\r\nContent-Type: application/json\r\n\r\n` +
        JSON.stringify(body) +
        `\r\n--${boundary}--\r\n`;
      this.statusesOut.push({ body: Buffer.from(multipart), items: events.length, traces: 0, contentType: `multipart/form-data; boundary=${boundary}` });
    }
    while (this.snapshots.length > 0) {
      let bytes = 2;
      let n = 0;
      while (n < this.snapshots.length && bytes + this.snapshots[n].length + 1 <= MAX_BATCH_BYTES) bytes += this.snapshots[n++].length + 1;
      const batch = this.snapshots.splice(0, Math.max(1, n));
      this.snapshotsOut.push({ body: Buffer.from(`[${batch.join(',')}]`), items: batch.length, traces: 0 });
    }
  }

  private flushMetrics(): void {
    const lines: string[] = [];
    for (const m of this.metrics.values()) {
      if (m.count === 0) continue;
      if (m.kind === 'COUNT') lines.push(`${m.name}:${m.sum}|c|#${m.tags}`);
      else if (m.kind === 'GAUGE') lines.push(`${m.name}:${m.last}|g|#${m.tags}`);
      else for (const v of m.values) lines.push(`${m.name}:${v}|${m.kind === 'HISTOGRAM' ? 'h' : 'd'}|#${m.tags}`);
      m.count = 0;
      m.sum = 0;
      m.values.length = 0;
    }
    if (lines.length === 0) return;
    try {
      if (this.socket === null) {
        this.socket = createSocket(this.statsdHost.includes(':') ? 'udp6' : 'udp4');
        this.socket.on('error', () => undefined);
        this.socket.unref();
      }
      // Datagrams under ~8 KB: lines are grouped, one group per packet.
      let packet = '';
      const send = (p: string): void => {
        this.socket!.send(p, this.statsdPort, this.statsdHost, () => undefined);
        counters.probes.metricsSent += p.split('\n').length;
      };
      for (const line of lines) {
        if (packet.length + line.length + 1 > 8000 && packet !== '') {
          send(packet);
          packet = '';
        }
        packet = packet === '' ? line : packet + '\n' + line;
      }
      if (packet !== '') send(packet);
    } catch (err) {
      logger.error(`[${Codes.PROBE_ERROR}] could not send probe metrics to ${this.config.dogstatsdUrl}`, err);
    }
  }
}

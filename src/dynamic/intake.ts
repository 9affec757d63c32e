/**
 * Where probe output goes: snapshots and probe logs to the agent's debugger intake
 * (`POST /debugger/v1/input`, a JSON array), probe statuses to its diagnostics endpoint
 * (`POST /debugger/v1/diagnostics`, multipart part `event`), metric values to DogStatsD over
 * UDP. Everything is buffered and sent on an unref'd timer; a full buffer, an unreachable
 * agent or a refusal drops entries, counted in `stats().probes`.
 */
import { dogstatsdTarget } from '../internal/dogstatsd';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { ResolvedConfig } from '../config/options';
import { Transport } from '../exporter/transport';
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

export interface DiagnosticEvent {
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
  private readonly transport: Transport;
  private snapshots: string[] = [];
  private diagnostics: DiagnosticEvent[] = [];
  private readonly metrics = new Map<string, MetricState>();
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private socket: Socket | null = null;
  private readonly statsdHost: string;
  private readonly statsdPort: number;
  readonly runtimeId: string;
  private readonly baseTags: string;

  constructor(
    private readonly config: ResolvedConfig,
    runtimeId?: string,
  ) {
    this.transport = new Transport(config.agentUrl, config.exportTimeoutMs);
    this.runtimeId = runtimeId ?? randomBytes(16).toString('hex');
    const { host, port } = dogstatsdTarget(config.dogstatsdUrl);
    this.statsdHost = host;
    this.statsdPort = port;
    const tags = [`service:${config.service}`];
    if (config.env) tags.push(`env:${config.env}`);
    if (config.version) tags.push(`version:${config.version}`);
    this.baseTags = tags.join(',');
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.flush(), Math.max(50, Math.min(this.config.flushIntervalMs, 5000)));
    this.timer.unref();
  }

  stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    return this.flush().finally(() => {
      this.socket?.close();
      this.socket = null;
      void this.transport.close();
    });
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

  async flush(): Promise<void> {
    this.flushMetrics();
    if (this.sending) return;
    this.sending = true;
    try {
      await this.sendDiagnostics();
      await this.sendSnapshots();
    } finally {
      this.sending = false;
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

  private async sendSnapshots(): Promise<void> {
    while (this.snapshots.length > 0) {
      let bytes = 2;
      let n = 0;
      while (n < this.snapshots.length && bytes + this.snapshots[n].length + 1 <= MAX_BATCH_BYTES) bytes += this.snapshots[n++].length + 1;
      const batch = this.snapshots.splice(0, Math.max(1, n));
      try {
        const res = await this.transport.request({ method: 'POST', path: '/debugger/v1/input', headers: { 'content-type': 'application/json' }, body: `[${batch.join(',')}]` });
        if (res.status >= 200 && res.status < 300) counters.probes.snapshotsSent += batch.length;
        else {
          counters.probes.snapshotsDropped += batch.length;
          logger.warn(`[${Codes.PROBE_ERROR}] the agent refused ${batch.length} probe snapshot(s) with status ${res.status}: ${res.body.slice(0, 200)}`, 'probe-intake-status');
          return;
        }
      } catch (err) {
        counters.probes.snapshotsDropped += batch.length;
        logger.error(`[${Codes.PROBE_ERROR}] could not send probe snapshots to ${this.config.agentUrl}`, err, 'probe-intake-send');
        return;
      }
    }
  }

  private async sendDiagnostics(): Promise<void> {
    if (this.diagnostics.length === 0) return;
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
    try {
      await this.transport.request({ method: 'POST', path: '/debugger/v1/diagnostics', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, body: multipart });
    } catch (err) {
      logger.error(`[${Codes.PROBE_ERROR}] could not send probe statuses to ${this.config.agentUrl}`, err, 'probe-diagnostics-send');
    }
  }
}

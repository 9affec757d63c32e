/**
 * Finished traces -> an OTLP/HTTP endpoint (`POST /v1/traces`, protobuf from
 * encoders/otlp-proto.ts), through the same pipeline as the Datadog export: the OTLP retry
 * rules (429, 502, 503, 504 and network errors, `Retry-After` honoured; other 4xx/5xx are
 * never retried and go to the rejected file),
 * the same circuit breaker, dead-letter file and replay. Unsampled traces are not exported.
 */
import type { ResolvedConfig } from '../config/options';
import { TRACER_VERSION } from '../internal/version';
import type { TwSpan } from '../tracer/span';
import { counters } from '../internal/counters';
import { logger } from '../internal/logger';
import { ExportCodes } from './codes';
import { OtlpEncoder } from './encoders/otlp-proto';
import { readFields, WIRE_LEN, WIRE_VARINT } from './encoders/protobuf';
import { splitOtlp, type Part } from './encoders/split';
import { ExportPipeline, type ExportTarget, type Payload } from './pipeline';
import { OTLP_RETRY_STATUSES } from './retry';
import { Transport, type TransportResponse } from './transport';

export interface OtlpExporterOptions {
  config: ResolvedConfig;
  info: { runtimeId: string };
}

/** An empty ExportTraceServiceRequest: a valid request that exports nothing (the probe). */
const EMPTY = Buffer.alloc(0);

export class OtlpTarget implements ExportTarget {
  readonly kind = 'otlp' as const;
  readonly url: string;
  readonly retryStatuses = OTLP_RETRY_STATUSES;
  readonly rejectUnlisted = true;
  readonly maxBodyBytes = undefined;
  private readonly transport: Transport;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(config: ResolvedConfig) {
    this.url = config.otlpEndpoint;
    this.timeoutMs = config.otlpTimeoutMs;
    this.transport = new Transport(config.otlpEndpoint, config.otlpTimeoutMs);
    this.headers = { ...config.otlpHeaders, 'Content-Type': 'application/x-protobuf', 'User-Agent': `tracewell/${TRACER_VERSION}` };
  }

  send(payload: Payload, signal: AbortSignal): Promise<TransportResponse> {
    return this.transport.request({ method: 'POST', path: '', headers: this.headers, body: payload.body, timeoutMs: this.timeoutMs, signal });
  }

  async probe(): Promise<boolean> {
    try {
      const res = await this.transport.request({ method: 'POST', path: '', headers: this.headers, body: EMPTY, timeoutMs: Math.min(2000, this.timeoutMs) });
      return res.status < 500 && res.status !== 429;
    } catch {
      return false;
    }
  }

  refresh(): Promise<void> {
    /* OTLP endpoints have nothing to read */
    return Promise.resolve();
  }

  /**
   * A 2xx may be a partial success (ExportTraceServiceResponse.partial_success: rejected_spans 1,
   * error_message 2): those spans are not to be sent again, only counted and reported.
   */
  accepted(res: { raw?: Buffer }): void {
    if (res.raw === undefined || res.raw.length === 0) return;
    let rejected = 0;
    let message = '';
    try {
      for (const f of readFields(res.raw)) {
        if (f.no !== 1 || f.wire !== WIRE_LEN) continue;
        for (const g of readFields(f.data)) {
          if (g.no === 1 && g.wire === WIRE_VARINT) rejected = Number(BigInt.asIntN(64, g.varint));
          else if (g.no === 2 && g.wire === WIRE_LEN) message = g.data.toString('utf8');
        }
      }
    } catch {
      return; // not a response we can read: the payload was accepted
    }
    if (rejected <= 0) return;
    counters.spansSent -= rejected;
    counters.dropped.rejected += rejected;
    logger.warn(`[${ExportCodes.EXPORT_REJECTED}] ${this.url} accepted a payload but rejected ${rejected} of its spans${message ? `: ${message.slice(0, 200)}` : ''}; they are counted in stats().dropped.rejected and not sent again`, 'otlp-partial');
  }

  split(body: Buffer): [Part, Part] | null {
    return splitOtlp(body);
  }

  destroy(): Promise<void> {
    return this.transport.destroy();
  }
}

/** OpenTelemetry exports sampled traces only. */
function sampled(spans: TwSpan[]): boolean {
  const p = spans[0]?.trace.priority;
  return p === undefined || Number.isNaN(p) || p > 0;
}

export class OtlpExporter extends ExportPipeline {
  constructor(opts: OtlpExporterOptions) {
    super({ config: opts.config, target: new OtlpTarget(opts.config), encoder: new OtlpEncoder(opts.config, opts.info), accepts: sampled });
  }
}

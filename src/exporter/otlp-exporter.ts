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
import { OtlpEncoder } from './encoders/otlp-proto';
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

  accepted(): void {
    /* partial_success is not acted on */
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

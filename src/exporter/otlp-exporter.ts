/**
 * Finished traces -> an OTLP/HTTP endpoint (`POST /v1/traces`, protobuf from
 * encoders/otlp-proto.ts), through the same delivery layer as the Datadog export: the OTLP
 * retry rules (429, 502, 503, 504 and network errors, `Retry-After` honoured; other 4xx/5xx
 * are never retried and go to the rejected file), a circuit, the dead-letter file and
 * replay. Unsampled traces are not exported.
 */
import type { ResolvedConfig } from '../config/options';
import { TRACER_VERSION } from '../internal/version';
import type { TwSpan } from '../tracer/span';
import { counters } from '../internal/counters';
import { logger } from '../internal/logger';
import { DeliveryCodes } from '../delivery/codes';
import type { Answer, Payload } from '../delivery/destination';
import { agentLink } from '../delivery/link';
import { OTLP_RETRY_STATUSES } from '../delivery/retry';
import type { Transport, TransportResponse } from '../delivery/transport';
import { OtlpEncoder } from './encoders/otlp-proto';
import { readFields, WIRE_LEN, WIRE_VARINT } from './encoders/protobuf';
import { splitOtlp } from './encoders/split';
import { toPayload } from './agent-exporter';
import { TraceExporter, type TraceDestination } from './trace-exporter';

interface OtlpExporterOptions {
  config: ResolvedConfig;
  info: { runtimeId: string };
}

/** An empty ExportTraceServiceRequest: a valid request that exports nothing (the probe). */
const EMPTY = Buffer.alloc(0);

export class OtlpDestination implements TraceDestination {
  readonly kind = 'otlp' as const;
  readonly what = 'traces';
  readonly unit = 'spans';
  readonly url: string;
  readonly retryStatuses = OTLP_RETRY_STATUSES;
  readonly rejectUnlisted = true;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(config: ResolvedConfig) {
    this.url = config.otlpEndpoint;
    this.timeoutMs = config.otlpTimeoutMs;
    this.headers = otlpHeaders(config);
  }

  send(payload: Payload, transport: Transport, signal: AbortSignal): Promise<TransportResponse> {
    return transport.request({ method: 'POST', path: '', headers: this.headers, body: payload.body, timeoutMs: this.timeoutMs, signal });
  }

  /**
   * A 2xx may be a partial success (ExportTraceServiceResponse.partial_success: rejected_spans 1,
   * error_message 2): those spans are not to be sent again, only counted and reported.
   */
  accepted(_p: Payload, res: Answer): void {
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
    logger.warn(`[${DeliveryCodes.EXPORT_REJECTED}] ${this.url} accepted a payload but rejected ${rejected} of its spans${message ? `: ${message.slice(0, 200)}` : ''}; they are counted in stats().dropped.rejected and not sent again`, 'otlp-partial');
  }

  split(p: Payload): [Payload, Payload] | null {
    const parts = splitOtlp(p.body);
    return parts === null ? null : [toPayload(parts[0]), toPayload(parts[1])];
  }
}

function otlpHeaders(config: ResolvedConfig): Record<string, string> {
  return { ...config.otlpHeaders, 'Content-Type': 'application/x-protobuf', 'User-Agent': `tracewell/${TRACER_VERSION}` };
}

/** OpenTelemetry exports sampled traces only. */
function sampled(spans: TwSpan[]): boolean {
  const p = spans[0]?.trace.priority;
  return p === undefined || Number.isNaN(p) || p > 0;
}

/** Traces to an OTLP/HTTP endpoint. */
export function createOtlpExporter(opts: OtlpExporterOptions): TraceExporter {
  const { config } = opts;
  const headers = otlpHeaders(config);
  const link = agentLink('otlp', {
    url: config.otlpEndpoint,
    timeoutMs: config.otlpTimeoutMs,
    breakerFailures: config.breakerFailures,
    breakerProbeMs: config.breakerProbeMs,
    breakerProbeMaxMs: config.breakerProbeMaxMs,
    outageSummaryIntervalMs: config.outageSummaryIntervalMs,
    configuredBy: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    // An empty ExportTraceServiceRequest: a valid request that exports nothing.
    async probe(transport) {
      try {
        const res = await transport.request({ method: 'POST', path: '', headers, body: EMPTY, timeoutMs: Math.min(2000, config.otlpTimeoutMs) });
        return res.status < 500 && res.status !== 429;
      } catch {
        return false;
      }
    },
  });
  return new TraceExporter({ config, link, destination: new OtlpDestination(config), encoder: new OtlpEncoder(config, opts.info), accepts: sampled });
}

/**
 * Finished traces -> Datadog Agent (`PUT /v0.5/traces` when the agent lists it, else
 * `/v0.4/traces`; msgpack from encoders/datadog-v05.ts and datadog-v04.ts), through the
 * delivery layer (src/delivery: one pool and one circuit per agent, retries, the dead-letter
 * file, replay). The agent's `/info` is read when sending starts and whenever it answers again
 * after an outage: its endpoints pick the encoding of the next payloads, its
 * `max_request_bytes` bounds what is sent. Each payload is sent to the endpoint of its own
 * encoding, told from its bytes, so payloads written to the dead-letter file in one encoding
 * are replayed correctly after a switch.
 */
import type { ResolvedConfig } from '../config/options';
import { logger } from '../internal/logger';
import { Codes } from '../internal/errors';
import { TRACER_VERSION } from '../internal/version';
import type { TraceProtocol } from '../config/options';
import type { TwSpan } from '../tracer/span';
import { datadogAgentLink, fetchAgentInfo, type AgentInfo } from '../delivery/datadog-agent';
import type { Answer, Payload } from '../delivery/destination';
import { DATADOG_RETRY_STATUSES } from '../delivery/retry';
import type { Transport, TransportResponse } from '../delivery/transport';
import { isV05, tracesPath, V04_PATH, V05_PATH } from './encoders/datadog-common';
import { DatadogEncoder, type EncoderInfo } from './encoders/datadog-v04';
import { DatadogV05Encoder } from './encoders/datadog-v05';
import type { splitDatadog } from './encoders/split';
import { TraceExporter, type EncodedTraces, type TraceDestination, type TraceEncoder } from './trace-exporter';

interface AgentExporterOptions {
  config: ResolvedConfig;
  info: EncoderInfo;
  containerId?: string;
  /** Called with the agent's `rate_by_service` answer. */
  onRates?: (rates: Record<string, unknown>) => void;
}

const INFO_TIMEOUT_MS = 2000;

/** Where traces go on the Datadog Agent: the endpoint of each payload's encoding, with the tracer's headers. */
export class DatadogDestination implements TraceDestination {
  readonly kind = 'dd' as const;
  readonly what = 'traces';
  readonly unit = 'spans';
  readonly url: string;
  readonly retryStatuses = DATADOG_RETRY_STATUSES;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  info: AgentInfo | null = null;
  private infoWarned = false;

  /** Told which encoding the agent takes, as soon as `/info` said. */
  onEndpoints: ((v05: boolean) => void) | null = null;

  constructor(private readonly opts: AgentExporterOptions) {
    const { config } = opts;
    this.url = config.agentUrl;
    this.timeoutMs = config.exportTimeoutMs;
    this.headers = {
      'Content-Type': 'application/msgpack',
      'Datadog-Meta-Lang': 'nodejs',
      'Datadog-Meta-Lang-Version': process.version,
      'Datadog-Meta-Lang-Interpreter': 'v8',
      'Datadog-Meta-Tracer-Version': TRACER_VERSION,
      'Datadog-Send-Real-Http-Status': 'true',
    };
    if (opts.containerId) this.headers['Datadog-Container-ID'] = opts.containerId;
  }

  get maxBodyBytes(): number | undefined {
    const n = this.info?.config?.max_request_bytes;
    return typeof n === 'number' && n > 0 ? n : undefined;
  }

  send(payload: Payload, transport: Transport, signal: AbortSignal): Promise<TransportResponse> {
    return transport.request({
      method: 'PUT',
      path: isV05(payload.body) ? V05_PATH : V04_PATH,
      headers: { ...this.headers, 'X-Datadog-Trace-Count': String(payload.traces) },
      body: payload.body,
      timeoutMs: this.timeoutMs,
      signal,
    });
  }

  refresh(transport: Transport): Promise<void> {
    return fetchAgentInfo(transport, Math.min(INFO_TIMEOUT_MS, this.timeoutMs)).then(
      ({ info }) => {
        if (info !== null) this.learn(info);
      },
      () => undefined,
    );
  }

  private learn(info: AgentInfo): void {
    this.info = info;
    const listed = Array.isArray(info.endpoints) && info.endpoints.length > 0 ? info.endpoints : null;
    const path = tracesPath(this.opts.config.traceProtocol, listed);
    this.onEndpoints?.(path === V05_PATH);
    if (!this.infoWarned && listed !== null && !listed.includes(path)) {
      this.infoWarned = true;
      logger.warn(`[${Codes.EXPORT_FAILED}] the agent at ${this.url} (version ${info.version ?? 'unknown'}) does not list ${path} among its endpoints; traces may be refused`, 'info-endpoints');
    }
  }

  accepted(_p: Payload, res: Answer): void {
    if (!this.opts.onRates || res.body.length === 0) return;
    try {
      const parsed = JSON.parse(res.body) as { rate_by_service?: unknown };
      if (parsed.rate_by_service && typeof parsed.rate_by_service === 'object') this.opts.onRates(parsed.rate_by_service as Record<string, unknown>);
    } catch {
      /* an agent that answers something else than JSON: keep the current rates */
    }
  }

  split(p: Payload): [Payload, Payload] | null {
    // Loaded on the first 413 only (start-up time).
    const parts = (require('./encoders/split') as { splitDatadog: typeof splitDatadog }).splitDatadog(p.body);
    return parts === null ? null : [toPayload(parts[0]), toPayload(parts[1])];
  }
}

export function toPayload(part: EncodedTraces): Payload {
  return { body: part.body, items: part.spans, traces: part.traces };
}

/**
 * The open payload's encoder: v0.4 until the agent is known to take v0.5 (or `traceProtocol`
 * says which). A switch takes effect when the open payload is empty, else at its seal, so a
 * payload is all of one encoding.
 */
class DatadogEncoders implements TraceEncoder {
  private current: DatadogEncoder | DatadogV05Encoder;
  private v04: DatadogEncoder | null = null;
  private v05: DatadogV05Encoder | null = null;
  private wantV05: boolean;

  constructor(
    private readonly config: AgentExporterOptions['config'],
    private readonly info: EncoderInfo,
    protocol: TraceProtocol = config.traceProtocol,
  ) {
    this.wantV05 = protocol === '0.5';
    this.current = this.pick();
  }

  get size(): number {
    return this.current.size;
  }

  get traces(): number {
    return this.current.traces;
  }

  get spans(): number {
    return this.current.spans;
  }

  get usesV05(): boolean {
    return this.current instanceof DatadogV05Encoder;
  }

  /** The agent's `/info` said whether it takes v0.5. */
  useV05(on: boolean): void {
    if (on === this.wantV05) return;
    this.wantV05 = on;
    if (this.current.traces === 0) this.current = this.pick();
  }

  append(spans: TwSpan[]): boolean {
    return this.current.append(spans);
  }

  recycle(body: Buffer): void {
    (isV05(body) ? this.v05 : this.v04)?.recycle(body);
  }

  seal(): EncodedTraces {
    const out = this.current.seal();
    this.current = this.pick();
    return out;
  }

  private pick(): DatadogEncoder | DatadogV05Encoder {
    return this.wantV05 ? (this.v05 ??= new DatadogV05Encoder(this.config, this.info)) : (this.v04 ??= new DatadogEncoder(this.config, this.info));
  }
}

/** Traces to the Datadog Agent. */
export function createAgentExporter(opts: AgentExporterOptions): TraceExporter {
  const destination = new DatadogDestination(opts);
  const encoder = new DatadogEncoders(opts.config, opts.info);
  if (opts.config.traceProtocol === 'auto') destination.onEndpoints = (v05) => encoder.useV05(v05);
  return new TraceExporter({ config: opts.config, link: datadogAgentLink(opts.config), destination, encoder });
}

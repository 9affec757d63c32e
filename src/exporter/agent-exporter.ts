/**
 * Finished traces -> Datadog Agent (`PUT /v0.5/traces` when the agent lists it, else
 * `/v0.4/traces`; msgpack from encoders/datadog-v05.ts and datadog-v04.ts), through the export
 * pipeline (retries, circuit breaker, dead-letter file, replay).
 * The agent's `/info` is read when sending starts and whenever it answers again after an
 * outage: its endpoints pick the encoding of the next payloads, its `max_request_bytes` bounds
 * what is sent. Each payload is sent to the endpoint of its own encoding, told from its bytes,
 * so payloads written to the dead-letter file in one encoding are replayed correctly after a
 * switch.
 */
import type { ResolvedConfig } from '../config/options';
import { logger } from '../internal/logger';
import { Codes } from '../internal/errors';
import { TRACER_VERSION } from '../internal/version';
import type { TraceProtocol } from '../config/options';
import type { TwSpan } from '../tracer/span';
import { isV05, tracesPath, V04_PATH, V05_PATH } from './encoders/datadog-common';
import { DatadogEncoder, type EncoderInfo } from './encoders/datadog-v04';
import { DatadogV05Encoder } from './encoders/datadog-v05';
import type { Part, splitDatadog } from './encoders/split';
import { ExportPipeline, type Encoder, type ExportTarget, type Payload } from './pipeline';
import { DATADOG_RETRY_STATUSES } from './retry';
import { Transport, type TransportResponse } from './transport';

export type { Payload } from './pipeline';

export interface AgentExporterOptions {
  config: ResolvedConfig;
  info: EncoderInfo;
  containerId?: string;
  /** Called with the agent's `rate_by_service` answer. */
  onRates?: (rates: Record<string, unknown>) => void;
}

/** What the agent's `GET /info` says, as far as Tracewell uses it. */
export interface AgentInfo {
  version?: string;
  endpoints?: string[];
  config?: { max_request_bytes?: number };
  client_drop_p0s?: boolean;
}

const INFO_TIMEOUT_MS = 2000;

/** Reads `GET /info`; null when the agent does not answer it (old agents: 404). */
export async function fetchAgentInfo(transport: Transport, timeoutMs = INFO_TIMEOUT_MS): Promise<{ status: number; info: AgentInfo | null }> {
  const res = await transport.request({ method: 'GET', path: '/info', timeoutMs });
  if (res.status !== 200) return { status: res.status, info: null };
  try {
    const info = JSON.parse(res.body) as AgentInfo;
    return { status: res.status, info: typeof info === 'object' && info !== null ? info : null };
  } catch {
    return { status: res.status, info: null };
  }
}

export class DatadogTarget implements ExportTarget {
  readonly kind = 'dd' as const;
  readonly url: string;
  readonly retryStatuses = DATADOG_RETRY_STATUSES;
  private readonly transport: Transport;
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
    this.transport = new Transport(config.agentUrl, config.exportTimeoutMs);
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

  send(payload: Payload, signal: AbortSignal): Promise<TransportResponse> {
    return this.transport.request({
      method: 'PUT',
      path: isV05(payload.body) ? V05_PATH : V04_PATH,
      headers: { ...this.headers, 'X-Datadog-Trace-Count': String(payload.traces) },
      body: payload.body,
      timeoutMs: this.timeoutMs,
      signal,
    });
  }

  async probe(): Promise<boolean> {
    try {
      const { status, info } = await fetchAgentInfo(this.transport, Math.min(INFO_TIMEOUT_MS, this.timeoutMs));
      if (info !== null) this.learn(info);
      // Any answer but overload means it is there; /info may be 404 on old agents.
      return status < 500 && status !== 429 && status !== 408;
    } catch {
      return false;
    }
  }

  refresh(): Promise<void> {
    return fetchAgentInfo(this.transport, Math.min(INFO_TIMEOUT_MS, this.timeoutMs)).then(
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

  accepted(res: { body: string }): void {
    if (!this.opts.onRates || res.body.length === 0) return;
    try {
      const parsed = JSON.parse(res.body) as { rate_by_service?: unknown };
      if (parsed.rate_by_service && typeof parsed.rate_by_service === 'object') this.opts.onRates(parsed.rate_by_service as Record<string, unknown>);
    } catch {
      /* an agent that answers something else than JSON: keep the current rates */
    }
  }

  split(body: Buffer): [Part, Part] | null {
    // Loaded on the first 413 only (start-up time).
    return (require('./encoders/split') as { splitDatadog: typeof splitDatadog }).splitDatadog(body);
  }

  destroy(): Promise<void> {
    return this.transport.destroy();
  }
}

/**
 * The open payload's encoder: v0.4 until the agent is known to take v0.5 (or `traceProtocol`
 * says which). A switch takes effect when the open payload is empty, else at its seal, so a
 * payload is all of one encoding.
 */
export class DatadogEncoders implements Encoder {
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

  seal(): Payload {
    const out = this.current.seal();
    this.current = this.pick();
    return out;
  }

  private pick(): DatadogEncoder | DatadogV05Encoder {
    return this.wantV05 ? (this.v05 ??= new DatadogV05Encoder(this.config, this.info)) : (this.v04 ??= new DatadogEncoder(this.config, this.info));
  }
}

export class AgentExporter extends ExportPipeline {
  constructor(opts: AgentExporterOptions) {
    const target = new DatadogTarget(opts);
    const encoder = new DatadogEncoders(opts.config, opts.info);
    if (opts.config.traceProtocol === 'auto') target.onEndpoints = (v05) => encoder.useV05(v05);
    super({ config: opts.config, target, encoder });
  }
}

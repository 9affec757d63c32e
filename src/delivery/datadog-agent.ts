/**
 * The Datadog Agent as a link (link.ts): traces, profiles and probe output all go to it, over
 * one pool, behind one circuit. Its `GET /info` tells whether it answers (the circuit's probe)
 * and what it takes (endpoints, `max_request_bytes`).
 */
import type { DeliveryConfig } from '../config/slices';
import { agentLink, type AgentLink } from './link';
import type { Transport } from './transport';

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

/** Settings of the links this module makes (and the OTLP exporter's). */
type LinkConfig = Pick<DeliveryConfig, 'agentUrl' | 'exportTimeoutMs' | 'breakerFailures' | 'breakerProbeMs' | 'breakerProbeMaxMs' | 'outageSummaryIntervalMs'>;

/** The link to the Datadog Agent of `config.agentUrl`. */
export function datadogAgentLink(config: LinkConfig): AgentLink {
  return agentLink('datadog', {
    url: config.agentUrl,
    timeoutMs: config.exportTimeoutMs,
    breakerFailures: config.breakerFailures,
    breakerProbeMs: config.breakerProbeMs,
    breakerProbeMaxMs: config.breakerProbeMaxMs,
    outageSummaryIntervalMs: config.outageSummaryIntervalMs,
    configuredBy: 'DD_AGENT_HOST / DD_TRACE_AGENT_URL',
    async probe(transport) {
      try {
        const { status } = await fetchAgentInfo(transport, Math.min(INFO_TIMEOUT_MS, config.exportTimeoutMs));
        // Any answer but overload means it is there; /info may be 404 on old agents.
        return status < 500 && status !== 429 && status !== 408;
      } catch {
        return false;
      }
    },
  });
}

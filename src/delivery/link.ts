/**
 * One agent as every producer sees it: the HTTP pool (transport.ts), the circuit breaker and
 * the outage log are per agent, so traces, profiles and probe output to the same agent share
 * one set of connections, open and close one circuit together, and an outage is told once.
 * A link lives while an outbox uses it.
 */
import { counters } from '../internal/counters';
import { logger } from '../internal/logger';
import { CircuitBreaker } from './circuit-breaker';
import { DeliveryCodes } from './codes';
import { OutageLog, type OutageSubject } from './outage-log';
import { Transport } from './transport';

interface LinkSettings {
  /** The agent's (or OTLP endpoint's) URL. */
  url: string;
  /** Connect timeout of the pool, and the default request timeout. */
  timeoutMs: number;
  breakerFailures: number;
  breakerProbeMs: number;
  breakerProbeMaxMs: number;
  outageSummaryIntervalMs: number;
  /** Whether the agent answers at all (a cheap request). Never rejects. */
  probe(transport: Transport): Promise<boolean>;
  /** The settings that name this agent, for the message when its host does not resolve. */
  configuredBy: string;
}

/** What a link asks of the outboxes that use it. */
export interface LinkUser extends OutageSubject {
  /** The agent answers again: send what waits, then replay. */
  agentBack(): void;
}

export class AgentLink {
  readonly transport: Transport;
  readonly breaker: CircuitBreaker;
  private readonly outage: OutageLog;
  private readonly users: LinkUser[] = [];
  private configWarned = false;
  /** `stats().circuit` follows this link (the traces' one). */
  reportsCircuit = false;

  constructor(
    private readonly settings: LinkSettings,
    private readonly key: string,
  ) {
    this.transport = new Transport(settings.url, settings.timeoutMs);
    this.outage = new OutageLog(settings.url, settings.outageSummaryIntervalMs, () => this.users);
    this.breaker = new CircuitBreaker({
      failures: settings.breakerFailures,
      probeBaseMs: settings.breakerProbeMs,
      probeMaxMs: settings.breakerProbeMaxMs,
      probe: () => settings.probe(this.transport),
      onOpen: (reason) => this.outage.start(reason, !this.configWarned),
      onClose: () => {
        this.outage.end();
        for (const u of this.users) u.agentBack();
      },
      onState: (state) => {
        if (this.reportsCircuit) counters.circuit = state;
      },
    });
  }

  get url(): string {
    return this.settings.url;
  }

  get outageActive(): boolean {
    return this.outage.active;
  }

  attach(user: LinkUser): void {
    this.users.push(user);
  }

  /** The last user gone: timers stopped, the pool given back. */
  detach(user: LinkUser): Promise<void> {
    const i = this.users.indexOf(user);
    if (i >= 0) this.users.splice(i, 1);
    if (this.users.length > 0) return Promise.resolve();
    this.breaker.stop();
    this.outage.stop();
    if (links.get(this.key) === this) links.delete(this.key);
    return this.transport.destroy();
  }

  /** Whether the agent answers now, without touching the circuit. Never rejects. */
  probe(): Promise<boolean> {
    return this.settings.probe(this.transport).catch(() => false);
  }

  /** An attempt failed in a way that may pass (connection refused, 5xx): the outage starts now. */
  unavailable(reason: string): void {
    if (!this.outage.active) this.outage.start(reason);
  }

  /** A 2xx: the outage (if any) is over. */
  delivered(): void {
    if (this.outage.active && this.breaker.closed) this.outage.end();
  }

  /** The agent's host does not resolve: said once, as a configuration error, and the circuit opens. */
  configError(reason: string): void {
    if (!this.configWarned) {
      this.configWarned = true;
      let host = this.settings.url;
      try {
        host = new URL(this.settings.url).hostname;
      } catch {
        /* keep the URL */
      }
      logger.warn(
        `[${DeliveryCodes.AGENT_HOST_UNKNOWN}] the host "${host}" of ${this.settings.url} does not resolve (${reason}): a configuration error, check ${this.settings.configuredBy}; meanwhile ${this.users.map((u) => u.fate()).join('; ')}`,
        `config-host:${this.settings.url}`,
      );
    }
    this.breaker.open(reason);
  }
}

const links = new Map<string, AgentLink>();

/** The link to an agent, shared by every producer that sends to it (`kind` tells Datadog Agent and OTLP endpoints apart). */
export function agentLink(kind: string, settings: LinkSettings): AgentLink {
  const key = `${kind} ${settings.url}`;
  let link = links.get(key);
  if (link === undefined) {
    link = new AgentLink(settings, key);
    links.set(key, link);
  }
  return link;
}

/**
 * Datadog-style priority sampling for new traces. Traces that continue a remote parent keep
 * the parent's decision. A configured rate is applied by trace id (so every tracer that
 * shares the id agrees) and capped by a traces-per-second limiter; without one, the agent's
 * `rate_by_service` answer is applied.
 */
import type { TracerConfig } from '../config/slices';
import {
  AUTO_KEEP,
  AUTO_REJECT,
  LocalTrace,
  MECHANISM_AGENT_RATE,
  MECHANISM_DEFAULT,
  MECHANISM_RULE,
  USER_KEEP,
  USER_REJECT,
} from './trace';
import { now } from './clock';

const KNUTH = 1111111111111111111n;
const MAX_U64 = 18446744073709551615n;

/** Datadog's id-based decision: the same trace id and rate give the same answer everywhere. */
function keepByRate(hi: number, lo: number, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  const id = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return ((id * KNUTH) & MAX_U64) < BigInt(Math.floor(rate * 18446744073709551615));
}

/** Token bucket, refilled continuously. */
class RateLimiter {
  private tokens: number;
  private last = now();
  private allowed = 0;
  private seen = 0;
  private windowStart = now();
  private prevRate = NaN;

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  take(): boolean {
    const t = now();
    this.rollWindow(t);
    this.seen++;
    if (this.perSecond <= 0) return false;
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.allowed++;
      return true;
    }
    return false;
  }

  /** The fraction allowed over the current and previous second, as `_dd.limit_psr` reports it. */
  effectiveRate(): number {
    const current = this.seen === 0 ? 1 : this.allowed / this.seen;
    return Number.isNaN(this.prevRate) ? current : (current + this.prevRate) / 2;
  }

  private rollWindow(t: number): void {
    if (t - this.windowStart < 1000) return;
    this.prevRate = this.seen === 0 ? 1 : this.allowed / this.seen;
    this.windowStart = t;
    this.allowed = 0;
    this.seen = 0;
  }
}

export class PrioritySampler {
  private readonly limiter: RateLimiter;
  private agentRates = new Map<string, number>();
  private defaultRate = 1;
  private agentAnswered = false;
  private readonly key: string;

  constructor(private readonly config: TracerConfig) {
    this.limiter = new RateLimiter(config.rateLimit);
    this.key = `service:${config.service},env:${config.env}`;
  }

  /** Decides a new trace's priority (roots only). */
  decide(trace: LocalTrace): void {
    const rate = this.config.sampleRate;
    if (rate !== undefined) {
      trace.ruleRate = rate;
      trace.mechanism = MECHANISM_RULE;
      if (!keepByRate(trace.t2, trace.t3, rate)) {
        trace.priority = USER_REJECT;
        return;
      }
      if (this.limiter.take()) {
        trace.priority = USER_KEEP;
      } else {
        trace.priority = USER_REJECT;
      }
      trace.limitRate = this.limiter.effectiveRate();
      return;
    }
    const agentRate = this.agentRates.get(this.key) ?? this.defaultRate;
    trace.mechanism = this.agentAnswered ? MECHANISM_AGENT_RATE : MECHANISM_DEFAULT;
    trace.agentRate = agentRate;
    trace.priority = keepByRate(trace.t2, trace.t3, agentRate) ? AUTO_KEEP : AUTO_REJECT;
  }

  /** Applies the agent's `rate_by_service` answer. */
  updateAgentRates(rates: Record<string, unknown>): void {
    const next = new Map<string, number>();
    let fallback = 1;
    for (const [key, value] of Object.entries(rates)) {
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) continue;
      if (key === 'service:,env:') fallback = value;
      else next.set(key, value);
    }
    this.agentRates = next;
    this.defaultRate = fallback;
    this.agentAnswered = true;
  }
}

/**
 * Datadog-style priority sampling for new traces, and single span sampling for dropped ones.
 *
 * A trace that continues a remote parent keeps the parent's decision. For a new trace the
 * first matching rule of `samplingRules` decides (then `sampleRate`, a last rule that matches
 * everything), capped by the traces-per-second limiter; with no rule matching, the agent's
 * `rate_by_service` answer. Rates are applied by trace id, so every tracer that shares the id
 * agrees.
 *
 * When: the decision waits until it is needed (the tracer calls `decide` at the trace's first
 * propagation, the first read of its sampled flag, or the end of its local root), so a rule on
 * the resource or a tag sees the route a framework set after the request arrived. Rules are
 * matched once per trace; which rules a (service, name, resource) can match is cached per
 * resource string, and patterns are compiled once (`glob.ts`): no pattern work per request.
 */
import type { ResolvedSamplingRule } from '../config/options';
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
import { compileGlob, matchesAll, type Glob } from './glob';
import { resolveNames, type SpanNames } from './finished-span';
import type { TwSpan } from './span';

const KNUTH = 1111111111111111111n;
const MAX_U64 = 18446744073709551615n;

/** Datadog's id-based decision: the same id and rate give the same answer everywhere. */
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

  constructor(readonly perSecond: number) {
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

/** A tag pattern of a rule: `all` (only `*`) matches even a tag that is absent. */
interface TagPattern {
  readonly key: string;
  readonly glob: Glob;
  readonly all: boolean;
}

/** A rule, compiled. */
interface CompiledRule {
  readonly service: Glob | null;
  readonly name: Glob | null;
  readonly resource: Glob | null;
  readonly tags: readonly TagPattern[];
  readonly rate: number;
  /** The rule's own `max_per_second`; null when it has none. */
  readonly limiter: RateLimiter | null;
}

function compileRule(r: ResolvedSamplingRule): CompiledRule {
  const glob = (p: string | undefined): Glob | null => (p === undefined || matchesAll(p) ? null : compileGlob(p, true));
  return {
    service: glob(r.service),
    name: glob(r.name),
    resource: glob(r.resource),
    tags: Object.entries(r.tags ?? {}).map(([key, p]) => ({ key, glob: compileGlob(p, true), all: matchesAll(p) })),
    rate: r.sampleRate,
    limiter: r.maxPerSecond === undefined ? null : new RateLimiter(r.maxPerSecond),
  };
}

const KIND_NAMES = ['internal', 'server', 'client', 'producer', 'consumer'];

/**
 * A span's tag as rules see it (Datadog's tag names for the fields integrations set, else a
 * user attribute, else a global tag); `undefined` when absent. Numbers: an integer as its
 * decimal string; any other number matches only a pattern of `*`s (as Datadog defines it).
 */
function tagValue(s: TwSpan, key: string, config: TracerConfig): string | undefined {
  switch (key) {
    case 'http.method':
      return s.httpMethod || undefined;
    case 'http.route':
      return s.httpRoute || undefined;
    case 'http.url':
      return s.httpUrl || undefined;
    case 'http.status_code':
      return s.httpStatus === 0 ? undefined : String(s.httpStatus);
    case 'http.client_ip':
      return s.clientIp || undefined;
    case 'http.useragent':
      return s.userAgent || undefined;
    case 'out.host':
      return s.peerHost || undefined;
    case 'component':
      return s.component || undefined;
    case 'span.kind':
      return KIND_NAMES[s.kind];
    case 'error.type':
      return s.errorType || undefined;
    case 'env':
      return config.env || undefined;
    case 'version':
      return config.version || undefined;
  }
  const v = s.attribute(key);
  if (v === undefined) return config.tags[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : undefined;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return undefined;
}

/** The rules a (service, name) may match under one resource, in order. */
interface CacheEntry {
  service: string;
  name: string;
  rules: CompiledRule[];
}

/** Entries of the per-resource cache; past it the cache starts again (resources are route templates, a bounded set). */
const MAX_CACHED = 1024;

/**
 * An ordered rule list: `find` gives the first rule that matches a span. What the service,
 * name and resource patterns say is cached per resource (checked against the service and name
 * it was made for), so a trace costs one `Map` lookup plus the tag patterns of its candidates.
 */
class RuleList {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly names: SpanNames = { opName: '', resource: '', service: '', type: '' };

  constructor(
    readonly rules: readonly CompiledRule[],
    private readonly config: TracerConfig,
  ) {}

  find(s: TwSpan): CompiledRule | undefined {
    const names = this.names;
    resolveNames(s, names);
    const service = names.service || this.config.service;
    const name = names.opName;
    const resource = names.resource;
    let e = this.cache.get(resource);
    if (e === undefined || e.service !== service || e.name !== name) {
      const rules: CompiledRule[] = [];
      for (const r of this.rules) {
        if ((r.service === null || r.service(service)) && (r.name === null || r.name(name)) && (r.resource === null || r.resource(resource))) rules.push(r);
      }
      e = { service, name, rules };
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(resource, e);
    }
    const rules = e.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      if (r.tags.length === 0 || this.tagsMatch(r, s)) return r;
    }
    return undefined;
  }

  private tagsMatch(r: CompiledRule, s: TwSpan): boolean {
    for (const t of r.tags) {
      if (t.all) continue;
      const v = tagValue(s, t.key, this.config);
      if (v === undefined || !t.glob(v)) return false;
    }
    return true;
  }
}

export class PrioritySampler {
  private readonly limiter: RateLimiter;
  /** `samplingRules`, then `sampleRate` as a last rule matching everything; null when neither is set. */
  private readonly rules: RuleList | null;
  private agentRates = new Map<string, number>();
  private defaultRate = 1;
  private agentAnswered = false;
  private readonly key: string;

  constructor(config: TracerConfig) {
    this.limiter = new RateLimiter(config.rateLimit);
    this.key = `service:${config.service},env:${config.env}`;
    const rules = config.samplingRules.map(compileRule);
    if (config.sampleRate !== undefined) rules.push(compileRule({ sampleRate: config.sampleRate }));
    this.rules = rules.length > 0 ? new RuleList(rules, config) : null;
  }

  /** Decides the priority of a trace started here, from its local root as it is now. */
  decide(trace: LocalTrace): void {
    const root = trace.root;
    const rule = this.rules !== null && root !== null ? this.rules.find(root) : undefined;
    if (rule !== undefined) {
      trace.ruleRate = rule.rate;
      trace.mechanism = MECHANISM_RULE;
      if (!keepByRate(trace.t2, trace.t3, rule.rate) || (rule.limiter !== null && !rule.limiter.take())) {
        trace.priority = USER_REJECT;
        return;
      }
      trace.priority = this.limiter.take() ? USER_KEEP : USER_REJECT;
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

/** Datadog's mechanism for a span kept by single span sampling. */
const MECHANISM_SPAN = 8;

/**
 * Single span sampling (`spanSamplingRules`): in a trace the sampler dropped, each span that
 * matches a rule and passes its rate (by span id) and its `max_per_second` is kept anyway:
 * tagged `_dd.span_sampling.mechanism` (8), `_dd.span_sampling.rule_rate` and
 * `_dd.span_sampling.max_per_second`, which the agent keeps out of a dropped trace, and
 * marked for an export that sends sampled traces only (OTLP).
 */
export class SpanSampler {
  private readonly list: RuleList;
  private readonly maxPerSecond = new Map<CompiledRule, number>();

  constructor(rules: readonly ResolvedSamplingRule[], config: TracerConfig) {
    const compiled = rules.map((r) => {
      const c = compileRule(r);
      if (r.maxPerSecond !== undefined) this.maxPerSecond.set(c, r.maxPerSecond);
      return c;
    });
    this.list = new RuleList(compiled, config);
  }

  /** Marks the spans of a dropped trace's chunk that rules keep. */
  sample(spans: readonly TwSpan[]): void {
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      const rule = this.list.find(s);
      if (rule === undefined || !keepByRate(s.spanHi, s.spanLo, rule.rate)) continue;
      if (rule.limiter !== null && !rule.limiter.take()) continue;
      s.keepAlone(MECHANISM_SPAN, rule.rate, this.maxPerSecond.get(rule));
    }
  }
}

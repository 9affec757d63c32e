/**
 * What the spans of one trace share inside this process: the 128-bit trace id, the sampling
 * decision, propagated tags, and the list of spans to send once every local span has ended.
 */
import type { TwSpan } from './span';

/** Datadog sampling priorities. */
export const USER_REJECT = -1;
export const AUTO_REJECT = 0;
export const AUTO_KEEP = 1;
export const USER_KEEP = 2;

/** Datadog sampling mechanisms (the `_dd.p.dm` decision maker, written as `-<n>`). */
export const MECHANISM_DEFAULT = 0;
export const MECHANISM_AGENT_RATE = 1;
export const MECHANISM_RULE = 3;

/**
 * The list of a trace without spans waiting: shared and frozen, never pushed to. A trace's
 * first span (and the first after a chunk went out) makes a list of exactly one, `[span]`:
 * most traces of a server are its one span, and `[]` then `push` makes room for 17.
 */
export const NO_SPANS: TwSpan[] = Object.freeze([]) as unknown as TwSpan[];

export class LocalTrace {
  /**
   * Spans not yet handed to the exporter, in start order. The list itself is handed over when
   * the trace's open spans are all ended (no copy), and a new one starts for spans that come
   * later: a late child goes out as a chunk of its own, once. `NO_SPANS` when empty.
   */
  spans: TwSpan[] = NO_SPANS;
  /** The first span of the trace in this process (the local root); null until one starts. */
  root: TwSpan | null = null;
  open = 0;
  /** Sampling priority; NaN until decided. */
  priority = NaN;
  mechanism = -1;
  /** Rates behind the decision, for `_dd.agent_psr` / `_dd.rule_psr` / `_dd.limit_psr`; NaN = not applied. */
  agentRate = NaN;
  ruleRate = NaN;
  limitRate = NaN;
  /** `x-datadog-origin` (e.g. `synthetics`). */
  origin = '';
  /** Propagated `_dd.p.*` tags other than `_dd.p.tid` and `_dd.p.dm`, as `k=v,k=v`. */
  ptags = '';
  /** `tracestate` list members of other vendors, passed on unchanged (see `Extracted.tracestate`). */
  tracestate = '';
  /**
   * W3C's random trace-id flag (0x02): the trace id's rightmost 7 bytes are random. Set for
   * a trace started here; for a continued one, what its parent's traceparent said.
   */
  random = false;
  /** Raw `baggage` header value to pass on. */
  baggage = '';

  /** The trace id's halves as int32 (see ids.ts). */
  readonly t0: number;
  readonly t1: number;
  readonly t2: number;
  readonly t3: number;

  constructor(t0: number, t1: number, t2: number, t3: number) {
    this.t0 = t0 | 0;
    this.t1 = t1 | 0;
    this.t2 = t2 | 0;
    this.t3 = t3 | 0;
  }
}

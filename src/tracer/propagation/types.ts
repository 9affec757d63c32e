/** What a propagator reads from, and writes to, a carrier (HTTP headers, gRPC metadata). */
export type HeaderGetter<C> = (carrier: C, key: string) => string | undefined;
export type HeaderSetter<C> = (carrier: C, key: string, value: string) => void;

/** A parent context read from a carrier. Ids are uint32 halves, most significant first. */
export interface Extracted {
  t0: number;
  t1: number;
  t2: number;
  t3: number;
  spanHi: number;
  spanLo: number;
  /** Datadog sampling priority; NaN when the carrier did not say. */
  priority: number;
  /**
   * The parent said the trace id's rightmost 7 bytes are random: W3C's random trace-id flag
   * (0x02) in `traceparent`. Only a traceparent can say so; from other styles it is false.
   */
  random: boolean;
  origin: string;
  /** `_dd.p.*` tags other than `_dd.p.tid`, as `k=v,k=v`. */
  ptags: string;
  /**
   * Other vendors' `tracestate` members to pass on, as `k=v,k=v`: read from a valid header
   * (one invalid member discards all of it), no `dd` member, no duplicate keys, at most 31,
   * so ours fits in front. See `filterTracestate`.
   */
  tracestate: string;
  baggage: string;
}

/** The fields of a local span a propagator writes. */
export interface InjectSource {
  t0: number;
  t1: number;
  t2: number;
  t3: number;
  spanHi: number;
  spanLo: number;
  priority: number;
  /** Set W3C's random trace-id flag (0x02): the trace id's rightmost 7 bytes are random. */
  random: boolean;
  /** Decision maker to add as `_dd.p.dm` when this process decided; -1 = none. */
  mechanism: number;
  origin: string;
  ptags: string;
  /** As `Extracted.tracestate`: written as is after our own member. */
  tracestate: string;
  baggage: string;
}

export function emptyExtracted(): Extracted {
  return { t0: 0, t1: 0, t2: 0, t3: 0, spanHi: 0, spanLo: 0, priority: NaN, random: false, origin: '', ptags: '', tracestate: '', baggage: '' };
}

/**
 * What the dev agent keeps for its page and its printer, bounded: the last N traces (the chunks
 * every service and process sent, merged by trace id), probe snapshots and statuses, profiles,
 * and what each service sent. What is dropped to stay within the bounds is counted.
 *
 * A trace is keyed by the low 64 bits of its id (what a Datadog chunk carries in `trace_id`);
 * the high 64 bits come from `_dd.p.tid` (or the OTLP id), and the trace is shown everywhere by
 * its 128-bit id in hex. A snapshot's `dd.trace_id` (the low half, in decimal, as Datadog's
 * intake takes it) finds its trace the same way.
 */
import type { DecodedSpan } from './decode-traces';
import type { ReceivedProfile } from './decode-profiles';
import type { ReceivedDiagnostic, ReceivedSnapshot } from './debugger-intake';

export interface StoredSpan extends DecodedSpan {
  /** How it came: a Datadog payload or OTLP. */
  via: 'datadog' | 'otlp';
  /** The process that sent it, when its payload said (pid, runtime id); null/'' otherwise. */
  pid: number | null;
  runtimeId: string;
  /** When the agent received it (ms since the epoch). */
  received: number;
}

export interface StoredSnapshot extends ReceivedSnapshot {
  received: number;
  /** The trace's low 64 bits and the span id, 16 hex digits each; null without `dd`. */
  traceLow: string | null;
  spanHex: string | null;
}

export interface StoredTrace {
  /** Low 64 bits of the trace id, 16 hex digits. */
  low: string;
  /** High 64 bits, 16 hex digits; '' until a chunk carried them. */
  high: string;
  spans: StoredSpan[];
  firstSeen: number;
  lastSeen: number;
  /** Spans past the per-trace bound, not kept. */
  spansDropped: number;
  /** Snapshots of log probes taken in this trace (bounded like the store's list). */
  snapshots: StoredSnapshot[];
}

/** A span a span-decoration probe put a tag on. */
interface Decoration {
  probeId: string;
  tag: string;
  /** The tag's value, or the evaluation error when there is no value. */
  value: string;
  error: boolean;
  service: string;
  traceLow: string;
  spanHex: string;
  /** When the span started (ms since the epoch). */
  time: number;
}

/** One probe in one process: its latest status and the ones before. */
interface ProbeState {
  probeId: string;
  service: string;
  runtimeId: string;
  latest: ReceivedDiagnostic;
  /** Statuses in arrival order, repeats folded (at most 20). */
  history: string[];
}

/** What one service sent the agent. */
export interface ServiceTally {
  service: string;
  tracePayloads: number;
  traceBytes: number;
  spans: number;
  /** Trace chunks (one process's part of a trace). */
  chunks: number;
  profiles: number;
  profileBytes: number;
  snapshots: number;
  statuses: number;
  firstSeen: number;
  lastSeen: number;
  /** Runtime ids (processes) seen, at most 100. */
  processes: Set<string>;
  /** `datadog-meta-lang`/`datadog-meta-tracer-version` of its last trace payload, or 'otlp'. */
  client: string;
}

export interface StoreLimits {
  /** Traces kept; the oldest (first seen) are dropped past it. */
  maxTraces: number;
  /** Spans kept per trace. */
  maxSpansPerTrace: number;
  /** Spans kept in all: the oldest traces are dropped past it too. */
  maxSpans: number;
  /** Snapshots kept (the most recent). */
  maxSnapshots: number;
  /** Span decorations listed (the most recent). */
  maxDecorations: number;
  /** Probe states kept (probe x process). */
  maxProbeStates: number;
  /** Profile uploads kept (the most recent), in all and per service. */
  maxProfiles: number;
  maxProfilesPerService: number;
  /** Rejection messages kept (the most recent). */
  maxRejections: number;
}

export const DEFAULT_LIMITS: Readonly<StoreLimits> = Object.freeze({
  maxTraces: 1000,
  maxSpansPerTrace: 10_000,
  maxSpans: 200_000,
  maxSnapshots: 1000,
  maxDecorations: 500,
  maxProbeStates: 1000,
  maxProfiles: 60,
  maxProfilesPerService: 12,
  maxRejections: 50,
});

export const hex64 = (v: bigint): string => v.toString(16).padStart(16, '0');

/** The trace's 128-bit id, 32 hex digits (high half zero when no chunk carried it). */
export const traceIdOf = (t: Pick<StoredTrace, 'high' | 'low'>): string => (t.high === '' ? '0'.repeat(16) : t.high) + t.low;

/** A decimal id (a snapshot's `dd.trace_id`, the low half) as 16 hex digits, or null. */
function low64(id: string): string | null {
  if (!/^[0-9]{1,20}$/.test(id)) return null;
  const v = BigInt(id);
  return v > 0xffffffffffffffffn ? null : hex64(v);
}

const PROBE_TAG = /^_dd\.di\.(.+)\.(probe_id|evaluation_error)$/;

/**
 * The tags dynamic probes put on a span: name, value (or the evaluation error written instead),
 * probe id ('' when only an error names the tag).
 */
export function probeTags(span: Pick<DecodedSpan, 'meta'>): { tag: string; value: string; error: boolean; probeId: string }[] {
  const out: { tag: string; value: string; error: boolean; probeId: string }[] = [];
  const seen = new Set<string>();
  for (const k of Object.keys(span.meta)) {
    const m = PROBE_TAG.exec(k);
    if (m === null || seen.has(m[1])) continue;
    const tag = m[1];
    seen.add(tag);
    const probeId = span.meta[`_dd.di.${tag}.probe_id`] ?? '';
    const err = span.meta[`_dd.di.${tag}.evaluation_error`];
    if (probeId !== '' && span.meta[tag] !== undefined) out.push({ tag, value: span.meta[tag], error: false, probeId });
    else if (err !== undefined) out.push({ tag, value: err, error: true, probeId });
  }
  return out;
}

export class AgentStore {
  readonly limits: StoreLimits;
  /** Bumped on every change; `traceVersion`, `probeVersion`, `profileVersion` by kind. */
  version = 0;
  traceVersion = 0;
  probeVersion = 0;
  profileVersion = 0;
  /** Insertion order is age: the first is evicted first. */
  readonly traces = new Map<string, StoredTrace>();
  readonly snapshots: StoredSnapshot[] = [];
  readonly decorations: Decoration[] = [];
  readonly probes = new Map<string, ProbeState>();
  readonly profiles: { received: number; bytes: number; profile: ReceivedProfile }[] = [];
  readonly services = new Map<string, ServiceTally>();
  readonly rejections: { time: number; path: string; message: string }[] = [];
  rejected = 0;
  /** Spans in `traces`. */
  spanCount = 0;
  /** What was dropped to stay within the limits. */
  readonly evicted = { traces: 0, spans: 0, spansOverTraceLimit: 0, snapshots: 0, profiles: 0, probeStates: 0 };
  readonly started = Date.now();

  constructor(limits: Partial<StoreLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  private tally(service: string): ServiceTally {
    let t = this.services.get(service);
    if (t === undefined) {
      const now = Date.now();
      t = { service, tracePayloads: 0, traceBytes: 0, spans: 0, chunks: 0, profiles: 0, profileBytes: 0, snapshots: 0, statuses: 0, firstSeen: now, lastSeen: now, processes: new Set(), client: '' };
      // Services are few; a flood of names is bounded anyway.
      if (this.services.size >= 1000) this.services.delete(this.services.keys().next().value as string);
      this.services.set(service, t);
    }
    t.lastSeen = Date.now();
    return t;
  }

  private changed(kind: 'trace' | 'probe' | 'profile'): void {
    this.version++;
    if (kind === 'trace') this.traceVersion++;
    else if (kind === 'probe') this.probeVersion++;
    else this.profileVersion++;
  }

  /** A payload of trace chunks from one client: counted once, for the service of its first span. */
  addPayload(chunks: DecodedSpan[][], bytes: number, client: string): void {
    const first = chunks.find((c) => c.length > 0)?.[0];
    if (first === undefined) return;
    const t = this.tally(first.service);
    t.tracePayloads++;
    t.traceBytes += bytes;
    if (client !== '') t.client = client;
  }

  /**
   * One process's part of a trace. `proc` names the process when the payload does it apart
   * from the spans (OTLP resources); a Datadog chunk carries `runtime-id` and `process_id` on
   * its first span. Returns the trace it joined.
   */
  addChunk(chunk: DecodedSpan[], via: 'datadog' | 'otlp', proc?: { pid: number | null; runtimeId: string }): StoredTrace | null {
    if (chunk.length === 0) return null;
    const now = Date.now();
    const low = hex64(chunk[0].trace_id);
    let trace = this.traces.get(low);
    if (trace === undefined) {
      trace = { low, high: '', spans: [], firstSeen: now, lastSeen: now, spansDropped: 0, snapshots: [] };
      this.traces.set(low, trace);
      // Snapshots that came before their trace's spans.
      for (const s of this.snapshots) if (s.traceLow === low) trace.snapshots.push(s);
      while (this.traces.size > this.limits.maxTraces) this.evictOldest();
    }
    trace.lastSeen = now;
    const head = chunk.find((s) => s.meta['runtime-id'] !== undefined || s.metrics.process_id !== undefined) ?? chunk[0];
    const pid = proc?.pid ?? (head.metrics.process_id !== undefined ? head.metrics.process_id : null);
    const runtimeId = proc?.runtimeId ?? head.meta['runtime-id'] ?? '';
    for (const s of chunk) {
      if (trace.high === '' && s.meta['_dd.p.tid'] !== undefined && /^[0-9a-f]{16}$/.test(s.meta['_dd.p.tid'])) trace.high = s.meta['_dd.p.tid'];
      const t = this.tally(s.service);
      t.spans++;
      if (runtimeId !== '' && t.processes.size < 100) t.processes.add(runtimeId);
      if (trace.spans.length >= this.limits.maxSpansPerTrace) {
        trace.spansDropped++;
        this.evicted.spansOverTraceLimit++;
        continue;
      }
      // A copy: the decoded span may be in the agent's record too, as it was received.
      trace.spans.push({ ...s, via, pid, runtimeId, received: now });
      this.spanCount++;
      for (const p of probeTags(s)) {
        this.decorations.push({ ...p, service: s.service, traceLow: low, spanHex: hex64(s.span_id), time: Number(s.start / 1_000_000n) });
        if (this.decorations.length > this.limits.maxDecorations) this.decorations.shift();
      }
    }
    for (const service of new Set(chunk.map((s) => s.service))) this.tally(service).chunks++;
    // Too many spans in all: the oldest traces go, never the one just added to.
    while (this.spanCount > this.limits.maxSpans && this.traces.size > 1 && this.traces.keys().next().value !== low) this.evictOldest();
    this.changed('trace');
    return trace;
  }

  private evictOldest(): void {
    const [oldest, gone] = this.traces.entries().next().value as [string, StoredTrace];
    this.traces.delete(oldest);
    this.spanCount -= gone.spans.length;
    this.evicted.traces++;
    this.evicted.spans += gone.spans.length;
  }

  /** The trace with this id in hex: 32 digits, or the low 16 (the low half finds it). */
  trace(id: string): StoredTrace | undefined {
    if (!/^[0-9a-f]{16}$|^[0-9a-f]{32}$/i.test(id)) return undefined;
    const t = this.traces.get(id.slice(-16).toLowerCase());
    const high = id.length === 32 ? id.slice(0, 16).toLowerCase() : '';
    // A link made before the high half arrived has zeros there.
    return t !== undefined && high !== '' && high !== '0'.repeat(16) && t.high !== '' && high !== t.high ? undefined : t;
  }

  addSnapshots(list: ReceivedSnapshot[]): StoredSnapshot[] {
    const now = Date.now();
    const out: StoredSnapshot[] = [];
    for (const x of list) {
      const s: StoredSnapshot = {
        ...x,
        received: now,
        traceLow: x.dd?.trace_id !== undefined ? low64(x.dd.trace_id) : null,
        spanHex: x.dd?.span_id !== undefined ? low64(x.dd.span_id) : null,
      };
      this.snapshots.push(s);
      if (this.snapshots.length > this.limits.maxSnapshots) {
        this.snapshots.shift();
        this.evicted.snapshots++;
      }
      if (s.traceLow !== null) {
        const t = this.traces.get(s.traceLow);
        if (t !== undefined && t.snapshots.length < this.limits.maxSnapshots) t.snapshots.push(s);
      }
      this.tally(x.service).snapshots++;
      out.push(s);
    }
    if (list.length > 0) this.changed('probe');
    return out;
  }

  addStatuses(list: ReceivedDiagnostic[]): void {
    for (const d of list) {
      const key = `${d.service}\u0000${d.runtimeId}\u0000${d.probeId}`;
      let p = this.probes.get(key);
      if (p === undefined) {
        p = { probeId: d.probeId, service: d.service, runtimeId: d.runtimeId, latest: d, history: [] };
        this.probes.set(key, p);
        while (this.probes.size > this.limits.maxProbeStates) {
          this.probes.delete(this.probes.keys().next().value as string);
          this.evicted.probeStates++;
        }
      }
      p.latest = d;
      if (p.history.at(-1) !== d.status) {
        p.history.push(d.status);
        if (p.history.length > 20) p.history.shift();
      }
      this.tally(d.service).statuses++;
    }
    if (list.length > 0) this.changed('probe');
  }

  addProfile(profile: ReceivedProfile, bytes: number): void {
    this.profiles.push({ received: Date.now(), bytes, profile });
    // A service that uploads often does not push the others' out.
    const service = profile.tags.service ?? '?';
    const mine = this.profiles.filter((p) => (p.profile.tags.service ?? '?') === service);
    if (mine.length > this.limits.maxProfilesPerService) {
      this.profiles.splice(this.profiles.indexOf(mine[0]), 1);
      this.evicted.profiles++;
    }
    if (this.profiles.length > this.limits.maxProfiles) {
      this.profiles.shift();
      this.evicted.profiles++;
    }
    const t = this.tally(service);
    t.profiles++;
    t.profileBytes += bytes;
    if (profile.tags['runtime-id'] !== undefined && t.processes.size < 100) t.processes.add(profile.tags['runtime-id']);
    this.changed('profile');
  }

  /** Forgets everything (the agent's `reset()`); what was dropped stays counted. */
  clear(): void {
    this.traces.clear();
    this.spanCount = 0;
    this.snapshots.length = 0;
    this.decorations.length = 0;
    this.probes.clear();
    this.profiles.length = 0;
    this.services.clear();
    this.rejections.length = 0;
    this.changed('trace');
    this.changed('probe');
    this.changed('profile');
  }

  addRejection(path: string, message: string): void {
    this.rejected++;
    this.rejections.push({ time: Date.now(), path, message });
    if (this.rejections.length > this.limits.maxRejections) this.rejections.shift();
    this.version++;
  }
}

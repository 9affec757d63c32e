/**
 * The tracer core: makes spans (for our integrations and for the OTel API), decides sampling
 * for new traces, and hands a trace's spans to the exporter once all of them have ended.
 */
import {
  type SpanKind,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import type { TracerConfig } from '../config/slices';
import { counters } from '../internal/counters';
import { logger } from '../internal/logger';
import { fromTimeInput, now, TIME_ORIGIN_MS } from './clock';
import { activeContext, SPAN_KEY, storage } from './context';
import { hex32, parseHex32, rand31, rand32 } from './ids';
import { filterTracestate, Propagator, type Extracted, type InjectSource } from './propagation/index';
import { PrioritySampler, SpanSampler } from './sampler';
import { TwSpan, type SpanSink } from './span';
import type { FinishedSpan } from './finished-span';
import { LocalTrace, NO_SPANS } from './trace';
import { makeResource, toReadableSpan } from './readable';
import { profilerHooks } from './profiler-hooks';
import type { SpanProcessor } from '../config/options';
import { FLAGS_NONE, FLAGS_SAMPLED, KIND_INTERNAL } from './kinds';

/** Where finished traces go: the tracer hands on read-only finished spans, never its own span type. */
export interface TraceSink {
  /** A chunk of one trace's finished spans, first span = chunk head. */
  enqueue(spans: readonly FinishedSpan[]): void;
}

/** Seconds since epoch (at `start`) for the high 32 bits of a 128-bit trace id, as Datadog generates them. */
function traceIdHigh(start: number): number {
  return Math.floor((TIME_ORIGIN_MS + start) / 1000) >>> 0;
}

/** A non-recording span standing for a parent that lives in another process. */
export class RemoteSpan implements Span {
  private readonly ctx: SpanContext;
  constructor(readonly extracted: Extracted) {
    const e = extracted;
    this.ctx = {
      traceId: hex32(e.t0) + hex32(e.t1) + hex32(e.t2) + hex32(e.t3),
      spanId: hex32(e.spanHi) + hex32(e.spanLo),
      traceFlags: (e.priority > 0 ? FLAGS_SAMPLED : FLAGS_NONE) | (e.random ? RANDOM_FLAG : 0),
      isRemote: true,
    };
  }
  spanContext(): SpanContext {
    return this.ctx;
  }
  setAttribute(): this {
    return this;
  }
  setAttributes(): this {
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(): this {
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {}
  isRecording(): boolean {
    return false;
  }
  recordException(): void {}
}

/** W3C's random trace-id flag (level 2); @opentelemetry/api's TraceFlags does not name it. */
const RANDOM_FLAG = 2;

/** An Extracted from a foreign OTel SpanContext (e.g. one set with `trace.setSpanContext`). */
function fromSpanContext(sc: SpanContext): Extracted | undefined {
  const t = sc.traceId;
  const s = sc.spanId;
  if (typeof t !== 'string' || typeof s !== 'string' || t.length !== 32 || s.length !== 16) return undefined;
  const e: Extracted = {
    t0: parseHex32(t, 0),
    t1: parseHex32(t, 8),
    t2: parseHex32(t, 16),
    t3: parseHex32(t, 24),
    spanHi: parseHex32(s, 0),
    spanLo: parseHex32(s, 8),
    priority: (sc.traceFlags & FLAGS_SAMPLED) === FLAGS_SAMPLED ? 1 : 0,
    random: (sc.traceFlags & RANDOM_FLAG) === RANDOM_FLAG,
    origin: '',
    ptags: '',
    tracestate: sc.traceState ? filterTracestate(sc.traceState.serialize()) : '',
    baggage: '',
  };
  if (e.t0 < 0 || e.t1 < 0 || e.t2 < 0 || e.t3 < 0 || e.spanHi < 0 || e.spanLo < 0) return undefined;
  if ((e.t0 | e.t1 | e.t2 | e.t3) === 0 || (e.spanHi | e.spanLo) === 0) return undefined;
  return e;
}

export class TracerCore implements SpanSink {
  readonly sampler: PrioritySampler;
  /** Single span sampling; null without `spanSamplingRules`. */
  private readonly spanSampler: SpanSampler | null;
  readonly propagator: Propagator;
  private sink: TraceSink | null = null;
  private readonly processors: readonly SpanProcessor[];
  private readonly resource: ReturnType<typeof makeResource> | null;

  constructor(readonly config: TracerConfig) {
    this.sampler = new PrioritySampler(config);
    this.spanSampler = config.spanSamplingRules.length > 0 ? new SpanSampler(config.spanSamplingRules, config) : null;
    this.propagator = new Propagator(config.propagationExtract, config.propagationInject);
    this.processors = config.spanProcessors;
    this.resource = this.processors.length > 0 ? makeResource(config) : null;
  }

  /** Flushes the configured OTel span processors. */
  async flushProcessors(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.forceFlush().catch((err) => logger.error('a span processor failed to flush', err))));
  }

  async shutdownProcessors(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.shutdown().catch((err) => logger.error('a span processor failed to shut down', err))));
  }

  private runProcessors(span: TwSpan): void {
    // Processors read the sampled flag of each span as it ends (the SDK's batch processor
    // drops unsampled ones), so with processors the decision is made by the first span's end.
    this.decide(span.trace);
    const readable = toReadableSpan(span, this.resource!);
    for (const p of this.processors) {
      try {
        p.onEnd(readable);
      } catch (err) {
        logger.error('a span processor threw in onEnd', err, 'processor');
      }
    }
  }

  setSink(sink: TraceSink): void {
    this.sink = sink;
  }

  /** A new span under `parent` (a context), or under a remote parent, or a new trace. */
  startSpan(name: string, kind: SpanKind, parent: Context, remote: Extracted | undefined, start: number): TwSpan {
    counters.spansStarted++;
    const span = this.makeSpan(name, kind, parent, remote, start);
    if (this.resource !== null) {
      for (const p of this.processors) {
        try {
          p.onStart(span as never, parent);
        } catch (err) {
          logger.error('a span processor threw in onStart', err, 'processor');
        }
      }
    }
    return span;
  }

  private makeSpan(name: string, kind: SpanKind, parent: Context, remote: Extracted | undefined, start: number): TwSpan {
    let parentSpan = remote === undefined ? (parent.getValue(SPAN_KEY) as Span | undefined) : undefined;
    if (parentSpan instanceof TwSpan) {
      const trace = parentSpan.trace;
      return new TwSpan(trace, parent, this, rand31(), rand32(), parentSpan.spanHi, parentSpan.spanLo, true, name, kind, start);
    }
    if (parentSpan !== undefined && remote === undefined) {
      if (parentSpan instanceof RemoteSpan) remote = parentSpan.extracted;
      else if (typeof parentSpan.spanContext === 'function') remote = fromSpanContext(parentSpan.spanContext());
    }
    if (remote !== undefined) {
      const trace = new LocalTrace(remote.t0, remote.t1, remote.t2, remote.t3);
      trace.origin = remote.origin;
      trace.ptags = remote.ptags;
      trace.tracestate = remote.tracestate;
      // The parent's word, kept as it came: set if set, unset if unset (W3C level 2).
      trace.random = remote.random === true;
      trace.baggage = remote.baggage;
      // A parent without a decision (Datadog headers without a priority): decided here, later.
      trace.priority = remote.priority;
      return new TwSpan(trace, parent, this, rand31(), rand32(), remote.spanHi, remote.spanLo, false, name, kind, start);
    }
    // High 32 bits: epoch seconds, then 32 zero bits, then 63 random bits (the top one is clear
    // for 63-bit Datadog readers): the rightmost 7 bytes are random, as the flag says.
    const trace = new LocalTrace(traceIdHigh(start), 0, rand31(), rand32());
    trace.random = true;
    return new TwSpan(trace, parent, this, rand31(), rand32(), 0, 0, false, name, kind, start);
  }

  /**
   * Makes a trace's sampling decision if it is not made yet. The decision of a trace started
   * here (or continued from a parent that did not say) waits until it is needed: its first
   * propagation (`inject`), the first read of its sampled flag (`spanContext().traceFlags`,
   * span processors), or the end of its local root, whichever comes first. So sampling rules
   * see the root as it is then: a server span named after its route (`GET /users/:id`) by the
   * framework, the attributes set after it started. (`docs/sampling.md`)
   */
  decide(trace: LocalTrace): void {
    if (trace.priority !== trace.priority) this.sampler.decide(trace);
  }

  onEnd(span: TwSpan): void {
    counters.spansFinished++;
    const trace = span.trace;
    if (trace.root === span && trace.priority !== trace.priority) this.sampler.decide(trace);
    if (this.resource !== null) this.runProcessors(span);
    if (profilerHooks.onLocalRootEnd !== null && trace.root === span) profilerHooks.onLocalRootEnd(span);
    if (trace.open !== 0 || this.sink === null) return;
    // Every local span has ended: the trace (or what started after an earlier chunk went out)
    // goes out. The exporter keeps the list until it encodes it, so spans that start later go
    // into a new one: they must not join a chunk already handed over.
    const spans = trace.spans;
    if (spans.length === 0) return;
    trace.spans = NO_SPANS;
    // Decided when the root ended; a chunk never goes out undecided (the check costs nothing).
    this.decide(trace);
    if (this.spanSampler !== null && trace.priority <= 0) this.spanSampler.sample(spans);
    try {
      this.sink.enqueue(spans);
    } catch (err) {
      logger.error('could not queue a finished trace', err, 'enqueue');
    }
  }

  /** Writes `span`'s context into a carrier in the configured styles. */
  inject<C>(span: TwSpan, carrier: C, set: (carrier: C, key: string, value: string) => void): void {
    const t = span.trace;
    // What goes downstream is the decision: it is made now if it was not made yet.
    if (t.priority !== t.priority) this.sampler.decide(t);
    const src: InjectSource = {
      t0: t.t0,
      t1: t.t1,
      t2: t.t2,
      t3: t.t3,
      spanHi: span.spanHi,
      spanLo: span.spanLo,
      priority: t.priority,
      random: t.random,
      mechanism: t.mechanism,
      origin: t.origin,
      ptags: t.ptags,
      tracestate: t.tracestate,
      baggage: t.baggage,
    };
    this.propagator.inject(src, carrier, set);
  }
}

/** The OTel API tracer: manual spans join the same traces as the integrations' spans. */
export class TwTracer implements Tracer {
  constructor(private readonly core: TracerCore) {}

  startSpan(name: string, options?: SpanOptions, ctx?: Context): Span {
    const parent = options?.root ? activeRootFree(ctx) : (ctx ?? activeContext());
    const start = options?.startTime === undefined ? now() : fromTimeInput(options.startTime);
    const span = this.core.startSpan(name, options?.kind ?? KIND_INTERNAL, parent, undefined, start);
    if (options?.attributes) span.setAttributes(options.attributes);
    if (options?.links) span.addLinks(options.links);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, context: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, a?: SpanOptions | F, b?: Context | F, c?: F): ReturnType<F> {
    let options: SpanOptions | undefined;
    let ctx: Context | undefined;
    let fn: F;
    if (typeof a === 'function') fn = a;
    else if (typeof b === 'function') {
      options = a;
      fn = b;
    } else {
      options = a;
      ctx = b;
      fn = c as F;
    }
    const span = this.startSpan(name, options, ctx) as TwSpan;
    return storage.run(span, fn, span) as ReturnType<F>;
  }
}

/** `root: true` keeps the context's other values but not its span. */
function activeRootFree(ctx: Context | undefined): Context {
  return (ctx ?? activeContext()).deleteValue(SPAN_KEY);
}

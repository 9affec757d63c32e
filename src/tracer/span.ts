/**
 * The span object made for every request. It implements the OTel API `Span` (so users'
 * manual spans and ours are one kind) and is also the context node that holds itself, so
 * activating it allocates nothing more. Integration fields (HTTP method, route, status...)
 * are plain properties, mapped to Datadog tag names by the Datadog encoder and to OTel
 * semantic-convention names by `readable.ts`. Once ended, it is handed on as the read-only
 * `FinishedSpan` (finished-span.ts), which it implements without a copy.
 */
import {
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type SpanStatus,
  type TimeInput,
} from '@opentelemetry/api';
import { fromTimeInput, now } from './clock';
import { ContextNode, SPAN_KEY } from './context';
import { counters } from '../internal/counters';
import { hex32 } from './ids';
import type { LocalTrace } from './trace';
import { isNamingAttr, type FinishedSpan, type SpanEvent } from './finished-span';
import { STATUS_ERROR, STATUS_OK, STATUS_UNSET } from './kinds';

/** `[key, value, key, value, ...]`: keys at even indices, values (never undefined or null) after them; used up to `TwSpan#attrLen`. */
type AttrList = (string | AttributeValue)[];

/**
 * Attributes kept per span. Past this, new keys are dropped and counted
 * (`stats().attributesDropped`); a key already set can still be changed. Bounds the work
 * of finding a key (a scan of the list) and the span's size; OpenTelemetry's default
 * attribute count limit is the same.
 */
const MAX_ATTRIBUTES = 128;

/** A list twice as long with the first `n` slots of `a`. */
function grow(a: AttrList, n: number): AttrList {
  const b = new Array<string | AttributeValue>(2 * n);
  for (let i = 0; i < n; i++) b[i] = a[i];
  return b;
}

export interface SpanSink {
  /** Called once when a span ends. */
  onEnd(span: TwSpan): void;
  /** Makes the trace's sampling decision now, if it is not made yet (see `sampler.ts`). */
  decide(trace: LocalTrace): void;
}

/**
 * A span's OTel context. `traceFlags` is read when asked for (an own enumerable accessor, so a
 * copy made with spread or `Object.assign` reads it too): the sampled flag is what makes the
 * trace's sampling decision if it was not made yet; the ids alone (log correlation, probes) do not.
 */
function makeSpanContext(span: TwSpan, sink: SpanSink): SpanContext {
  const t = span.trace;
  const sc = {
    traceId: hex32(t.t0) + hex32(t.t1) + hex32(t.t2) + hex32(t.t3),
    spanId: hex32(span.spanHi) + hex32(span.spanLo),
    traceFlags: 0,
    isRemote: false,
  };
  Object.defineProperty(sc, 'traceFlags', {
    enumerable: true,
    get(): number {
      if (t.priority !== t.priority) sink.decide(t);
      return (t.priority > 0 ? 1 : 0) | (t.random ? 2 : 0);
    },
  });
  return sc;
}

export class TwSpan implements Span, Context, FinishedSpan {
  // --- identity ---
  readonly spanHi: number;
  readonly spanLo: number;
  /** 0,0 for a trace root; for a local root under a remote parent, the remote span id. */
  readonly parentHi: number;
  readonly parentLo: number;
  /** True when the parent is in this process. */
  readonly localParent: boolean;

  // --- what it is ---
  name: string;
  kind: SpanKind;
  /** Datadog operation name; '' means use `name`. */
  opName = '';
  /** Datadog resource; '' means use `name`. */
  resource = '';
  /** Datadog span type (`web`, `http`, `grpc`, ...); '' for none. */
  type = '';
  /** Overrides the tracer's service when set. */
  service = '';
  /** The integration that made it (`http`, `fastify`, `express`, `fetch`...); '' for manual. */
  component = '';

  // --- time, performance.now() ms ---
  readonly start: number;
  /** End time; -1 while open. */
  endAt = -1;

  // --- outcome ---
  error = 0;
  statusCode: SpanStatusCode = STATUS_UNSET;
  statusMessage = '';
  errorType = '';
  errorMessage = '';
  errorStack = '';

  // --- integration fields (empty = absent) ---
  httpMethod = '';
  httpRoute = '';
  /** Without the query string unless configured otherwise. */
  httpUrl = '';
  httpStatus = 0;
  clientIp = '';
  userAgent = '';
  peerHost = '';
  peerPort = 0;

  // --- user attributes and the rest, made on first use ---
  /**
   * User attributes as one flat list, `[key, value, key, value, ...]`, in the order first
   * set (setting a key again replaces its value). A list, not an object: attribute keys are
   * open-ended, so stores into per-span objects go through V8's slowest (megamorphic) path,
   * and encoders walk a list without enumerating keys. Slots from `attrLen` on are unused
   * (the list is made with room to spare: growing a JS array by push reallocates it large).
   */
  attrs: AttrList | null = null;
  /** Used slots of `attrs` (twice the number of attributes). */
  attrLen = 0;
  /** True once one of the attributes that name the span (`service.name`, `resource.name`, `operation.name`, `span.type`) was set. */
  namedAttrs = false;
  events: SpanEvent[] | null = null;
  links: Link[] | null = null;
  /** Kept by single span sampling although its trace was dropped (`SpanSampler`). */
  spanSampled = false;

  private spanContextCache: SpanContext | null = null;
  /** Linked profiling only: what samples under this span are labelled with (profiler/labels.ts). */
  profCtx: object | null = null;

  constructor(
    readonly trace: LocalTrace,
    private readonly parentCtx: Context,
    private readonly sink: SpanSink,
    spanHi: number,
    spanLo: number,
    parentHi: number,
    parentLo: number,
    localParent: boolean,
    name: string,
    kind: SpanKind,
    start: number,
  ) {
    // int32, never a heap number (see ids.ts)
    this.spanHi = spanHi | 0;
    this.spanLo = spanLo | 0;
    this.parentHi = parentHi | 0;
    this.parentLo = parentLo | 0;
    this.localParent = localParent;
    this.name = name;
    this.kind = kind;
    this.start = start;
    const spans = trace.spans;
    if (spans.length === 0) trace.spans = [this];
    else spans.push(this);
    trace.root ??= this;
    trace.open++;
  }

  // ---------------- Context ----------------
  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this : this.parentCtx.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new ContextNode(this, key, value);
  }

  deleteValue(key: symbol): Context {
    return new ContextNode(this, key, undefined);
  }

  // ---------------- OTel Span ----------------
  spanContext(): SpanContext {
    return (this.spanContextCache ??= makeSpanContext(this, this.sink));
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (this.endAt >= 0 || value === undefined || value === null) return this;
    return this.put(key, value, MAX_ATTRIBUTES);
  }

  /**
   * Single span sampling kept this span out of a dropped trace: Datadog's
   * `_dd.span_sampling.*` metrics go on it (after its end, past the attribute bound).
   */
  keepAlone(mechanism: number, rate: number, maxPerSecond: number | undefined): void {
    this.spanSampled = true;
    this.put('_dd.span_sampling.mechanism', mechanism, Infinity);
    this.put('_dd.span_sampling.rule_rate', rate, Infinity);
    if (maxPerSecond !== undefined) this.put('_dd.span_sampling.max_per_second', maxPerSecond, Infinity);
  }

  /** Sets or adds an attribute, keeping at most `max` keys. */
  private put(key: string, value: AttributeValue, max: number): this {
    let a = this.attrs;
    const n = this.attrLen;
    if (a === null) {
      a = this.attrs = new Array<string | AttributeValue>(8);
    } else {
      for (let i = 0; i < n; i += 2) {
        if (a[i] === key) {
          a[i + 1] = value;
          return this;
        }
      }
      if (n >= max * 2) {
        counters.attributesDropped++;
        return this;
      }
      if (n === a.length) a = this.attrs = grow(a, n);
    }
    a[n] = key;
    a[n + 1] = value;
    this.attrLen = n + 2;
    if (isNamingAttr(key)) this.namedAttrs = true;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    if (this.attrs !== null || this.endAt >= 0) {
      for (const key in attributes) this.setAttribute(key, attributes[key]);
      return this;
    }
    // The first attributes (usually startSpan's): a list of exactly their size, filled without
    // looking for keys already set (an object's keys are distinct).
    let count = 0;
    for (const key in attributes) if (attributes[key] !== undefined && attributes[key] !== null) count++;
    if (count === 0) return this;
    const a = (this.attrs = new Array<string | AttributeValue>(2 * Math.min(count, MAX_ATTRIBUTES)));
    let n = 0;
    for (const key in attributes) {
      const value = attributes[key];
      if (value === undefined || value === null) continue;
      if (n === a.length) {
        counters.attributesDropped++;
        continue;
      }
      a[n] = key;
      a[n + 1] = value;
      n += 2;
      if (isNamingAttr(key)) this.namedAttrs = true;
    }
    this.attrLen = n;
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.endAt >= 0) return this;
    let attributes: Attributes | undefined;
    if (attributesOrTime !== undefined && typeof attributesOrTime === 'object' && !Array.isArray(attributesOrTime) && !(attributesOrTime instanceof Date)) {
      attributes = attributesOrTime as Attributes;
    } else if (attributesOrTime !== undefined) {
      time = attributesOrTime as TimeInput;
    }
    if (this.events === null) this.events = [];
    if (this.events.length < 128) this.events.push({ name, time: fromTimeInput(time), attributes });
    return this;
  }

  addLink(link: Link): this {
    if (this.endAt < 0) (this.links ??= []).push(link);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.endAt >= 0) return this;
    this.statusCode = status.code;
    this.statusMessage = status.message ?? '';
    if (status.code === STATUS_ERROR) {
      this.error = 1;
      if (this.errorMessage === '' && status.message) this.errorMessage = status.message;
    } else if (status.code === STATUS_OK) {
      this.error = 0;
    }
    return this;
  }

  updateName(name: string): this {
    if (this.endAt < 0) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    this.finish(endTime === undefined ? now() : fromTimeInput(endTime));
  }

  isRecording(): boolean {
    return this.endAt < 0;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    if (this.endAt >= 0) return;
    let type = 'Error';
    let message = '';
    let stack = '';
    if (typeof exception === 'string') {
      message = exception;
    } else if (exception !== null && typeof exception === 'object') {
      const e = exception as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown };
      if (typeof e.name === 'string') type = e.name;
      else if (e.code !== undefined) type = String(e.code);
      if (typeof e.message === 'string') message = e.message;
      if (typeof e.stack === 'string') stack = e.stack;
    }
    this.errorType = type;
    this.errorMessage = message;
    this.errorStack = stack;
    this.addEvent('exception', { 'exception.type': type, 'exception.message': message, 'exception.stacktrace': stack }, time);
  }

  /** Records an error as the span's outcome (type, message, stack; error = 1). */
  fail(err: unknown): void {
    this.recordException(err as Exception);
    this.error = 1;
    if (this.statusCode !== STATUS_OK) this.statusCode = STATUS_ERROR;
  }

  /** Ends the span once; later calls do nothing. */
  finish(endTime?: number): void {
    if (this.endAt >= 0) return;
    this.endAt = endTime === undefined ? now() : endTime;
    this.trace.open--;
    this.sink.onEnd(this);
  }

  /** Duration in ms (0 while open). */
  get durationMs(): number {
    return this.endAt < 0 ? 0 : this.endAt - this.start;
  }

  /** The first span of its trace in this process (itself for a local root). */
  localRoot(): TwSpan {
    return this.trace.root ?? this;
  }

  /** A user attribute's value (undefined when not set). */
  attribute(key: string): AttributeValue | undefined {
    const a = this.attrs;
    if (a !== null) for (let i = 0; i < this.attrLen; i += 2) if (a[i] === key) return a[i + 1] as AttributeValue;
    return undefined;
  }
}


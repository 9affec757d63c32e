/**
 * What the tracer hands on once a span has ended: a read-only view of the span, exactly the
 * fields the encoders (Datadog v0.4/v0.5, OTLP) and the OTel `ReadableSpan` adapter read. The
 * tracer's `TwSpan` implements it as it is (plain fields, no getters, no copy), so reading a
 * finished span costs what reading the span itself does. The tracer's sink (`TraceSink`), the
 * encoders and the span-processor adapter take this type, not `TwSpan`.
 */
import type { AttributeValue, Attributes, Link, SpanContext, SpanKind, SpanStatusCode } from '@opentelemetry/api';

/** An event added to a span (`addEvent`, `recordException`). */
export interface SpanEvent {
  readonly name: string;
  /** `performance.now()` ms. */
  readonly time: number;
  readonly attributes: Attributes | undefined;
}

/** What the spans of one trace share in this process, as encoders read it. */
export interface FinishedTrace {
  /** The 128-bit trace id as four int32 (t0 highest). */
  readonly t0: number;
  readonly t1: number;
  readonly t2: number;
  readonly t3: number;
  /** Datadog sampling priority; NaN when never decided. */
  readonly priority: number;
  /** Datadog sampling mechanism (`_dd.p.dm`); -1 when none. */
  readonly mechanism: number;
  /** Rates behind the decision (`_dd.agent_psr`, `_dd.rule_psr`, `_dd.limit_psr`); NaN when not applied. */
  readonly agentRate: number;
  readonly ruleRate: number;
  readonly limitRate: number;
  /** `x-datadog-origin`; '' for none. */
  readonly origin: string;
  /** Propagated `_dd.p.*` tags other than `_dd.p.tid` and `_dd.p.dm`, as `k=v,k=v`. */
  readonly ptags: string;
  /** Other vendors' `tracestate` list members. */
  readonly tracestate: string;
  /** W3C's random trace-id flag. */
  readonly random: boolean;
}

/** A span that has ended. Strings are '' and numbers 0 when absent (see `TwSpan`). */
export interface FinishedSpan {
  readonly trace: FinishedTrace;
  /** Span and parent ids as int32 halves; the parent is 0,0 for a trace root. */
  readonly spanHi: number;
  readonly spanLo: number;
  readonly parentHi: number;
  readonly parentLo: number;
  /** True when the parent is in this process. */
  readonly localParent: boolean;

  readonly name: string;
  readonly kind: SpanKind;
  /** Datadog operation name, resource, type, service: '' means the default. */
  readonly opName: string;
  readonly resource: string;
  readonly type: string;
  readonly service: string;
  /** The integration that made it; '' for a manual span. */
  readonly component: string;

  /** Start and end, `performance.now()` ms. */
  readonly start: number;
  readonly endAt: number;

  readonly error: number;
  readonly statusCode: SpanStatusCode;
  readonly statusMessage: string;
  readonly errorType: string;
  readonly errorMessage: string;
  readonly errorStack: string;

  readonly httpMethod: string;
  readonly httpRoute: string;
  readonly httpUrl: string;
  readonly httpStatus: number;
  readonly clientIp: string;
  readonly userAgent: string;
  readonly peerHost: string;
  readonly peerPort: number;

  /** User attributes, `[key, value, key, value, ...]`, used up to `attrLen`. */
  readonly attrs: readonly (string | AttributeValue)[] | null;
  readonly attrLen: number;
  /** True when one of the naming attributes (`isNamingAttr`) is among `attrs`. */
  readonly namedAttrs: boolean;
  /** Kept by single span sampling although its trace was dropped. */
  readonly spanSampled: boolean;
  readonly events: readonly SpanEvent[] | null;
  readonly links: readonly Link[] | null;

  /** The OTel span context (made once per span, on first call). */
  spanContext(): SpanContext;
}

/** The attributes that name a span (`service.name`, `resource.name`, `operation.name`, `span.type`): encoders read them as its service, resource, name and type, not as tags. */
export function isNamingAttr(k: string): boolean {
  return k === 'service.name' || k === 'resource.name' || k === 'operation.name' || k === 'span.type';
}

const DD_TYPES = ['', 'web', 'http', 'queue', 'queue'];

/** A span's Datadog names, filled in place (no allocation per span). */
export interface SpanNames {
  opName: string;
  resource: string;
  service: string;
  type: string;
}

/** Operation name, resource, service and type: the span's own, or the OTel attributes that set them. */
export function resolveNames(s: FinishedSpan, out: SpanNames): void {
  let opName = s.opName || s.name;
  let resource = s.resource || s.name;
  let service = s.service;
  let type = s.type;
  const a = s.attrs;
  if (s.namedAttrs && a !== null) {
    for (let i = 0; i < s.attrLen; i += 2) {
      const k = a[i];
      const v = a[i + 1];
      if (typeof v !== 'string') continue;
      if (k === 'operation.name') {
        if (v) opName = v;
      } else if (k === 'resource.name') {
        if (v) resource = v;
      } else if (k === 'service.name') {
        if (v) service = v;
      } else if (k === 'span.type') {
        type = v;
      }
    }
  }
  if (type === '' && s.component !== '') type = DD_TYPES[s.kind] ?? '';
  out.opName = opName;
  out.resource = resource;
  out.service = service;
  out.type = type;
}

/**
 * OTLP/HTTP protobuf: `ExportTraceServiceRequest` (opentelemetry-proto
 * `collector/trace/v1/trace_service.proto`) with one ResourceSpans (the service's resource),
 * one ScopeSpans per instrumentation scope (the integration, or `tracewell` for manual spans),
 * and Spans with OpenTelemetry semantic-convention attributes (`semconvAttributes`).
 *
 * Spans are encoded as their trace ends, into one buffer per scope; sealing wraps the buffers
 * in their ScopeSpans/ResourceSpans headers. Field numbers, from `trace/v1/trace.proto`:
 *   ResourceSpans: resource 1, scope_spans 2      ScopeSpans: scope 1, spans 2
 *   Span: trace_id 1, span_id 2, trace_state 3, parent_span_id 4, name 5, kind 6,
 *         start_time_unix_nano 7 (fixed64), end_time_unix_nano 8 (fixed64), attributes 9,
 *         events 11, links 13, status 15, flags 16 (fixed32)
 *   Event: time_unix_nano 1, name 2, attributes 3     Link: trace_id 1, span_id 2,
 *         trace_state 3, attributes 4, flags 6        Status: message 2, code 3
 *   KeyValue: key 1, value 2     AnyValue: string 1, bool 2, int 3, double 4, array 5
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { ResolvedConfig } from '../../config/options';
import { TIME_ORIGIN_MS } from '../../tracer/clock';
import { makeResource, semconvAttributes } from '../../tracer/readable';
import type { FinishedSpan } from '../../tracer/finished-span';
import { TRACER_VERSION } from '../../internal/version';
import { epochMsToNanos, lenField, ProtoWriter, WIRE_I32, WIRE_I64, WIRE_VARINT } from './protobuf';

interface Scope {
  /** `scope` field (1) of ScopeSpans, encoded. */
  header: Buffer;
  /** Spans, each as field 2 of ScopeSpans. */
  w: ProtoWriter;
}

const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

function writeAnyValue(w: ProtoWriter, field: number, v: AttributeValue | null | undefined): void {
  const m = w.begin(field);
  if (typeof v === 'string') w.string(1, v);
  else if (typeof v === 'boolean') {
    w.tag(2, WIRE_VARINT);
    w.varint(v ? 1 : 0);
  } else if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
      w.tag(3, WIRE_VARINT);
      w.int64(v);
    } else {
      w.tag(4, WIRE_I64);
      w.double(v);
    }
  } else if (Array.isArray(v)) {
    const a = w.begin(5);
    for (const item of v as (AttributeValue | null | undefined)[]) writeAnyValue(w, 1, item);
    w.end(a);
  }
  w.end(m);
}

function writeAttributes(w: ProtoWriter, field: number, attrs: Attributes | undefined): void {
  if (attrs === undefined) return;
  for (const k in attrs) {
    const v = attrs[k];
    if (v === undefined || v === null) continue;
    const m = w.begin(field);
    w.string(1, k);
    writeAnyValue(w, 2, v);
    w.end(m);
  }
}

const HEX_BYTE = /^[0-9a-f]*$/i;
function hexBytes(hex: string): Buffer {
  return HEX_BYTE.test(hex) && hex.length % 2 === 0 ? Buffer.from(hex, 'hex') : Buffer.alloc(0);
}

export class OtlpEncoder {
  private readonly scopes = new Map<string, Scope>();
  private readonly resource: Buffer;
  private bytes = 0;
  traces = 0;
  spans = 0;
  private readonly id16 = Buffer.alloc(16);
  private readonly id8 = Buffer.alloc(8);

  constructor(config: ResolvedConfig, info: { runtimeId: string }) {
    const attrs: Attributes = { ...makeResource(config).attributes, 'process.pid': process.pid, 'process.runtime.name': 'nodejs', 'process.runtime.version': process.versions.node };
    if (info.runtimeId) attrs['runtime-id'] = info.runtimeId;
    // The older key too: backends and collectors before semconv 1.27 read only this one.
    if (config.env) attrs['deployment.environment'] = config.env;
    const w = new ProtoWriter(1024);
    writeAttributes(w, 1, attrs);
    // ResourceSpans.resource (field 1) = Resource { attributes (1) }.
    this.resource = lenField(1, w.take(16));
  }

  /** Bytes encoded so far (about the payload size if sealed now). */
  get size(): number {
    return this.bytes;
  }

  private scope(name: string): Scope {
    let s = this.scopes.get(name);
    if (s === undefined) {
      const w = new ProtoWriter(256);
      w.string(1, name);
      w.string(2, TRACER_VERSION);
      s = { header: lenField(1, w.take(16)), w: new ProtoWriter(16 * 1024) };
      this.scopes.set(name, s);
    }
    return s;
  }

  /** Appends one trace chunk. On failure nothing of it stays in the payload. */
  append(spans: readonly FinishedSpan[]): boolean {
    const marks: [Scope, number][] = [];
    try {
      for (let i = 0; i < spans.length; i++) {
        const s = spans[i];
        const scope = this.scope(s.component || 'tracewell');
        if (!marks.some((m) => m[0] === scope)) marks.push([scope, scope.w.pos]);
        const before = scope.w.pos;
        this.span(scope.w, s);
        this.bytes += scope.w.pos - before;
      }
      this.traces++;
      this.spans += spans.length;
      return true;
    } catch {
      for (const [scope, pos] of marks) {
        this.bytes -= scope.w.pos - pos;
        scope.w.pos = pos;
      }
      return false;
    }
  }

  private span(w: ProtoWriter, s: FinishedSpan): void {
    const t = s.trace;
    const m = w.begin(2);
    const id16 = this.id16;
    id16.writeUInt32BE(t.t0 >>> 0, 0);
    id16.writeUInt32BE(t.t1 >>> 0, 4);
    id16.writeUInt32BE(t.t2 >>> 0, 8);
    id16.writeUInt32BE(t.t3 >>> 0, 12);
    w.bytes(1, id16);
    const id8 = this.id8;
    id8.writeUInt32BE(s.spanHi >>> 0, 0);
    id8.writeUInt32BE(s.spanLo >>> 0, 4);
    w.bytes(2, id8);
    if (t.tracestate !== '') w.string(3, t.tracestate);
    const hasParent = s.parentHi !== 0 || s.parentLo !== 0;
    if (hasParent) {
      id8.writeUInt32BE(s.parentHi >>> 0, 0);
      id8.writeUInt32BE(s.parentLo >>> 0, 4);
      w.bytes(4, id8);
    }
    w.string(5, s.name);
    w.tag(6, WIRE_VARINT);
    w.varint(s.kind + 1);
    const [sh, sl] = epochMsToNanos(TIME_ORIGIN_MS + s.start);
    w.tag(7, WIRE_I64);
    w.fixed64(sh, sl);
    const [eh, el] = epochMsToNanos(TIME_ORIGIN_MS + Math.max(s.start, s.endAt));
    w.tag(8, WIRE_I64);
    w.fixed64(eh, el);
    writeAttributes(w, 9, semconvAttributes(s));
    if (s.events !== null) {
      for (const e of s.events) {
        const em = w.begin(11);
        const [h, l] = epochMsToNanos(TIME_ORIGIN_MS + e.time);
        w.tag(1, WIRE_I64);
        w.fixed64(h, l);
        w.string(2, e.name);
        writeAttributes(w, 3, e.attributes);
        w.end(em);
      }
    }
    if (s.links !== null) {
      for (const link of s.links) {
        const lm = w.begin(13);
        w.bytes(1, hexBytes(link.context.traceId));
        w.bytes(2, hexBytes(link.context.spanId));
        const ts = link.context.traceState?.serialize();
        if (ts) w.string(3, ts);
        writeAttributes(w, 4, link.attributes);
        w.tag(6, WIRE_I32);
        w.fixed32((link.context.traceFlags & 0xff) | HAS_IS_REMOTE | (link.context.isRemote ? IS_REMOTE : 0));
        w.end(lm);
      }
    }
    const code = s.statusCode !== 0 ? s.statusCode : s.error === 1 ? 2 : 0;
    const message = s.statusMessage || (code === 2 ? s.errorMessage : '');
    if (code !== 0 || message !== '') {
      const sm = w.begin(15);
      if (message !== '') w.string(2, message);
      if (code !== 0) {
        w.tag(3, WIRE_VARINT);
        w.varint(code);
      }
      w.end(sm);
    }
    w.tag(16, WIRE_I32);
    w.fixed32((t.priority > 0 ? 1 : 0) | HAS_IS_REMOTE | (hasParent && !s.localParent ? IS_REMOTE : 0));
    w.end(m);
  }

  /** The payload so far as an ExportTraceServiceRequest, and a fresh one started. */
  seal(): { body: Buffer; traces: number; spans: number } {
    const out = new ProtoWriter(this.bytes + 1024);
    const rs = out.begin(1);
    out.raw(this.resource);
    for (const scope of this.scopes.values()) {
      if (scope.w.pos === 0) continue;
      const ss = out.begin(2);
      out.raw(scope.header);
      out.raw(scope.w.buf.subarray(0, scope.w.pos));
      out.end(ss);
      scope.w.pos = 0;
    }
    out.end(rs);
    const result = { body: out.take(16), traces: this.traces, spans: this.spans };
    this.traces = 0;
    this.spans = 0;
    this.bytes = 0;
    // Scopes seen rarely should not keep their buffers forever.
    if (this.scopes.size > 64) this.scopes.clear();
    return result;
  }
}

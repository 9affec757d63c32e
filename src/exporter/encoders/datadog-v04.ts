/**
 * Datadog Agent `/v0.4/traces` msgpack: an array of traces, each an array of span maps with
 * uint64 ids, int64 ns times, int32 error, string-only `meta`, float64-only `metrics`.
 * Spans are encoded as their trace ends, so finished spans die young and pending memory is
 * bytes, not objects. Keys and the tags common to every span are encoded once at start-up;
 * a span is written in one pass with a local offset after one capacity check.
 */
import type { ResolvedConfig } from '../../config/options';
import { hex32 } from '../../tracer/ids';
import { isNamingAttr, resolveNames, type FinishedSpan, type SpanNames } from '../../tracer/finished-span';
import { encodedString, MsgpackWriter } from './msgpack-writer';
import { strBound, wf64, wi32, wi64, wraw, wstr, wu64, type Utf8Buffer } from './msgpack-fast';
import { attrString, BodyPool, commonTags, DECISION_MAKERS, epochNs, eventsJson, headTags, KIND_NAMES, MAX_PTAGS_SEEN, nextCapacity, NO_PTAGS, STATUS_STRINGS, type EncoderInfo, type PropagatedTags } from './datadog-common';
import { KIND_CLIENT, KIND_SERVER } from '../../tracer/kinds';

export type { EncoderInfo } from './datadog-common';


const key = (s: string): Buffer => encodedString(s);
const K_NAME = key('name');
const K_SERVICE = key('service');
const K_RESOURCE = key('resource');
const K_TYPE = key('type');
const K_TRACE_ID = key('trace_id');
const K_SPAN_ID = key('span_id');
const K_PARENT_ID = key('parent_id');
const K_START = key('start');
const K_DURATION = key('duration');
const K_ERROR = key('error');
const K_META = key('meta');
const K_METRICS = key('metrics');
const K_COMPONENT = key('component');
const K_HTTP_METHOD = key('http.method');
const K_HTTP_ROUTE = key('http.route');
const K_HTTP_URL = key('http.url');
const K_HTTP_STATUS = key('http.status_code');
const K_CLIENT_IP = key('http.client_ip');
const K_USER_AGENT = key('http.useragent');
const K_OUT_HOST = key('out.host');
const K_ERROR_TYPE = key('error.type');
const K_ERROR_MESSAGE = key('error.message');
const K_ERROR_STACK = key('error.stack');
const K_TID = key('_dd.p.tid');
const K_DM = key('_dd.p.dm');
const K_ORIGIN = key('_dd.origin');
const K_EVENTS = key('events');
const K_PORT = key('network.destination.port');
const K_PRIORITY = key('_sampling_priority_v1');
const K_PID = key('process_id');
const K_AGENT_PSR = key('_dd.agent_psr');
const K_RULE_PSR = key('_dd.rule_psr');
const K_LIMIT_PSR = key('_dd.limit_psr');
/** `span.kind` + its value, one block per kind. */
const KIND_PAIRS = KIND_NAMES.map((k) => Buffer.concat([key('span.kind'), key(k)]));
/** `_dd.measured: 1.0`. */
const MEASURED = (() => {
  const w = new MsgpackWriter(32);
  w.str('_dd.measured');
  w.f64(1);
  return Buffer.from(w.take(16));
})();
const TOP_LEVEL = (() => {
  const w = new MsgpackWriter(32);
  w.str('_dd.top_level');
  w.f64(1);
  return Buffer.from(w.take(16));
})();
/** Keys of the numeric fields with empty slots for their values (uint64 x3, int64 x2, int32). */
const NUMERIC_KEYS = Buffer.concat([K_TRACE_ID, Buffer.alloc(9), K_SPAN_ID, Buffer.alloc(9), K_PARENT_ID, Buffer.alloc(9), K_START, Buffer.alloc(9), K_DURATION, Buffer.alloc(9), K_ERROR, Buffer.alloc(5)]);
const MAX_TEMPLATES = 1024;

/** The encoded constant part of one kind of span, cached by resource. */
interface Template {
  opName: string;
  service: string;
  resource: string;
  type: string;
  kind: number;
  component: string;
  method: string;
  route: string;
  /** fixmap header + name, service, resource, type. */
  fields: Buffer;
  /** `meta` key, map16 header (count patched per span), common tags, span.kind, component, method, route. */
  meta: Buffer;
  metaCount: number;
}


function encodePairs(pairs: [string, string][]): Buffer {
  const w = new MsgpackWriter(1024);
  for (const [k, v] of pairs) {
    w.str(k);
    w.str(v);
  }
  return Buffer.from(w.take(16));
}

export class DatadogEncoder {
  private readonly w = new MsgpackWriter(256 * 1024);
  private header = -1;
  traces = 0;
  spans = 0;
  private readonly staticMeta: Buffer;
  private readonly staticCount: number;
  private readonly service: Buffer;
  private readonly headMeta: Buffer;
  private readonly headMetaCount: number;
  private readonly pid: number = process.pid;

  constructor(config: ResolvedConfig, info: EncoderInfo) {
    const common = commonTags(config);
    this.staticMeta = encodePairs(common);
    this.staticCount = common.length;
    this.service = key(config.service);
    const head = headTags(info);
    this.headMeta = encodePairs(head);
    this.headMetaCount = head.length;
    this.reset();
  }

  /** Bytes encoded so far (the payload size if sealed now). */
  get size(): number {
    return this.w.pos;
  }

  private reset(): void {
    this.header = this.w.array32();
    this.traces = 0;
    this.spans = 0;
  }

  /** Appends one trace chunk. On failure nothing of it stays in the payload. */
  append(spans: readonly FinishedSpan[]): boolean {
    const w = this.w;
    const mark = w.pos;
    try {
      const n = spans.length;
      w.array(n);
      for (let i = 0; i < n; i++) {
        const s = spans[i];
        w.ensure(this.bound(s));
        w.pos = this.span(w.buf, w.pos, s, i === 0);
      }
      this.traces++;
      this.spans += n;
      return true;
    } catch {
      w.pos = mark;
      return false;
    }
  }

  /** The payload so far (traces array complete) and a fresh one started. */
  seal(): { body: Buffer; traces: number; spans: number } {
    this.w.patch32(this.header, this.traces);
    this.capacity = nextCapacity(this.capacity, this.w.pos);
    const out = { body: this.w.take(this.capacity, this.pool), traces: this.traces, spans: this.spans };
    this.reset();
    return out;
  }

  private capacity = 64 * 1024;
  private readonly pool = new BodyPool();

  /** A payload of this encoder's that the agent accepted: its buffer serves a later payload. */
  recycle(body: Buffer): void {
    this.pool.give(body);
  }
  private readonly names: SpanNames = { opName: '', resource: '', service: '', type: '' };
  private readonly templates = new Map<string, Template>();
  /** The high 64 bits of trace ids change once a second: their hex is kept. */
  private tidT0 = -1;
  private tidT1 = -1;
  private tidHex = '';
  /** Propagated tags (`k=v,k=v`) seen, as encoded meta pairs: the traces from a service's upstreams carry a few distinct sets. */
  private readonly ptagsSeen = new Map<string, PropagatedTags>();

  private encodePtags(ptags: string): PropagatedTags {
    const w = new MsgpackWriter(16 + 2 * strBound(ptags));
    let count = 0;
    for (const kv of ptags.split(',')) {
      const eq = kv.indexOf('=');
      if (eq <= 0) continue;
      w.str(kv.slice(0, eq));
      w.str(kv.slice(eq + 1));
      count++;
    }
    const pt: PropagatedTags = { bytes: Uint8Array.prototype.slice.call(w.buf, 0, w.pos), count, hasDm: ptags.includes('_dd.p.dm=') };
    if (this.ptagsSeen.size >= MAX_PTAGS_SEEN) this.ptagsSeen.clear();
    this.ptagsSeen.set(ptags, pt);
    return pt;
  }

  private template(opName: string, service: string, resource: string, type: string, s: FinishedSpan): Template {
    const cached = this.templates.get(resource);
    if (
      cached !== undefined &&
      cached.opName === opName &&
      cached.service === service &&
      cached.type === type &&
      cached.kind === s.kind &&
      cached.component === s.component &&
      cached.method === s.httpMethod &&
      cached.route === s.httpRoute
    ) {
      return cached;
    }
    const w = new MsgpackWriter(512);
    w.fixmap(12);
    w.raw(K_NAME);
    w.str(opName);
    w.raw(K_SERVICE);
    if (service) w.str(service);
    else w.raw(this.service);
    w.raw(K_RESOURCE);
    w.str(resource);
    w.raw(K_TYPE);
    w.str(type);
    const fields = Buffer.from(w.take(512));
    w.raw(K_META);
    w.map16();
    w.raw(this.staticMeta);
    w.raw(KIND_PAIRS[s.kind] ?? KIND_PAIRS[0]);
    let metaCount = this.staticCount + 1;
    for (const [k, v] of [
      [K_COMPONENT, s.component],
      [K_HTTP_METHOD, s.httpMethod],
      [K_HTTP_ROUTE, s.httpRoute],
    ] as const) {
      if (v === '') continue;
      w.raw(k);
      w.str(v);
      metaCount++;
    }
    const tpl: Template = {
      opName,
      service,
      resource,
      type,
      kind: s.kind,
      component: s.component,
      method: s.httpMethod,
      route: s.httpRoute,
      fields,
      meta: Buffer.from(w.take(16)),
      metaCount,
    };
    if (this.templates.size >= MAX_TEMPLATES) this.templates.clear();
    this.templates.set(resource, tpl);
    return tpl;
  }

  /** An upper bound of the span's encoded size. */
  private bound(s: FinishedSpan): number {
    let n =
      1024 +
      this.staticMeta.length +
      this.headMeta.length +
      this.service.length +
      strBound(s.name) +
      strBound(s.opName) +
      strBound(s.resource) +
      strBound(s.service) +
      strBound(s.type) +
      strBound(s.component) +
      strBound(s.httpMethod) +
      strBound(s.httpRoute) +
      strBound(s.httpUrl) +
      strBound(s.clientIp) +
      strBound(s.userAgent) +
      strBound(s.peerHost) +
      strBound(s.errorType) +
      strBound(s.errorMessage) +
      strBound(s.errorStack) +
      strBound(s.trace.ptags) +
      strBound(s.trace.origin);
    const attrs = s.attrs;
    if (attrs !== null) {
      for (let i = 0; i < s.attrLen; i += 2) {
        const v = attrs[i + 1];
        n += strBound(attrs[i] as string) + 9;
        if (typeof v === 'string') n += strBound(v);
        else if (typeof v !== 'number') n += strBound(attrString(v));
      }
    }
    if (s.events !== null) n += strBound(eventsJson(s));
    return n;
  }

  private span(buf: Utf8Buffer, p: number, s: FinishedSpan, head: boolean): number {
    const t = s.trace;
    const attrs = s.attrs;
    const names = this.names;
    resolveNames(s, names);

    // Everything fixed for this kind of span (name, service, resource, type, and the meta
    // that does not change per request) is one cached block, copied natively.
    const tpl = this.template(names.opName, names.service, names.resource, names.type, s);
    buf.set(tpl.fields, p);
    p += tpl.fields.length;
    // The numeric fields: keys from a fixed template, values written into their slots.
    buf.set(NUMERIC_KEYS, p);
    p = wu64(buf, p + K_TRACE_ID.length, t.t2, t.t3);
    p = wu64(buf, p + K_SPAN_ID.length, s.spanHi, s.spanLo);
    p = wu64(buf, p + K_PARENT_ID.length, s.parentHi, s.parentLo);
    p = wi64(buf, p + K_START.length, epochNs(s.start));
    p = wi64(buf, p + K_DURATION.length, Math.max(0, Math.round((s.endAt - s.start) * 1e6)));
    p = wi32(buf, p + K_ERROR.length, s.error);
    const metaAt = p + K_META.length;
    buf.set(tpl.meta, p);
    p += tpl.meta.length;
    let m = tpl.metaCount;
    if (s.httpUrl !== '') {
      p = wraw(buf, p, K_HTTP_URL);
      p = wstr(buf, p, s.httpUrl);
      m++;
    }
    if (s.httpStatus !== 0) {
      p = wraw(buf, p, K_HTTP_STATUS);
      p = wstr(buf, p, STATUS_STRINGS[s.httpStatus] ?? String(s.httpStatus));
      m++;
    }
    if (s.clientIp !== '') {
      p = wraw(buf, p, K_CLIENT_IP);
      p = wstr(buf, p, s.clientIp);
      m++;
    }
    if (s.userAgent !== '') {
      p = wraw(buf, p, K_USER_AGENT);
      p = wstr(buf, p, s.userAgent);
      m++;
    }
    if (s.peerHost !== '') {
      p = wraw(buf, p, K_OUT_HOST);
      p = wstr(buf, p, s.peerHost);
      m++;
    }
    if (s.error === 1) {
      if (s.errorType !== '') {
        p = wraw(buf, p, K_ERROR_TYPE);
        p = wstr(buf, p, s.errorType);
        m++;
      }
      if (s.errorMessage !== '') {
        p = wraw(buf, p, K_ERROR_MESSAGE);
        p = wstr(buf, p, s.errorMessage);
        m++;
      }
      if (s.errorStack !== '') {
        p = wraw(buf, p, K_ERROR_STACK);
        p = wstr(buf, p, s.errorStack);
        m++;
      }
    }
    if (head) {
      p = wraw(buf, p, this.headMeta);
      m += this.headMetaCount;
      if (t.t0 !== 0 || t.t1 !== 0) {
        p = wraw(buf, p, K_TID);
        if (t.t0 !== this.tidT0 || t.t1 !== this.tidT1) {
          this.tidT0 = t.t0;
          this.tidT1 = t.t1;
          this.tidHex = hex32(t.t0) + hex32(t.t1);
        }
        p = wstr(buf, p, this.tidHex);
        m++;
      }
      const pt = t.ptags === '' ? NO_PTAGS : (this.ptagsSeen.get(t.ptags) ?? this.encodePtags(t.ptags));
      if (t.mechanism >= 0 && t.priority > 0 && !pt.hasDm) {
        p = wraw(buf, p, K_DM);
        p = wstr(buf, p, DECISION_MAKERS[t.mechanism] ?? '-' + t.mechanism);
        m++;
      }
      if (pt.count > 0) {
        p = wraw(buf, p, pt.bytes);
        m += pt.count;
      }
      if (t.origin !== '') {
        p = wraw(buf, p, K_ORIGIN);
        p = wstr(buf, p, t.origin);
        m++;
      }
    }
    let numbers = 0;
    if (attrs !== null) {
      const named = s.namedAttrs;
      for (let i = 0; i < s.attrLen; i += 2) {
        const k = attrs[i] as string;
        const v = attrs[i + 1];
        if (typeof v === 'number') {
          numbers++;
          continue;
        }
        if (named && isNamingAttr(k)) continue;
        p = wstr(buf, p, k);
        p = wstr(buf, p, typeof v === 'string' ? v : attrString(v));
        m++;
      }
    }
    if (s.events !== null && s.events.length > 0) {
      p = wraw(buf, p, K_EVENTS);
      p = wstr(buf, p, eventsJson(s));
      m++;
    }
    buf[metaAt + 1] = m >>> 8;
    buf[metaAt + 2] = m & 0xff;

    // metrics: string -> float64
    p = wraw(buf, p, K_METRICS);
    const metricsAt = p;
    buf[p] = 0xde;
    p += 3;
    let n = 0;
    if (s.kind === KIND_SERVER || s.kind === KIND_CLIENT) {
      p = wraw(buf, p, MEASURED);
      n++;
    }
    if (s.peerPort !== 0) {
      p = wraw(buf, p, K_PORT);
      p = wf64(buf, p, s.peerPort);
      n++;
    }
    if (head) {
      p = wraw(buf, p, K_PRIORITY);
      p = wf64(buf, p, Number.isNaN(t.priority) ? 1 : t.priority);
      p = wraw(buf, p, K_PID);
      p = wf64(buf, p, this.pid);
      n += 2;
      if (!s.localParent) {
        p = wraw(buf, p, TOP_LEVEL);
        n++;
      }
      if (!Number.isNaN(t.agentRate)) {
        p = wraw(buf, p, K_AGENT_PSR);
        p = wf64(buf, p, t.agentRate);
        n++;
      }
      if (!Number.isNaN(t.ruleRate)) {
        p = wraw(buf, p, K_RULE_PSR);
        p = wf64(buf, p, t.ruleRate);
        n++;
      }
      if (!Number.isNaN(t.limitRate)) {
        p = wraw(buf, p, K_LIMIT_PSR);
        p = wf64(buf, p, t.limitRate);
        n++;
      }
    }
    if (numbers > 0 && attrs !== null) {
      for (let i = 0; i < s.attrLen; i += 2) {
        const v = attrs[i + 1];
        if (typeof v !== 'number' || !Number.isFinite(v)) continue;
        p = wstr(buf, p, attrs[i] as string);
        p = wf64(buf, p, v);
        n++;
      }
    }
    buf[metricsAt + 1] = n >>> 8;
    buf[metricsAt + 2] = n & 0xff;
    return p;
  }
}

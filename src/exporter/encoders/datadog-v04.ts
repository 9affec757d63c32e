/**
 * Datadog Agent `/v0.4/traces` msgpack: an array of traces, each an array of span maps with
 * uint64 ids, int64 ns times, int32 error, string-only `meta`, float64-only `metrics`.
 * Spans are encoded as their trace ends, so finished spans die young and pending memory is
 * bytes, not objects. Strings common to every span are encoded once, at start-up.
 */
import { SpanKind } from '@opentelemetry/api';
import type { ResolvedConfig } from '../../config/options';
import { TIME_ORIGIN_MS } from '../../tracer/clock';
import { hex32 } from '../../tracer/ids';
import type { TwSpan } from '../../tracer/span';
import { encodedString, MsgpackWriter } from './msgpack-writer';

const KIND_NAMES = ['internal', 'server', 'client', 'producer', 'consumer'];
const DD_TYPES = ['', 'web', 'http', 'queue', 'queue'];

/** OTel attribute names that set Datadog span fields rather than tags. */
const SPECIAL_ATTRS = new Set(['service.name', 'resource.name', 'operation.name', 'span.type']);

const K = {
  name: encodedString('name'),
  service: encodedString('service'),
  resource: encodedString('resource'),
  type: encodedString('type'),
  trace_id: encodedString('trace_id'),
  span_id: encodedString('span_id'),
  parent_id: encodedString('parent_id'),
  start: encodedString('start'),
  duration: encodedString('duration'),
  error: encodedString('error'),
  meta: encodedString('meta'),
  metrics: encodedString('metrics'),
};

export interface EncoderInfo {
  runtimeId: string;
  /** Extra meta for chunk heads, e.g. container id. */
  headMeta?: Record<string, string>;
}

/** Static tags written on every span, pre-encoded. */
function staticMeta(config: ResolvedConfig): { bytes: Buffer; count: number } {
  const w = new MsgpackWriter(1024);
  let count = 0;
  const add = (k: string, v: string): void => {
    w.str(k);
    w.str(v);
    count++;
  };
  if (config.env) add('env', config.env);
  if (config.version) add('version', config.version);
  add('language', 'javascript');
  for (const [k, v] of Object.entries(config.tags)) add(k, v);
  return { bytes: Buffer.from(w.take(16)), count };
}

export class DatadogEncoder {
  private readonly w = new MsgpackWriter(256 * 1024);
  private header = -1;
  traces = 0;
  spans = 0;
  private readonly staticMeta: Buffer;
  private readonly staticCount: number;
  private readonly service: Buffer;
  private readonly headMeta: [string, string][];

  constructor(private readonly config: ResolvedConfig, info: EncoderInfo) {
    const s = staticMeta(config);
    this.staticMeta = s.bytes;
    this.staticCount = s.count;
    this.service = encodedString(config.service);
    this.headMeta = [['runtime-id', info.runtimeId], ...Object.entries(info.headMeta ?? {})];
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
  append(spans: TwSpan[]): boolean {
    const w = this.w;
    const mark = w.pos;
    try {
      const n = spans.length;
      if (n < 16) {
        w.ensure(1);
        w.buf[w.pos++] = 0x90 | n;
      } else {
        w.patch16(w.array16(), n);
      }
      for (let i = 0; i < n; i++) this.span(spans[i], i === 0);
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
    const out = { body: this.w.take(256 * 1024), traces: this.traces, spans: this.spans };
    this.reset();
    return out;
  }

  private span(s: TwSpan, head: boolean): void {
    const w = this.w;
    const t = s.trace;
    const attrs = s.attrs;
    let opName = s.opName || s.name;
    let resource = s.resource || s.name;
    let service = s.service;
    let type = s.type;
    if (attrs !== null) {
      const a = attrs['operation.name'];
      if (typeof a === 'string' && a) opName = a;
      const r = attrs['resource.name'];
      if (typeof r === 'string' && r) resource = r;
      const sv = attrs['service.name'];
      if (typeof sv === 'string' && sv) service = sv;
      const ty = attrs['span.type'];
      if (typeof ty === 'string') type = ty;
    }
    if (type === '' && s.component !== '') type = DD_TYPES[s.kind] ?? '';

    w.fixmap(12);
    w.raw(K.name);
    w.str(opName);
    w.raw(K.service);
    if (service) w.str(service);
    else w.raw(this.service);
    w.raw(K.resource);
    w.str(resource);
    w.raw(K.type);
    w.str(type);
    w.raw(K.trace_id);
    w.u64(t.t2, t.t3);
    w.raw(K.span_id);
    w.u64(s.spanHi, s.spanLo);
    w.raw(K.parent_id);
    w.u64(s.parentHi, s.parentLo);
    w.raw(K.start);
    w.i64(Math.round((TIME_ORIGIN_MS + s.start) * 1e6));
    w.raw(K.duration);
    w.i64(Math.max(0, Math.round((s.endAt - s.start) * 1e6)));
    w.raw(K.error);
    w.i32(s.error);

    // meta: string -> string
    w.raw(K.meta);
    const metaAt = w.map16();
    let m = this.staticCount;
    w.raw(this.staticMeta);
    w.str('span.kind');
    w.str(KIND_NAMES[s.kind] ?? 'internal');
    m++;
    if (s.component) {
      w.str('component');
      w.str(s.component);
      m++;
    }
    if (s.httpMethod) {
      w.str('http.method');
      w.str(s.httpMethod);
      m++;
    }
    if (s.httpRoute) {
      w.str('http.route');
      w.str(s.httpRoute);
      m++;
    }
    if (s.httpUrl) {
      w.str('http.url');
      w.str(s.httpUrl);
      m++;
    }
    if (s.httpStatus !== 0) {
      w.str('http.status_code');
      w.str(String(s.httpStatus));
      m++;
    }
    if (s.clientIp) {
      w.str('http.client_ip');
      w.str(s.clientIp);
      m++;
    }
    if (s.userAgent) {
      w.str('http.useragent');
      w.str(s.userAgent);
      m++;
    }
    if (s.peerHost) {
      w.str('out.host');
      w.str(s.peerHost);
      m++;
    }
    if (s.error === 1) {
      if (s.errorType) {
        w.str('error.type');
        w.str(s.errorType);
        m++;
      }
      if (s.errorMessage) {
        w.str('error.message');
        w.str(s.errorMessage);
        m++;
      }
      if (s.errorStack) {
        w.str('error.stack');
        w.str(s.errorStack);
        m++;
      }
    }
    if (head) {
      for (const [k, v] of this.headMeta) {
        w.str(k);
        w.str(v);
        m++;
      }
      if (t.t0 !== 0 || t.t1 !== 0) {
        w.str('_dd.p.tid');
        w.str(hex32(t.t0) + hex32(t.t1));
        m++;
      }
      if (t.mechanism >= 0 && t.priority > 0 && !t.ptags.includes('_dd.p.dm=')) {
        w.str('_dd.p.dm');
        w.str('-' + t.mechanism);
        m++;
      }
      if (t.ptags) {
        for (const pair of t.ptags.split(',')) {
          const eq = pair.indexOf('=');
          if (eq <= 0) continue;
          w.str(pair.slice(0, eq));
          w.str(pair.slice(eq + 1));
          m++;
        }
      }
      if (t.origin) {
        w.str('_dd.origin');
        w.str(t.origin);
        m++;
      }
    }
    let numbers = 0;
    if (attrs !== null) {
      for (const key in attrs) {
        const v = attrs[key];
        if (typeof v === 'number') {
          numbers++;
          continue;
        }
        if (v === undefined || v === null || SPECIAL_ATTRS.has(key)) continue;
        w.str(key);
        w.str(typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? 'true' : 'false') : JSON.stringify(v));
        m++;
      }
    }
    if (s.events !== null && s.events.length > 0) {
      w.str('events');
      w.str(
        JSON.stringify(
          s.events.map((e) => ({ name: e.name, time_unix_nano: Math.round((TIME_ORIGIN_MS + e.time) * 1e6), attributes: e.attributes ?? {} })),
        ),
      );
      m++;
    }
    w.patch16(metaAt, m);

    // metrics: string -> float64
    w.raw(K.metrics);
    const metricsAt = w.map16();
    let n = 0;
    if (s.kind === SpanKind.SERVER || s.kind === SpanKind.CLIENT) {
      w.str('_dd.measured');
      w.f64(1);
      n++;
    }
    if (s.peerPort !== 0) {
      w.str('network.destination.port');
      w.f64(s.peerPort);
      n++;
    }
    if (head) {
      w.str('_sampling_priority_v1');
      w.f64(Number.isNaN(t.priority) ? 1 : t.priority);
      w.str('process_id');
      w.f64(process.pid);
      n += 2;
      if (!s.localParent) {
        w.str('_dd.top_level');
        w.f64(1);
        n++;
      }
      if (!Number.isNaN(t.agentRate)) {
        w.str('_dd.agent_psr');
        w.f64(t.agentRate);
        n++;
      }
      if (!Number.isNaN(t.ruleRate)) {
        w.str('_dd.rule_psr');
        w.f64(t.ruleRate);
        n++;
      }
      if (!Number.isNaN(t.limitRate)) {
        w.str('_dd.limit_psr');
        w.f64(t.limitRate);
        n++;
      }
    }
    if (numbers > 0 && attrs !== null) {
      for (const key in attrs) {
        const v = attrs[key];
        if (typeof v !== 'number' || !Number.isFinite(v)) continue;
        w.str(key);
        w.f64(v);
        n++;
      }
    }
    w.patch16(metricsAt, n);
  }
}

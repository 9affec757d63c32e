/**
 * Datadog Agent `/v0.5/traces` msgpack: `[strings, traces]`, where every string of every span
 * (names, tag keys and values) is an index into the payload's string table and a span is a
 * 12-element array: service, name, resource (indices), trace_id, span_id, parent_id (uint64),
 * start, duration (int64), error (int32), meta (index -> index), metrics (index -> float64),
 * type (index). A span takes about a third of its `/v0.4` bytes, so a payload holds three
 * times the spans and the agent is sent a third of the requests.
 *
 * The table is built while spans are encoded (one Map lookup per string; the strings of one
 * kind of span are looked up once per payload through its cached template) and written in
 * front of the spans when the payload is sealed. Used when the agent lists `/v0.5/traces`.
 */
import type { ResolvedConfig } from '../../config/options';
import { hex32 } from '../../tracer/ids';
import { isNamingAttr, resolveNames, type FinishedSpan, type SpanNames } from '../../tracer/finished-span';
import { MsgpackWriter } from './msgpack-writer';
import { wf64, wi64, wraw, wu64, wuint, type Utf8Buffer } from './msgpack-fast';
import { attrString, BodyPool, commonTags, DECISION_MAKERS, epochNs, eventsJson, headTags, KIND_NAMES, MAX_PTAGS_SEEN, nextCapacity, NO_PTAGS, STATUS_STRINGS, type EncoderInfo, type PropagatedTags } from './datadog-common';
import { KIND_CLIENT, KIND_SERVER } from '../../tracer/kinds';

const MAX_TEMPLATES = 1024;
/** Attribute positions per template whose last key and value indices are remembered. */
const ATTR_SLOTS = 8;

/** Keys the encoder writes itself, looked up in the table once per payload (`key()`). */
const KEYS = [
  'http.url',
  'http.status_code',
  'http.client_ip',
  'http.useragent',
  'out.host',
  'error.type',
  'error.message',
  'error.stack',
  '_dd.p.tid',
  '_dd.p.dm',
  '_dd.origin',
  'events',
  '_dd.measured',
  'network.destination.port',
  '_sampling_priority_v1',
  'process_id',
  '_dd.top_level',
  '_dd.agent_psr',
  '_dd.rule_psr',
  '_dd.limit_psr',
] as const;
const K_URL = 0;
const K_STATUS = 1;
const K_CLIENT_IP = 2;
const K_USER_AGENT = 3;
const K_OUT_HOST = 4;
const K_ERROR_TYPE = 5;
const K_ERROR_MESSAGE = 6;
const K_ERROR_STACK = 7;
const K_TID = 8;
const K_DM = 9;
const K_ORIGIN = 10;
const K_EVENTS = 11;
const K_MEASURED = 12;
const K_PORT = 13;
const K_PRIORITY = 14;
const K_PID = 15;
const K_TOP_LEVEL = 16;
const K_AGENT_PSR = 17;
const K_RULE_PSR = 18;
const K_LIMIT_PSR = 19;
/** The table stops taking new strings past this many (a payload is sealed first). */
const MAX_TABLE_STRINGS = 1 << 20;

/** The constant part of one kind of span, as table indices valid for one payload (`gen`). */
interface Template {
  opName: string;
  service: string;
  resource: string;
  type: string;
  kind: number;
  component: string;
  method: string;
  route: string;
  gen: number;
  /** fixarray(12) + service, name, resource indices. */
  head: Uint8Array;
  /** Common tags, span.kind, component, method, route: key/value index pairs. */
  meta: Uint8Array;
  metaCount: number;
  /** The type index (the last field). */
  type5: Uint8Array;
  /**
   * Per attribute position (this payload): the key last seen there and its index, the
   * string value last seen there and its index. Spans of one kind set the same attributes
   * in the same order, and many values repeat, so most attributes need no table lookup.
   * Empty slots hold '' and 0, which is right: index 0 is always ''.
   */
  akeys: string[];
  aidx: number[];
  avals: string[];
  avidx: number[];
}

export class DatadogV05Encoder {
  /** The traces array (its array32 header patched at seal). */
  private readonly w = new MsgpackWriter(128 * 1024);
  /** The string table's strings, msgpack-encoded back to back. */
  private readonly table = new MsgpackWriter(16 * 1024);
  private readonly index = new Map<string, number>();
  private gen = 0;
  private header = -1;
  traces = 0;
  spans = 0;
  private readonly common: [string, string][];
  private readonly head: [string, string][];
  private readonly service: string;
  private readonly pid: number = process.pid;
  private readonly names: SpanNames = { opName: '', resource: '', service: '', type: '' };
  private readonly templates = new Map<string, Template>();
  private readonly scratch: MsgpackWriter;
  private capacity = 64 * 1024;
  private readonly pool = new BodyPool();
  private tidT0 = -1;
  private tidT1 = -1;
  private tidHex = '';
  /** Table indices of KEYS in this payload, -1 until used. */
  private readonly keyIdx = new Int32Array(KEYS.length).fill(-1);
  /** The head tags as index pairs for this payload (`headGen`). */
  private headBytes: Uint8Array = new Uint8Array(0);
  private headGen = -1;
  /** The last `http.url`, `http.client_ip` and `http.useragent` values and their indices in this payload's table ('': none). */
  private lastUrl = '';
  private lastUrlIdx = 0;
  private lastIp = '';
  private lastIpIdx = 0;
  private lastUa = '';
  private lastUaIdx = 0;
  /** The same for `out.host`, the trace id's high half and the decision maker. */
  private lastHost = '';
  private lastHostIdx = 0;
  private tidIdx = -1;
  /**
   * Propagated tags (`_dd.p.*`, as `k=v,k=v`) seen in this payload, as meta index pairs: the
   * traces a service continues from its upstreams carry a few distinct sets, which were split,
   * sliced and looked up per trace.
   */
  private readonly ptagsSeen = new Map<string, PropagatedTags>();
  private lastMechanism = NaN;
  private lastMechanismIdx = 0;
  /** `_dd.measured: 1`, `process_id: <pid>` and `_dd.top_level: 1` as index + float64 for this payload (`metricsGen`). */
  private measuredBytes: Uint8Array = EMPTY;
  private pidBytes: Uint8Array = EMPTY;
  private topLevelBytes: Uint8Array = EMPTY;
  private metricsGen = -1;

  constructor(config: ResolvedConfig, info: EncoderInfo) {
    this.common = commonTags(config);
    this.head = headTags(info);
    this.service = config.service;
    this.scratch = new MsgpackWriter(128 + 10 * this.common.length);
    this.reset();
  }

  /** Bytes of the payload if sealed now. */
  get size(): number {
    return this.w.pos + this.table.pos + 6;
  }

  private reset(): void {
    this.header = this.w.array32();
    this.traces = 0;
    this.spans = 0;
    this.index.clear();
    this.table.pos = 0;
    this.gen++;
    this.keyIdx.fill(-1);
    this.forgetLast();
    this.s('');
  }

  /** The remembered values' indices belong to one table: forgotten when it starts again or loses strings. */
  private forgetLast(): void {
    this.lastUrl = this.lastIp = this.lastUa = this.lastHost = '';
    this.tidIdx = -1;
    this.ptagsSeen.clear();
    this.lastMechanism = NaN;
  }

  /** The constant metrics' bytes in this payload's table. */
  private metricBlocks(): void {
    const w = this.scratch;
    const buf = w.buf;
    this.measuredBytes = Uint8Array.prototype.slice.call(buf, 0, this.kmetric(buf, 0, K_MEASURED, 1));
    this.pidBytes = Uint8Array.prototype.slice.call(buf, 0, this.kmetric(buf, 0, K_PID, this.pid));
    this.topLevelBytes = Uint8Array.prototype.slice.call(buf, 0, this.kmetric(buf, 0, K_TOP_LEVEL, 1));
    this.metricsGen = this.gen;
  }

  /** The table index of KEYS[k]. */
  private key(k: number): number {
    let i = this.keyIdx[k];
    if (i < 0) {
      i = this.s(KEYS[k]);
      this.keyIdx[k] = i;
    }
    return i;
  }

  /** The table index of `str`, added when new. */
  private s(str: string): number {
    let i = this.index.get(str);
    if (i === undefined) {
      i = this.index.size;
      if (i >= MAX_TABLE_STRINGS) throw new RangeError('string table full');
      this.index.set(str, i);
      this.table.str(str);
    }
    return i;
  }

  /** Writes the index of `str` at `p`. */
  private ws(buf: Utf8Buffer, p: number, str: string): number {
    return wuint(buf, p, this.s(str));
  }

  /** Appends one trace chunk. On failure nothing of it stays in the payload. */
  append(spans: readonly FinishedSpan[]): boolean {
    const w = this.w;
    const mark = w.pos;
    const tableMark = this.table.pos;
    const strings = this.index.size;
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
      // Strings added for the failed chunk go too, or indices would point past the table.
      if (this.index.size !== strings) {
        for (const [k, v] of this.index) if (v >= strings) this.index.delete(k);
        this.gen++;
        this.keyIdx.fill(-1);
        this.forgetLast();
      }
      this.table.pos = tableMark;
      return false;
    }
  }

  /** The payload so far and a fresh one started. */
  seal(): { body: Buffer; traces: number; spans: number } {
    this.w.patch32(this.header, this.traces);
    const strings = this.index.size;
    const tableBytes = this.table.pos;
    const tracesBytes = this.w.pos;
    const size = 6 + tableBytes + tracesBytes;
    const body = this.pool.take(size).subarray(0, size);
    body[0] = 0x92;
    body[1] = 0xdd;
    body.writeUInt32BE(strings, 2);
    this.table.buf.copy(body, 6, 0, tableBytes);
    this.w.buf.copy(body, 6 + tableBytes, 0, tracesBytes);
    this.capacity = nextCapacity(this.capacity, tracesBytes);
    // The spans buffer is reused: the body is a copy (the table must come first).
    if (this.w.buf.length > 2 * this.capacity) this.w.take(this.capacity);
    else this.w.pos = 0;
    const out = { body, traces: this.traces, spans: this.spans };
    this.reset();
    return out;
  }

  /** A payload of this encoder's that the agent accepted: its buffer serves a later payload. */
  recycle(body: Buffer): void {
    this.pool.give(body);
  }

  /** An upper bound of the span's bytes in the traces array (strings go to the table). */
  private bound(s: FinishedSpan): number {
    return 512 + 10 * (this.common.length + this.head.length) + 4 * s.trace.ptags.length + 7 * s.attrLen;
  }

  private template(opName: string, service: string, resource: string, type: string, s: FinishedSpan): Template {
    let tpl = this.templates.get(resource);
    if (
      tpl === undefined ||
      tpl.opName !== opName ||
      tpl.service !== service ||
      tpl.type !== type ||
      tpl.kind !== s.kind ||
      tpl.component !== s.component ||
      tpl.method !== s.httpMethod ||
      tpl.route !== s.httpRoute
    ) {
      tpl = {
        opName,
        service,
        resource,
        type,
        kind: s.kind,
        component: s.component,
        method: s.httpMethod,
        route: s.httpRoute,
        gen: -1,
        head: EMPTY,
        meta: EMPTY,
        metaCount: 0,
        type5: EMPTY,
        akeys: new Array<string>(ATTR_SLOTS).fill(''),
        aidx: new Array<number>(ATTR_SLOTS).fill(0),
        avals: new Array<string>(ATTR_SLOTS).fill(''),
        avidx: new Array<number>(ATTR_SLOTS).fill(0),
      };
      if (this.templates.size >= MAX_TEMPLATES) this.templates.clear();
      this.templates.set(resource, tpl);
    }
    if (tpl.gen !== this.gen) this.index5(tpl);
    return tpl;
  }

  /** The template's indices in this payload's table. */
  private index5(tpl: Template): void {
    const w = this.scratch;
    const buf = w.buf;
    let p = 0;
    buf[p++] = 0x9c;
    p = this.ws(buf, p, tpl.service || this.service);
    p = this.ws(buf, p, tpl.opName);
    p = this.ws(buf, p, tpl.resource);
    tpl.head = Uint8Array.prototype.slice.call(buf, 0, p);
    p = 0;
    let count = 0;
    for (const [k, v] of this.common) {
      p = this.ws(buf, p, k);
      p = this.ws(buf, p, v);
      count++;
    }
    p = this.ws(buf, p, 'span.kind');
    p = this.ws(buf, p, KIND_NAMES[tpl.kind] ?? KIND_NAMES[0]);
    count++;
    for (const [k, v] of [
      ['component', tpl.component],
      ['http.method', tpl.method],
      ['http.route', tpl.route],
    ] as const) {
      if (v === '') continue;
      p = this.ws(buf, p, k);
      p = this.ws(buf, p, v);
      count++;
    }
    tpl.meta = Uint8Array.prototype.slice.call(buf, 0, p);
    tpl.metaCount = count;
    tpl.type5 = Uint8Array.prototype.slice.call(buf, 0, this.ws(buf, 0, tpl.type));
    // Remembered attribute indices belong to the previous payload's table.
    tpl.akeys.fill('');
    tpl.aidx.fill(0);
    tpl.avals.fill('');
    tpl.avidx.fill(0);
    tpl.gen = this.gen;
  }

  /** A meta pair of two strings. */
  private pair(buf: Utf8Buffer, p: number, k: string, v: string): number {
    return this.ws(buf, this.ws(buf, p, k), v);
  }

  /** A meta pair: one of KEYS and a string. */
  private kpair(buf: Utf8Buffer, p: number, k: number, v: string): number {
    return this.ws(buf, wuint(buf, p, this.key(k)), v);
  }

  /** A metric: one of KEYS and a number. */
  private kmetric(buf: Utf8Buffer, p: number, k: number, v: number): number {
    return wf64(buf, wuint(buf, p, this.key(k)), v);
  }

  /** The head tags' index pairs in this payload. */
  private headBlock(): Uint8Array {
    if (this.headGen !== this.gen) {
      const w = new MsgpackWriter(64 + 16 * this.head.length);
      let p = 0;
      for (const [k, v] of this.head) {
        w.ensure(10);
        p = this.pair(w.buf, p, k, v);
        w.pos = p;
      }
      this.headBytes = Uint8Array.prototype.slice.call(w.buf, 0, p);
      this.headGen = this.gen;
    }
    return this.headBytes;
  }

  /** A trace's propagated tags as meta index pairs in this payload, remembered. */
  private indexPtags(ptags: string): PropagatedTags {
    const kvs = ptags.split(',');
    const w = new MsgpackWriter(16 + 10 * kvs.length);
    let p = 0;
    let count = 0;
    for (const kv of kvs) {
      const eq = kv.indexOf('=');
      if (eq <= 0) continue;
      p = this.pair(w.buf, p, kv.slice(0, eq), kv.slice(eq + 1));
      count++;
    }
    const pt: PropagatedTags = { bytes: Uint8Array.prototype.slice.call(w.buf, 0, p), count, hasDm: ptags.includes('_dd.p.dm=') };
    if (this.ptagsSeen.size >= MAX_PTAGS_SEEN) this.ptagsSeen.clear();
    this.ptagsSeen.set(ptags, pt);
    return pt;
  }

  private span(buf: Utf8Buffer, p: number, s: FinishedSpan, head: boolean): number {
    const t = s.trace;
    const attrs = s.attrs;
    const names = this.names;
    resolveNames(s, names);
    const tpl = this.template(names.opName, names.service, names.resource, names.type, s);
    p = wraw(buf, p, tpl.head);
    p = wu64(buf, p, t.t2, t.t3);
    p = wu64(buf, p, s.spanHi, s.spanLo);
    p = wu64(buf, p, s.parentHi, s.parentLo);
    p = wi64(buf, p, epochNs(s.start));
    p = wi64(buf, p, Math.max(0, Math.round((s.endAt - s.start) * 1e6)));
    buf[p++] = s.error === 1 ? 1 : 0;

    // meta: index -> index, the count patched at the end
    const metaAt = p;
    buf[p] = 0xde;
    p += 3;
    p = wraw(buf, p, tpl.meta);
    let m = tpl.metaCount;
    if (s.httpUrl !== '') {
      // The last URL, client address and user agent and their indices: requests in a row
      // often share them, and a string made per request (a URL joined from its parts, a
      // header value) must be flattened and hashed to be looked up. Comparing stops at the
      // first different character; the table is looked up only when they differ.
      if (s.httpUrl !== this.lastUrl) {
        this.lastUrl = s.httpUrl;
        this.lastUrlIdx = this.s(s.httpUrl);
      }
      p = wuint(buf, wuint(buf, p, this.key(K_URL)), this.lastUrlIdx);
      m++;
    }
    if (s.httpStatus !== 0) (p = this.kpair(buf, p, K_STATUS, STATUS_STRINGS[s.httpStatus] ?? String(s.httpStatus))), m++;
    if (s.clientIp !== '') {
      if (s.clientIp !== this.lastIp) {
        this.lastIp = s.clientIp;
        this.lastIpIdx = this.s(s.clientIp);
      }
      p = wuint(buf, wuint(buf, p, this.key(K_CLIENT_IP)), this.lastIpIdx);
      m++;
    }
    if (s.userAgent !== '') {
      if (s.userAgent !== this.lastUa) {
        this.lastUa = s.userAgent;
        this.lastUaIdx = this.s(s.userAgent);
      }
      p = wuint(buf, wuint(buf, p, this.key(K_USER_AGENT)), this.lastUaIdx);
      m++;
    }
    if (s.peerHost !== '') {
      if (s.peerHost !== this.lastHost) {
        this.lastHost = s.peerHost;
        this.lastHostIdx = this.s(s.peerHost);
      }
      p = wuint(buf, wuint(buf, p, this.key(K_OUT_HOST)), this.lastHostIdx);
      m++;
    }
    if (s.error === 1) {
      if (s.errorType !== '') (p = this.kpair(buf, p, K_ERROR_TYPE, s.errorType)), m++;
      if (s.errorMessage !== '') (p = this.kpair(buf, p, K_ERROR_MESSAGE, s.errorMessage)), m++;
      if (s.errorStack !== '') (p = this.kpair(buf, p, K_ERROR_STACK, s.errorStack)), m++;
    }
    if (head) {
      p = wraw(buf, p, this.headBlock());
      m += this.head.length;
      if (t.t0 !== 0 || t.t1 !== 0) {
        if (t.t0 !== this.tidT0 || t.t1 !== this.tidT1) {
          this.tidT0 = t.t0;
          this.tidT1 = t.t1;
          this.tidHex = hex32(t.t0) + hex32(t.t1);
          this.tidIdx = -1;
        }
        if (this.tidIdx < 0) this.tidIdx = this.s(this.tidHex);
        p = wuint(buf, wuint(buf, p, this.key(K_TID)), this.tidIdx);
        m++;
      }
      const pt = t.ptags === '' ? NO_PTAGS : (this.ptagsSeen.get(t.ptags) ?? this.indexPtags(t.ptags));
      if (t.mechanism >= 0 && t.priority > 0 && !pt.hasDm) {
        if (t.mechanism !== this.lastMechanism) {
          this.lastMechanism = t.mechanism;
          this.lastMechanismIdx = this.s(DECISION_MAKERS[t.mechanism] ?? '-' + t.mechanism);
        }
        p = wuint(buf, wuint(buf, p, this.key(K_DM)), this.lastMechanismIdx);
        m++;
      }
      if (pt.count > 0) {
        p = wraw(buf, p, pt.bytes);
        m += pt.count;
      }
      if (t.origin !== '') (p = this.kpair(buf, p, K_ORIGIN, t.origin)), m++;
    }
    let numbers = 0;
    if (attrs !== null) {
      const named = s.namedAttrs;
      const akeys = tpl.akeys;
      const aidx = tpl.aidx;
      const avals = tpl.avals;
      const avidx = tpl.avidx;
      for (let i = 0, j = 0; i < s.attrLen; i += 2, j++) {
        const k = attrs[i] as string;
        const v = attrs[i + 1];
        if (typeof v === 'number') {
          numbers++;
          continue;
        }
        if (named && isNamingAttr(k)) continue;
        const str = typeof v === 'string' ? v : attrString(v);
        if (j < ATTR_SLOTS) {
          if (akeys[j] !== k) {
            aidx[j] = this.s(k);
            akeys[j] = k;
          }
          if (avals[j] !== str) {
            avidx[j] = this.s(str);
            avals[j] = str;
          }
          p = wuint(buf, wuint(buf, p, aidx[j]), avidx[j]);
        } else {
          p = this.pair(buf, p, k, str);
        }
        m++;
      }
    }
    if (s.events !== null && s.events.length > 0) (p = this.kpair(buf, p, K_EVENTS, eventsJson(s))), m++;
    buf[metaAt + 1] = m >>> 8;
    buf[metaAt + 2] = m & 0xff;

    // metrics: index -> float64
    const metricsAt = p;
    buf[p] = 0xde;
    p += 3;
    let n = 0;
    if (this.metricsGen !== this.gen) this.metricBlocks();
    if (s.kind === KIND_SERVER || s.kind === KIND_CLIENT) (p = wraw(buf, p, this.measuredBytes)), n++;
    if (s.peerPort !== 0) (p = this.kmetric(buf, p, K_PORT, s.peerPort)), n++;
    if (head) {
      p = this.kmetric(buf, p, K_PRIORITY, Number.isNaN(t.priority) ? 1 : t.priority);
      p = wraw(buf, p, this.pidBytes);
      n += 2;
      if (!s.localParent) (p = wraw(buf, p, this.topLevelBytes)), n++;
      if (!Number.isNaN(t.agentRate)) (p = this.kmetric(buf, p, K_AGENT_PSR, t.agentRate)), n++;
      if (!Number.isNaN(t.ruleRate)) (p = this.kmetric(buf, p, K_RULE_PSR, t.ruleRate)), n++;
      if (!Number.isNaN(t.limitRate)) (p = this.kmetric(buf, p, K_LIMIT_PSR, t.limitRate)), n++;
    }
    if (numbers > 0 && attrs !== null) {
      const akeys = tpl.akeys;
      const aidx = tpl.aidx;
      for (let i = 0, j = 0; i < s.attrLen; i += 2, j++) {
        const v = attrs[i + 1];
        if (typeof v !== 'number' || !Number.isFinite(v)) continue;
        const k = attrs[i] as string;
        if (j < ATTR_SLOTS) {
          if (akeys[j] !== k) {
            aidx[j] = this.s(k);
            akeys[j] = k;
          }
          p = wf64(buf, wuint(buf, p, aidx[j]), v);
        } else {
          p = wf64(buf, this.ws(buf, p, k), v);
        }
        n++;
      }
    }
    buf[metricsAt + 1] = n >>> 8;
    buf[metricsAt + 2] = n & 0xff;

    return wraw(buf, p, tpl.type5);
  }
}

const EMPTY = new Uint8Array(0);

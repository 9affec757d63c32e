/**
 * Splitting a payload in two (the agent answered 413): a Datadog body between traces, an OTLP
 * body between spans, each half a valid payload of its own. A payload that holds a single
 * trace (Datadog) or span (OTLP) cannot be split: null.
 */
import { isV05 } from './datadog-common';
import { MsgpackWriter } from './msgpack-writer';
import { wuint } from './msgpack-fast';
import { lenField, ProtoWriter, readFields, WIRE_LEN } from './protobuf';

export interface Part {
  body: Buffer;
  traces: number;
  spans: number;
}

// ---------------------------------------------------------------- msgpack

/** Position after the msgpack value at `p`. Throws on malformed input. */
function skip(b: Buffer, p: number): number {
  const t = b[p];
  if (t === undefined) throw new RangeError('truncated msgpack');
  if (t <= 0x7f || t >= 0xe0) return p + 1;
  if (t >= 0x80 && t <= 0x8f) return skipN(b, p + 1, (t & 0x0f) * 2);
  if (t >= 0x90 && t <= 0x9f) return skipN(b, p + 1, t & 0x0f);
  if (t >= 0xa0 && t <= 0xbf) return p + 1 + (t & 0x1f);
  switch (t) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return p + 1;
    case 0xc4:
    case 0xd9:
      return p + 2 + b[p + 1];
    case 0xc5:
    case 0xda:
      return p + 3 + b.readUInt16BE(p + 1);
    case 0xc6:
    case 0xdb:
      return p + 5 + b.readUInt32BE(p + 1);
    case 0xc7:
      return p + 3 + b[p + 1];
    case 0xc8:
      return p + 4 + b.readUInt16BE(p + 1);
    case 0xc9:
      return p + 6 + b.readUInt32BE(p + 1);
    case 0xca:
    case 0xce:
    case 0xd2:
      return p + 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return p + 9;
    case 0xcc:
    case 0xd0:
      return p + 2;
    case 0xcd:
    case 0xd1:
      return p + 3;
    case 0xd4:
      return p + 3;
    case 0xd5:
      return p + 4;
    case 0xd6:
      return p + 6;
    case 0xd7:
      return p + 10;
    case 0xd8:
      return p + 18;
    case 0xdc:
      return skipN(b, p + 3, b.readUInt16BE(p + 1));
    case 0xdd:
      return skipN(b, p + 5, b.readUInt32BE(p + 1));
    case 0xde:
      return skipN(b, p + 3, b.readUInt16BE(p + 1) * 2);
    case 0xdf:
      return skipN(b, p + 5, b.readUInt32BE(p + 1) * 2);
    default:
      throw new RangeError(`unknown msgpack type 0x${t.toString(16)}`);
  }
}

function skipN(b: Buffer, p: number, n: number): number {
  for (let i = 0; i < n; i++) p = skip(b, p);
  return p;
}

/** [count, position after the array header] of the msgpack array at `p`. */
function arrayHeader(b: Buffer, p: number): [number, number] {
  const t = b[p];
  if (t >= 0x90 && t <= 0x9f) return [t & 0x0f, p + 1];
  if (t === 0xdc) return [b.readUInt16BE(p + 1), p + 3];
  if (t === 0xdd) return [b.readUInt32BE(p + 1), p + 5];
  throw new RangeError('not a msgpack array');
}

function array32(n: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h[0] = 0xdd;
  h.writeUInt32BE(n, 1);
  return h;
}

/** The traces of a `/v0.4/traces` body: [start, end, spans] each. */
function datadogTraces(body: Buffer): [number, number, number][] {
  const [n, first] = arrayHeader(body, 0);
  const out: [number, number, number][] = [];
  let p = first;
  for (let i = 0; i < n; i++) {
    const [spans] = arrayHeader(body, p);
    const end = skip(body, p);
    out.push([p, end, spans]);
    p = end;
  }
  if (p > body.length) throw new RangeError('truncated msgpack');
  return out;
}

export function splitDatadog(body: Buffer): [Part, Part] | null {
  if (isV05(body)) return splitV05(body);
  let traces: [number, number, number][];
  try {
    traces = datadogTraces(body);
  } catch {
    return null;
  }
  if (traces.length < 2) return null;
  const half = traces.length >> 1;
  const part = (list: [number, number, number][]): Part => ({
    body: Buffer.concat([array32(list.length), body.subarray(list[0][0], list[list.length - 1][1])]),
    traces: list.length,
    spans: list.reduce((a, t) => a + t[2], 0),
  });
  return [part(traces.slice(0, half)), part(traces.slice(half))];
}

/** [value, position after] of the msgpack unsigned integer at `p`. */
function readUint(b: Buffer, p: number): [number, number] {
  const t = b[p];
  if (t <= 0x7f) return [t, p + 1];
  if (t === 0xcc) return [b[p + 1], p + 2];
  if (t === 0xcd) return [b.readUInt16BE(p + 1), p + 3];
  if (t === 0xce) return [b.readUInt32BE(p + 1), p + 5];
  throw new RangeError('not a string index');
}

/** [count, position after the map header] of the msgpack map at `p`. */
function mapHeader(b: Buffer, p: number): [number, number] {
  const t = b[p];
  if (t >= 0x80 && t <= 0x8f) return [t & 0x0f, p + 1];
  if (t === 0xde) return [b.readUInt16BE(p + 1), p + 3];
  if (t === 0xdf) return [b.readUInt32BE(p + 1), p + 5];
  throw new RangeError('not a msgpack map');
}

/**
 * A `/v0.5/traces` body in two: each half gets a string table of its own with only the
 * strings its spans use (so a half is really about half the size, table included), and its
 * spans' indices renumbered into it.
 */
function splitV05(body: Buffer): [Part, Part] | null {
  try {
    const [nStrings, tableAt] = arrayHeader(body, 1);
    const strings: Buffer[] = [];
    let p = tableAt;
    for (let i = 0; i < nStrings; i++) {
      const end = skip(body, p);
      strings.push(body.subarray(p, end));
      p = end;
    }
    const [nTraces, tracesAt] = arrayHeader(body, p);
    const traces: [number, number][] = [];
    p = tracesAt;
    for (let i = 0; i < nTraces; i++) {
      const end = skip(body, p);
      traces.push([p, end]);
      p = end;
    }
    if (p > body.length || traces.length < 2) return null;
    const half = traces.length >> 1;
    return [rebuildV05(body, strings, traces.slice(0, half)), rebuildV05(body, strings, traces.slice(half))];
  } catch {
    return null;
  }
}

function rebuildV05(body: Buffer, strings: Buffer[], traces: [number, number][]): Part {
  const w = new MsgpackWriter(64 * 1024);
  // Old index of each new one; "" first (-1: the old table had none).
  const used: number[] = [strings.findIndex((s) => s.length === 1 && s[0] === 0xa0)];
  const remap = new Map<number, number>([[used[0], 0]]);
  const index = (p: number): number => {
    const [old, next] = readUint(body, p);
    if (old >= strings.length) throw new RangeError('string index outside the table');
    let idx = remap.get(old);
    if (idx === undefined) {
      idx = used.length;
      used.push(old);
      remap.set(old, idx);
    }
    w.ensure(5);
    w.pos = wuint(w.buf, w.pos, idx);
    return next;
  };
  const copy = (from: number, to: number): void => w.raw(body.subarray(from, to));
  w.patch32(w.array32(), traces.length);
  let spans = 0;
  for (const [start] of traces) {
    const [n, first] = arrayHeader(body, start);
    w.patch32(w.array32(), n);
    spans += n;
    let p = first;
    for (let i = 0; i < n; i++) {
      const [fields, at] = arrayHeader(body, p);
      if (fields !== 12) throw new RangeError('a v0.5 span has 12 fields');
      w.ensure(1);
      w.buf[w.pos++] = 0x9c;
      p = index(index(index(at)));
      // trace_id, span_id, parent_id, start, duration, error: copied as they are
      let q = p;
      for (let f = 0; f < 6; f++) q = skip(body, q);
      copy(p, q);
      const [metaCount, metaAt] = mapHeader(body, q);
      w.patch32(w.map32(), metaCount);
      p = metaAt;
      for (let k = 0; k < metaCount; k++) p = index(index(p));
      const [metricsCount, metricsAt] = mapHeader(body, p);
      w.patch32(w.map32(), metricsCount);
      p = metricsAt;
      for (let k = 0; k < metricsCount; k++) {
        p = index(p);
        const end = skip(body, p);
        copy(p, end);
        p = end;
      }
      p = index(p);
    }
  }
  const spansBytes = w.take(16);
  const table = new MsgpackWriter(64 * 1024);
  table.ensure(1);
  table.buf[table.pos++] = 0x92;
  table.patch32(table.array32(), used.length);
  for (const old of used) table.raw(old < 0 ? EMPTY_STRING : strings[old]);
  return { body: Buffer.concat([table.take(16), spansBytes]), traces: traces.length, spans };
}

const EMPTY_STRING = Buffer.from([0xa0]);

// ---------------------------------------------------------------- OTLP

interface ScopeGroup {
  /** ScopeSpans fields other than spans (scope, schema_url), re-encoded as they were. */
  head: Buffer[];
  spans: Buffer[];
}

interface ResourceGroup {
  head: Buffer[];
  scopes: ScopeGroup[];
}

function encodeField(no: number, data: Buffer): Buffer {
  return lenField(no, data);
}

function parseOtlp(body: Buffer): ResourceGroup[] {
  const out: ResourceGroup[] = [];
  for (const rs of readFields(body)) {
    if (rs.no !== 1 || rs.wire !== WIRE_LEN) continue;
    const group: ResourceGroup = { head: [], scopes: [] };
    for (const f of readFields(rs.data)) {
      if (f.no === 2 && f.wire === WIRE_LEN) {
        const scope: ScopeGroup = { head: [], spans: [] };
        for (const sf of readFields(f.data)) {
          if (sf.no === 2 && sf.wire === WIRE_LEN) scope.spans.push(sf.data);
          else if (sf.wire === WIRE_LEN) scope.head.push(encodeField(sf.no, sf.data));
        }
        group.scopes.push(scope);
      } else if (f.wire === WIRE_LEN) group.head.push(encodeField(f.no, f.data));
    }
    out.push(group);
  }
  return out;
}

function encodeOtlp(groups: ResourceGroup[]): Part {
  const w = new ProtoWriter(64 * 1024);
  const traceIds = new Set<string>();
  let spans = 0;
  for (const g of groups) {
    const rs = w.begin(1);
    for (const h of g.head) w.raw(h);
    for (const s of g.scopes) {
      if (s.spans.length === 0) continue;
      const ss = w.begin(2);
      for (const h of s.head) w.raw(h);
      for (const span of s.spans) {
        w.bytes(2, span);
        spans++;
        const id = readFields(span).find((f) => f.no === 1);
        if (id) traceIds.add(id.data.toString('hex'));
      }
      w.end(ss);
    }
    w.end(rs);
  }
  return { body: w.take(16), traces: traceIds.size, spans };
}

export function splitOtlp(body: Buffer): [Part, Part] | null {
  let groups: ResourceGroup[];
  try {
    groups = parseOtlp(body);
  } catch {
    return null;
  }
  // Flatten to (resource, scope, span) and cut the list in the middle.
  const flat: [number, number, Buffer][] = [];
  groups.forEach((g, gi) => g.scopes.forEach((s, si) => s.spans.forEach((span) => flat.push([gi, si, span]))));
  if (flat.length < 2) return null;
  const half = flat.length >> 1;
  const build = (items: [number, number, Buffer][]): Part => {
    const picked: ResourceGroup[] = groups.map((g) => ({ head: g.head, scopes: g.scopes.map((s) => ({ head: s.head, spans: [] as Buffer[] })) }));
    for (const [gi, si, span] of items) picked[gi].scopes[si].spans.push(span);
    return encodeOtlp(picked.filter((g) => g.scopes.some((s) => s.spans.length > 0)));
  };
  return [build(flat.slice(0, half)), build(flat.slice(half))];
}

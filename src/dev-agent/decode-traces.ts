/**
 * Decodes a `/v0.4/traces` or `/v0.5/traces` body with a real msgpack decoder
 * (@msgpack/msgpack) and checks every field's type the way the Datadog Agent's decoder does,
 * so a payload this accepts is one the agent accepts. The first violation is reported with
 * trace, span and field. A v0.5 span (a 12-element array of string-table indices and numbers)
 * has each index checked against the table, then goes through the same checks as a v0.4 map.
 */
import { decode } from '@msgpack/msgpack';
import { isV05 } from '../exporter/encoders/datadog-common';

type TraceFormat = '0.4' | '0.5';

export interface DecodedSpan {
  name: string;
  service: string;
  resource: string;
  type: string;
  trace_id: bigint;
  span_id: bigint;
  parent_id: bigint;
  start: bigint;
  duration: bigint;
  error: number;
  meta: Record<string, string>;
  metrics: Record<string, number>;
  meta_struct?: Record<string, Uint8Array>;
}

export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

const KNOWN = new Set(['name', 'service', 'resource', 'type', 'trace_id', 'span_id', 'parent_id', 'start', 'duration', 'error', 'meta', 'metrics', 'meta_struct']);
const U64_MAX = 0xffffffffffffffffn;
const I64_MAX = 0x7fffffffffffffffn;

function typeName(v: unknown): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'bin';
  if (typeof v === 'bigint') return 'integer';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float';
  if (typeof v === 'object') return 'map';
  return typeof v;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function asInt(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return undefined;
}

/** `format`: the endpoint's (`/v0.4/traces` or `/v0.5/traces`); without it, told from the body. */
export function decodeTraces(body: Uint8Array, format: TraceFormat = isV05(body) ? '0.5' : '0.4'): DecodedSpan[][] {
  let raw: unknown;
  try {
    raw = decode(body, { useBigInt64: true });
  } catch (err) {
    throw new DecodeError(`decode traces: not valid msgpack: ${(err as Error).message}`);
  }
  if (format === '0.5') return decodeV05(raw);
  if (!Array.isArray(raw)) throw new DecodeError(`decode traces: body is ${typeName(raw)}, want array of traces`);
  return raw.map((trace, ti) => {
    if (!Array.isArray(trace)) throw new DecodeError(`decode traces: trace ${ti} is ${typeName(trace)}, want array of spans`);
    return trace.map((span, si) => checkSpan(span, `trace ${ti} span ${si}`));
  });
}

const V05_FIELDS = ['service', 'name', 'resource', 'trace_id', 'span_id', 'parent_id', 'start', 'duration', 'error', 'meta', 'metrics', 'type'] as const;

function decodeV05(raw: unknown): DecodedSpan[][] {
  const fail = (msg: string): never => {
    throw new DecodeError(`decode traces v0.5: ${msg}`);
  };
  if (!Array.isArray(raw) || raw.length !== 2) return fail(`body is ${typeName(raw)}${Array.isArray(raw) ? ` of ${raw.length}` : ''}, want array of 2 (string table, traces)`);
  const [table, traces] = raw as [unknown, unknown];
  if (!Array.isArray(table)) return fail(`string table is ${typeName(table)}, want array of strings`);
  table.forEach((v, i) => {
    if (typeof v !== 'string') fail(`string table entry ${i} is ${typeName(v)}, want string`);
  });
  if (!table.includes('')) fail('string table has no empty string');
  if (!Array.isArray(traces)) return fail(`traces is ${typeName(traces)}, want array of traces`);
  const str = (v: unknown, what: string): string => {
    const n = asInt(v);
    if (n === undefined) return fail(`${what} is ${typeName(v)}, want a uint32 string index`);
    if (n < 0n || n >= BigInt(table.length)) return fail(`${what} is ${n}, outside the string table (${table.length} strings)`);
    return table[Number(n)] as string;
  };
  return traces.map((trace, ti) => {
    if (!Array.isArray(trace)) return fail(`trace ${ti} is ${typeName(trace)}, want array of spans`);
    return trace.map((span, si) => {
      const where = `trace ${ti} span ${si}`;
      if (!Array.isArray(span) || span.length !== 12) return fail(`${where} is ${typeName(span)}${Array.isArray(span) ? ` of ${span.length}` : ''}, want array of 12`);
      const m: Record<string, unknown> = {};
      V05_FIELDS.forEach((f, i) => (m[f] = span[i]));
      for (const f of ['service', 'name', 'resource', 'type'] as const) m[f] = str(span[V05_FIELDS.indexOf(f)], `${where}: ${f}`);
      const meta = span[9];
      if (!isMap(meta)) return fail(`${where}: meta is ${typeName(meta)}, want map of uint32 to uint32`);
      m.meta = Object.fromEntries(Object.entries(meta).map(([k, v]) => [str(Number(k), `${where}: a meta key`), str(v, `${where}: meta value of ${k}`)]));
      const metrics = span[10];
      if (!isMap(metrics)) return fail(`${where}: metrics is ${typeName(metrics)}, want map of uint32 to float64`);
      m.metrics = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [str(Number(k), `${where}: a metrics key`), v]));
      const out = checkSpan(m, where);
      if (out.service === '') fail(`${where}: service is empty`);
      return out;
    });
  });
}

function checkSpan(span: unknown, where: string): DecodedSpan {
  const fail = (msg: string): never => {
    throw new DecodeError(`decode traces: ${where}: ${msg}`);
  };
  if (!isMap(span)) return fail(`is ${typeName(span)}, want map`);
  for (const key of Object.keys(span)) if (!KNOWN.has(key)) fail(`unknown field "${key}"`);
  const str = (k: string, required: boolean): string => {
    const v = span[k];
    if (v === undefined) return required ? fail(`${k} is missing`) : '';
    if (typeof v !== 'string') return fail(`${k} is ${typeName(v)}, want string`);
    if (required && v === '') return fail(`${k} is empty`);
    return v;
  };
  const u64 = (k: string, required: boolean): bigint => {
    const v = span[k];
    if (v === undefined) return required ? fail(`${k} is missing`) : 0n;
    const n = asInt(v);
    if (n === undefined) return fail(`${k} is ${typeName(v)}, want uint64`);
    if (n < 0n || n > U64_MAX) return fail(`${k} is ${n}, out of uint64 range`);
    return n;
  };
  const i64 = (k: string): bigint => {
    const v = span[k];
    if (v === undefined) return fail(`${k} is missing`);
    const n = asInt(v);
    if (n === undefined) return fail(`${k} is ${typeName(v)}, want int64`);
    if (n < -I64_MAX - 1n || n > I64_MAX) return fail(`${k} is ${n}, out of int64 range`);
    return n;
  };
  const out: DecodedSpan = {
    name: str('name', true),
    service: str('service', true),
    resource: str('resource', true),
    type: str('type', false),
    trace_id: u64('trace_id', true),
    span_id: u64('span_id', true),
    parent_id: u64('parent_id', false),
    start: i64('start'),
    duration: i64('duration'),
    error: 0,
    meta: {},
    metrics: {},
  };
  if (out.trace_id === 0n) fail('trace_id is 0');
  if (out.span_id === 0n) fail('span_id is 0');
  if (out.start < 100_000_000_000_000_000n) fail(`start is ${out.start}, want nanoseconds since the epoch`);
  if (out.duration < 0n) fail(`duration is ${out.duration}, want >= 0`);
  const err = span.error;
  if (err !== undefined) {
    const n = asInt(err);
    if (n === undefined) fail(`error is ${typeName(err)}, want int32`);
    if (n !== 0n && n !== 1n) fail(`error is ${n}, want 0 or 1`);
    out.error = Number(n);
  }
  const meta = span.meta;
  if (meta !== undefined) {
    if (!isMap(meta)) fail(`meta is ${typeName(meta)}, want map of string to string`);
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`meta[${JSON.stringify(k)}] is ${typeName(v)}, want string`);
      out.meta[k] = v as string;
    }
  }
  const metrics = span.metrics;
  if (metrics !== undefined) {
    if (!isMap(metrics)) fail(`metrics is ${typeName(metrics)}, want map of string to float64`);
    for (const [k, v] of Object.entries(metrics as Record<string, unknown>)) {
      if (typeof v !== 'number' && typeof v !== 'bigint') fail(`metrics[${JSON.stringify(k)}] is ${typeName(v)}, want float64`);
      out.metrics[k] = Number(v);
    }
  }
  const ms = span.meta_struct;
  if (ms !== undefined) {
    if (!isMap(ms)) fail(`meta_struct is ${typeName(ms)}, want map of string to bin`);
    out.meta_struct = {};
    for (const [k, v] of Object.entries(ms as Record<string, unknown>)) {
      if (!(v instanceof Uint8Array)) fail(`meta_struct[${JSON.stringify(k)}] is ${typeName(v)}, want bin`);
      out.meta_struct[k] = v as Uint8Array;
    }
  }
  return out;
}

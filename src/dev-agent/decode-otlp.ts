/**
 * Decodes an OTLP/HTTP protobuf `ExportTraceServiceRequest` (opentelemetry-proto
 * `collector/trace/v1`) and checks the wire type of every field it knows, the id lengths and
 * the enums, the way a collector would refuse them. Unknown fields are skipped, as protobuf
 * requires. The first violation is reported with the path to the field.
 */
import { readFields, ProtoError, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT, type Field } from '../exporter/encoders/protobuf';
import type { DecodedSpan } from './decode-traces';

export type OtlpValue = string | boolean | bigint | number | Uint8Array | OtlpValue[] | { [k: string]: OtlpValue } | null;

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, OtlpValue>;
  events: { timeUnixNano: bigint; name: string; attributes: Record<string, OtlpValue> }[];
  links: { traceId: string; spanId: string; traceState: string; attributes: Record<string, OtlpValue>; flags: number }[];
  status: { code: number; message: string };
  flags: number;
  resource: Record<string, OtlpValue>;
  scope: { name: string; version: string };
}

export class OtlpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpDecodeError';
  }
}

function want(f: Field, wire: number, where: string): void {
  const names = ['varint', 'fixed64', 'length-delimited', '', '', 'fixed32'];
  if (f.wire !== wire) throw new OtlpDecodeError(`${where}: field ${f.no} has wire type ${names[f.wire] ?? f.wire}, want ${names[wire]}`);
}

const str = (f: Field, where: string): string => {
  want(f, WIRE_LEN, where);
  return f.data.toString('utf8');
};

function anyValue(buf: Buffer, where: string): OtlpValue {
  let out: OtlpValue = null;
  for (const f of readFields(buf)) {
    switch (f.no) {
      case 1:
        out = str(f, `${where}.string_value`);
        break;
      case 2:
        want(f, WIRE_VARINT, `${where}.bool_value`);
        out = f.varint !== 0n;
        break;
      case 3: {
        want(f, WIRE_VARINT, `${where}.int_value`);
        out = BigInt.asIntN(64, f.varint);
        break;
      }
      case 4:
        want(f, WIRE_I64, `${where}.double_value`);
        out = f.data.readDoubleLE(0);
        break;
      case 5:
        want(f, WIRE_LEN, `${where}.array_value`);
        out = readFields(f.data)
          .filter((v) => v.no === 1)
          .map((v, i) => {
            want(v, WIRE_LEN, `${where}.array_value[${i}]`);
            return anyValue(v.data, `${where}.array_value[${i}]`);
          });
        break;
      case 6:
        want(f, WIRE_LEN, `${where}.kvlist_value`);
        out = keyValues(readFields(f.data).filter((v) => v.no === 1), `${where}.kvlist_value`);
        break;
      case 7:
        want(f, WIRE_LEN, `${where}.bytes_value`);
        out = new Uint8Array(f.data);
        break;
    }
  }
  return out;
}

function keyValues(fields: Field[], where: string): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {};
  for (const kv of fields) {
    want(kv, WIRE_LEN, where);
    let key: string | undefined;
    let value: OtlpValue = null;
    for (const f of readFields(kv.data)) {
      if (f.no === 1) key = str(f, `${where}.key`);
      else if (f.no === 2) {
        want(f, WIRE_LEN, `${where}.value`);
        value = anyValue(f.data, `${where}[${JSON.stringify(key ?? '?')}]`);
      }
    }
    if (key === undefined) throw new OtlpDecodeError(`${where}: a KeyValue without a key`);
    out[key] = value;
  }
  return out;
}

function id(f: Field, len: number, where: string): string {
  want(f, WIRE_LEN, where);
  if (f.data.length !== len) throw new OtlpDecodeError(`${where} is ${f.data.length} bytes, want ${len}`);
  return f.data.toString('hex');
}

function fixed64(f: Field, where: string): bigint {
  want(f, WIRE_I64, where);
  return f.data.readBigUInt64LE(0);
}

function fixed32(f: Field, where: string): number {
  want(f, WIRE_I32, where);
  return f.data.readUInt32LE(0);
}

function span(buf: Buffer, resource: Record<string, OtlpValue>, scope: { name: string; version: string }, where: string): OtlpSpan {
  const s: OtlpSpan = {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    traceState: '',
    name: '',
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: {},
    events: [],
    links: [],
    status: { code: 0, message: '' },
    flags: 0,
    resource,
    scope,
  };
  const attrs: Field[] = [];
  for (const f of readFields(buf)) {
    switch (f.no) {
      case 1:
        s.traceId = id(f, 16, `${where}.trace_id`);
        break;
      case 2:
        s.spanId = id(f, 8, `${where}.span_id`);
        break;
      case 3:
        s.traceState = str(f, `${where}.trace_state`);
        break;
      case 4:
        s.parentSpanId = f.data.length === 0 ? '' : id(f, 8, `${where}.parent_span_id`);
        break;
      case 5:
        s.name = str(f, `${where}.name`);
        break;
      case 6:
        want(f, WIRE_VARINT, `${where}.kind`);
        s.kind = Number(f.varint);
        break;
      case 7:
        s.startTimeUnixNano = fixed64(f, `${where}.start_time_unix_nano`);
        break;
      case 8:
        s.endTimeUnixNano = fixed64(f, `${where}.end_time_unix_nano`);
        break;
      case 9:
        attrs.push(f);
        break;
      case 11: {
        want(f, WIRE_LEN, `${where}.events`);
        const e = { timeUnixNano: 0n, name: '', attributes: {} as Record<string, OtlpValue> };
        const ea: Field[] = [];
        for (const x of readFields(f.data)) {
          if (x.no === 1) e.timeUnixNano = fixed64(x, `${where}.events.time_unix_nano`);
          else if (x.no === 2) e.name = str(x, `${where}.events.name`);
          else if (x.no === 3) ea.push(x);
        }
        e.attributes = keyValues(ea, `${where}.events.attributes`);
        s.events.push(e);
        break;
      }
      case 13: {
        want(f, WIRE_LEN, `${where}.links`);
        const l = { traceId: '', spanId: '', traceState: '', attributes: {} as Record<string, OtlpValue>, flags: 0 };
        const la: Field[] = [];
        for (const x of readFields(f.data)) {
          if (x.no === 1) l.traceId = id(x, 16, `${where}.links.trace_id`);
          else if (x.no === 2) l.spanId = id(x, 8, `${where}.links.span_id`);
          else if (x.no === 3) l.traceState = str(x, `${where}.links.trace_state`);
          else if (x.no === 4) la.push(x);
          else if (x.no === 6) l.flags = fixed32(x, `${where}.links.flags`);
        }
        l.attributes = keyValues(la, `${where}.links.attributes`);
        s.links.push(l);
        break;
      }
      case 15:
        want(f, WIRE_LEN, `${where}.status`);
        for (const x of readFields(f.data)) {
          if (x.no === 2) s.status.message = str(x, `${where}.status.message`);
          else if (x.no === 3) {
            want(x, WIRE_VARINT, `${where}.status.code`);
            s.status.code = Number(x.varint);
          }
        }
        break;
      case 16:
        s.flags = fixed32(f, `${where}.flags`);
        break;
    }
  }
  s.attributes = keyValues(attrs, `${where}.attributes`);
  if (s.traceId === '' || /^0+$/.test(s.traceId)) throw new OtlpDecodeError(`${where}.trace_id is missing or zero`);
  if (s.spanId === '' || /^0+$/.test(s.spanId)) throw new OtlpDecodeError(`${where}.span_id is missing or zero`);
  if (s.kind < 0 || s.kind > 5) throw new OtlpDecodeError(`${where}.kind is ${s.kind}, want 0-5`);
  if (s.status.code < 0 || s.status.code > 2) throw new OtlpDecodeError(`${where}.status.code is ${s.status.code}, want 0-2`);
  if (s.endTimeUnixNano < s.startTimeUnixNano) throw new OtlpDecodeError(`${where} ends before it starts`);
  return s;
}

/** Every span of the request, with its resource and scope. Throws OtlpDecodeError. */
export function decodeOtlpTraces(body: Buffer): OtlpSpan[] {
  const out: OtlpSpan[] = [];
  try {
    readFields(body).forEach((rs, ri) => {
      if (rs.no !== 1) return;
      const where = `resource_spans[${ri}]`;
      want(rs, WIRE_LEN, where);
      let resource: Record<string, OtlpValue> = {};
      const scopes: Field[] = [];
      for (const f of readFields(rs.data)) {
        if (f.no === 1) {
          want(f, WIRE_LEN, `${where}.resource`);
          resource = keyValues(
            readFields(f.data).filter((x) => x.no === 1),
            `${where}.resource.attributes`,
          );
        } else if (f.no === 2) scopes.push(f);
      }
      scopes.forEach((ss, si) => {
        const sw = `${where}.scope_spans[${si}]`;
        want(ss, WIRE_LEN, sw);
        const scope = { name: '', version: '' };
        const spans: Field[] = [];
        for (const f of readFields(ss.data)) {
          if (f.no === 1) {
            want(f, WIRE_LEN, `${sw}.scope`);
            for (const x of readFields(f.data)) {
              if (x.no === 1) scope.name = str(x, `${sw}.scope.name`);
              else if (x.no === 2) scope.version = str(x, `${sw}.scope.version`);
            }
          } else if (f.no === 2) spans.push(f);
        }
        spans.forEach((sp, i) => {
          want(sp, WIRE_LEN, `${sw}.spans[${i}]`);
          out.push(span(sp.data, resource, scope, `${sw}.spans[${i}]`));
        });
      });
    });
  } catch (err) {
    if (err instanceof ProtoError) throw new OtlpDecodeError(`not valid protobuf: ${err.message}`);
    throw err;
  }
  return out;
}

const scalar = (v: OtlpValue | undefined): string | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'object' && !(v instanceof Uint8Array) ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v);

/** An OTLP span in the Datadog shape, for printing trees (service from the resource). */
export function otlpToDecoded(s: OtlpSpan): DecodedSpan {
  const meta: Record<string, string> = {};
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.attributes)) {
    if (typeof v === 'number') metrics[k] = v;
    else if (typeof v === 'bigint') metrics[k] = Number(v);
    else {
      const t = scalar(v);
      if (t !== undefined) meta[k] = t;
    }
  }
  const status = s.attributes['http.response.status_code'];
  if (status !== undefined) meta['http.status_code'] = String(status);
  if (s.status.code === 2 && s.status.message) meta['error.message'] = s.status.message;
  const low = (hex: string): bigint => (hex === '' ? 0n : BigInt('0x' + hex.slice(-16)));
  return {
    name: s.name,
    service: String(s.resource['service.name'] ?? 'otlp'),
    resource: s.name,
    type: '',
    trace_id: low(s.traceId),
    span_id: low(s.spanId),
    parent_id: low(s.parentSpanId),
    start: s.startTimeUnixNano,
    duration: s.endTimeUnixNano - s.startTimeUnixNano,
    error: s.status.code === 2 ? 1 : 0,
    meta: { ...meta, '_dd.p.tid': s.traceId.slice(0, 16) },
    metrics,
  };
}

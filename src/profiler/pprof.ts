/**
 * A reader of pprof profiles (`perftools.profiles.Profile`, google/pprof proto/profile.proto),
 * gzip-compressed or not. Used by the dev agent, the `tracewell profile` command and the tests,
 * so what they check is what `go tool pprof` would read.
 */
import { gunzipSync } from 'node:zlib';
import { readFields, readVarint, ProtoError, WIRE_LEN, WIRE_VARINT, type Field } from '../exporter/encoders/protobuf';

export interface ValueType {
  type: string;
  unit: string;
}

interface PprofLine {
  functionId: number;
  line: number;
}

export interface PprofFunction {
  id: number;
  name: string;
  filename: string;
  startLine: number;
}

export interface PprofSample {
  /** Location ids, leaf first. */
  locationIds: number[];
  values: number[];
  /** Labels: string labels as strings, numeric labels as numbers. */
  labels: Record<string, string | number>;
}

export interface PprofProfile {
  sampleTypes: ValueType[];
  samples: PprofSample[];
  /** Location id -> its lines (innermost inlined frame first). */
  locations: Map<number, PprofLine[]>;
  functions: Map<number, PprofFunction>;
  timeNanos: number;
  durationNanos: number;
  periodType: ValueType | null;
  period: number;
  defaultSampleType: string;
}

/** One frame of a sample's stack. */
export interface Frame {
  name: string;
  file: string;
  line: number;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** Integers of a repeated field, packed or not. */
function ints(fields: Field[], no: number, signed: boolean): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === WIRE_VARINT) out.push(Number(signed ? BigInt.asIntN(64, f.varint) : f.varint));
    else if (f.wire === WIRE_LEN) {
      let pos = 0;
      while (pos < f.data.length) {
        const [v, p] = readVarint(f.data, pos, f.data.length);
        out.push(Number(signed ? BigInt.asIntN(64, v) : v));
        pos = p;
      }
    } else throw new ProtoError(`field ${no}: unexpected wire type ${f.wire}`);
  }
  return out;
}

function int(fields: Field[], no: number, signed = false): number {
  let v = 0;
  for (const f of fields) if (f.no === no && f.wire === WIRE_VARINT) v = Number(signed ? BigInt.asIntN(64, f.varint) : f.varint);
  return v;
}

/** Decodes a pprof profile; gunzips first when the bytes are gzip. Throws ProtoError (or a zlib error) on malformed input. */
export function decodePprof(bytes: Uint8Array): PprofProfile {
  let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 2 && buf[0] === GZIP_MAGIC_0 && buf[1] === GZIP_MAGIC_1) buf = gunzipSync(buf);
  const top = readFields(buf);
  const strings: string[] = [];
  for (const f of top) if (f.no === 6) strings.push(f.data.toString('utf8'));
  if (strings.length === 0 || strings[0] !== '') throw new ProtoError('string_table must start with the empty string');
  const str = (i: number): string => {
    if (i < 0 || i >= strings.length) throw new ProtoError(`string index ${i} outside the string table of ${strings.length}`);
    return strings[i];
  };
  const valueType = (data: Buffer): ValueType => {
    const vf = readFields(data);
    return { type: str(int(vf, 1)), unit: str(int(vf, 2)) };
  };
  const profile: PprofProfile = {
    sampleTypes: [],
    samples: [],
    locations: new Map(),
    functions: new Map(),
    timeNanos: int(top, 9, true),
    durationNanos: int(top, 10, true),
    periodType: null,
    period: int(top, 12, true),
    defaultSampleType: '',
  };
  for (const f of top) {
    switch (f.no) {
      case 1:
        profile.sampleTypes.push(valueType(f.data));
        break;
      case 2: {
        const sf = readFields(f.data);
        const labels: Record<string, string | number> = {};
        for (const l of sf) {
          if (l.no !== 3) continue;
          const lf = readFields(l.data);
          const key = str(int(lf, 1));
          const s = int(lf, 2);
          labels[key] = s !== 0 ? str(s) : int(lf, 3, true);
        }
        profile.samples.push({ locationIds: ints(sf, 1, false), values: ints(sf, 2, true), labels });
        break;
      }
      case 4: {
        const lf = readFields(f.data);
        const lines: PprofLine[] = [];
        for (const l of lf) {
          if (l.no !== 4) continue;
          const ll = readFields(l.data);
          lines.push({ functionId: int(ll, 1), line: int(ll, 2, true) });
        }
        profile.locations.set(int(lf, 1), lines);
        break;
      }
      case 5: {
        const ff = readFields(f.data);
        const id = int(ff, 1);
        profile.functions.set(id, { id, name: str(int(ff, 2)), filename: str(int(ff, 4)), startLine: int(ff, 5, true) });
        break;
      }
      case 11:
        profile.periodType = valueType(f.data);
        break;
      case 14:
        profile.defaultSampleType = str(int(top, 14));
        break;
    }
  }
  for (const s of profile.samples) {
    if (s.values.length !== profile.sampleTypes.length) throw new ProtoError(`a sample has ${s.values.length} values for ${profile.sampleTypes.length} sample types`);
    for (const id of s.locationIds) if (!profile.locations.has(id)) throw new ProtoError(`a sample names location ${id}, which is not in the profile`);
  }
  for (const lines of profile.locations.values()) {
    for (const l of lines) if (!profile.functions.has(l.functionId)) throw new ProtoError(`a location names function ${l.functionId}, which is not in the profile`);
  }
  return profile;
}

/** A sample's stack, leaf first, inlined frames expanded. */
export function framesOf(profile: PprofProfile, sample: PprofSample): Frame[] {
  const out: Frame[] = [];
  for (const id of sample.locationIds) {
    for (const l of profile.locations.get(id) ?? []) {
      const fn = profile.functions.get(l.functionId);
      out.push({ name: fn?.name || '(anonymous)', file: fn?.filename ?? '', line: l.line });
    }
  }
  return out;
}

/** The index of a sample type by name (e.g. `wall`, `cpu`, `samples`, `space`); -1 when absent. */
export function sampleTypeIndex(profile: PprofProfile, type: string): number {
  return profile.sampleTypes.findIndex((t) => t.type === type);
}

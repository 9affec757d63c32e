/**
 * Reading app values without touching them: no getter is called (accessors are reported,
 * not read), no Proxy is traversed (a Proxy trap is app code), cycles are marked, and depth,
 * fields per object, elements per collection and string length are bounded. A capture has a
 * time budget; when it runs out the capture stops and says so, and the caller disables the
 * probe. The same capture is printed (`render`) for span tags and log messages.
 */
import { types } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { CaptureLimits } from './types';
import type { Redactor } from '../internal/redact';

/** One captured value, in the shape of Datadog's snapshot captures. */
export interface CapturedValue {
  type: string;
  value?: string;
  fields?: Record<string, CapturedValue>;
  elements?: CapturedValue[];
  entries?: [CapturedValue, CapturedValue][];
  /** Why (part of) the value is missing: depth, fieldCount, collectionSize, redactedIdent, circular, proxy, getter, timeout. */
  notCapturedReason?: string;
  truncated?: boolean;
  /** The real length of a string or collection when it was cut. */
  size?: number;
  isNull?: boolean;
}

// Intrinsics, taken once: an app that replaces Map.prototype.entries cannot run code in a capture.
const getProto = Object.getPrototypeOf;
const ownDesc = Object.getOwnPropertyDescriptor;
const ownKeys = Object.keys;
const isArray = Array.isArray;
const mapSize = ownDesc(Map.prototype, 'size')!.get!;
const setSize = ownDesc(Set.prototype, 'size')!.get!;
const mapEntries = Map.prototype.entries;
const setValues = Set.prototype.values;
const mapIterNext = getProto(new Map().entries()).next as (this: unknown) => IteratorResult<[unknown, unknown]>;
const setIterNext = getProto(new Set().values()).next as (this: unknown) => IteratorResult<unknown>;
const dateToIso = Date.prototype.toISOString;
const dateGetTime = Date.prototype.getTime;
const typedLength = ownDesc(getProto(Uint8Array.prototype), 'length')!.get!;
const funcToStringTag = Object.prototype.toString;

/** Check the clock every this many values. */
const CLOCK_EVERY = 32;

export class CaptureContext {
  limits!: CaptureLimits;
  deadline = 0;
  overrun = false;
  /** Set by `begin`; the runtime clears it per hit, to time hits that captured something. */
  used = false;
  /** When the first capture of the current hit began. */
  startedAt = 0;
  private visited = 0;
  private readonly stack: unknown[] = [];

  constructor(private readonly redactor: Redactor) {}

  /** Starts one capture (a snapshot, a tag, a template), with its own limits and time budget in ms. */
  begin(limits: CaptureLimits, budgetMs: number): this {
    this.limits = limits;
    if (!this.used) {
      this.used = true;
      this.startedAt = performance.now();
    }
    this.deadline = performance.now() + budgetMs;
    this.overrun = false;
    this.visited = 0;
    this.stack.length = 0;
    return this;
  }

  /** A value under a name (a variable, an argument): redacted by name. */
  named(name: string, value: unknown): CapturedValue {
    if (this.redactor.isRedacted(name)) return this.redacted(value);
    return this.value(value, 0);
  }

  redacted(value: unknown): CapturedValue {
    this.redactor.count++;
    return { type: typeName(value), notCapturedReason: 'redactedIdent' };
  }

  value(v: unknown, depth: number): CapturedValue {
    if (++this.visited % CLOCK_EVERY === 0 && performance.now() > this.deadline) this.overrun = true;
    if (this.overrun) return { type: typeName(v), notCapturedReason: 'timeout' };
    switch (typeof v) {
      case 'string': {
        const max = this.limits.maxLength;
        return v.length > max ? { type: 'string', value: v.slice(0, max), truncated: true, size: v.length } : { type: 'string', value: v };
      }
      case 'number':
        return { type: 'number', value: String(v) };
      case 'boolean':
        return { type: 'boolean', value: v ? 'true' : 'false' };
      case 'bigint':
        return { type: 'bigint', value: v.toString() };
      case 'undefined':
        return { type: 'undefined' };
      case 'symbol':
        return { type: 'symbol', value: safeSymbol(v) };
      case 'function':
        return { type: 'Function', value: fnName(v as object) };
    }
    if (v === null) return { type: 'null', isNull: true };
    const o = v as object;
    if (types.isProxy(o)) return { type: 'Proxy', notCapturedReason: 'proxy' };
    if (this.stack.includes(o)) return { type: typeName(o), notCapturedReason: 'circular' };
    if (types.isDate(o)) {
      const t = dateGetTime.call(o);
      return { type: 'Date', value: Number.isNaN(t) ? 'Invalid Date' : dateToIso.call(o) };
    }
    if (types.isTypedArray(o)) return { type: typeName(o), size: typedLength.call(o) as number, notCapturedReason: 'binary' };
    if (types.isAnyArrayBuffer(o) || types.isPromise(o) || types.isWeakMap(o) || types.isWeakSet(o) || types.isRegExp(o)) return { type: typeName(o) };
    if (depth >= this.limits.maxReferenceDepth) return { type: typeName(o), notCapturedReason: 'depth' };
    this.stack.push(o);
    try {
      if (isArray(o)) return this.array(o as unknown[], depth);
      if (types.isMap(o)) return this.map(o as Map<unknown, unknown>, depth);
      if (types.isSet(o)) return this.set(o as Set<unknown>, depth);
      return this.object(o, depth);
    } finally {
      this.stack.pop();
    }
  }

  private array(a: unknown[], depth: number): CapturedValue {
    const len = (ownDesc(a, 'length')!.value as number) >>> 0;
    const n = Math.min(len, this.limits.maxCollectionSize);
    const elements: CapturedValue[] = [];
    for (let i = 0; i < n && !this.overrun; i++) {
      const d = ownDesc(a, i);
      if (d === undefined) elements.push({ type: 'undefined' });
      else if (d.get !== undefined || d.set !== undefined) elements.push({ type: 'accessor', notCapturedReason: 'getter' });
      else elements.push(this.value(d.value, depth + 1));
    }
    const out: CapturedValue = { type: typeName(a), elements };
    if (len > n) {
      out.notCapturedReason = 'collectionSize';
      out.size = len;
    }
    return out;
  }

  private map(m: Map<unknown, unknown>, depth: number): CapturedValue {
    const size = mapSize.call(m) as number;
    const max = this.limits.maxCollectionSize;
    const entries: [CapturedValue, CapturedValue][] = [];
    const it = mapEntries.call(m);
    for (let i = 0; i < max && !this.overrun; i++) {
      const r = mapIterNext.call(it);
      if (r.done) break;
      const [k, val] = r.value;
      entries.push([this.value(k, depth + 1), typeof k === 'string' && this.redactor.isRedacted(k) ? this.redacted(val) : this.value(val, depth + 1)]);
    }
    const out: CapturedValue = { type: typeName(m), entries };
    if (size > max) {
      out.notCapturedReason = 'collectionSize';
      out.size = size;
    }
    return out;
  }

  private set(s: Set<unknown>, depth: number): CapturedValue {
    const size = setSize.call(s) as number;
    const max = this.limits.maxCollectionSize;
    const elements: CapturedValue[] = [];
    const it = setValues.call(s);
    for (let i = 0; i < max && !this.overrun; i++) {
      const r = setIterNext.call(it);
      if (r.done) break;
      elements.push(this.value(r.value, depth + 1));
    }
    const out: CapturedValue = { type: typeName(s), elements };
    if (size > max) {
      out.notCapturedReason = 'collectionSize';
      out.size = size;
    }
    return out;
  }

  private object(o: object, depth: number): CapturedValue {
    // Object.keys neither calls getters nor walks the prototype chain; an object with very many
    // keys is caught by the clock check right after.
    const keys = ownKeys(o);
    // Only a long key list is worth a clock read here (a small capture is never cut for a
    // scheduling hiccup); small values are checked every CLOCK_EVERY values.
    if (keys.length > 1000 && performance.now() > this.deadline) {
      this.overrun = true;
      return { type: typeName(o), notCapturedReason: 'timeout' };
    }
    const max = this.limits.maxFieldCount;
    const fields: Record<string, CapturedValue> = {};
    const n = Math.min(keys.length, max);
    for (let i = 0; i < n && !this.overrun; i++) {
      const k = keys[i];
      const d = ownDesc(o, k);
      if (d === undefined) continue;
      if (d.get !== undefined || d.set !== undefined) fields[k] = { type: 'accessor', notCapturedReason: 'getter' };
      else if (this.redactor.isRedacted(k)) fields[k] = this.redacted(d.value);
      else fields[k] = this.value(d.value, depth + 1);
    }
    if (types.isNativeError(o) && !('message' in fields)) {
      const d = ownDesc(o, 'message');
      if (d !== undefined && 'value' in d) fields.message = this.value(d.value, depth + 1);
    }
    const out: CapturedValue = { type: typeName(o), fields };
    if (keys.length > n) {
      out.notCapturedReason = 'fieldCount';
      out.size = keys.length;
    }
    return out;
  }
}

/** The class name of a value, read without calling app code. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object' && typeof v !== 'function') return typeof v;
  try {
    if (types.isProxy(v)) return 'Proxy';
    if (isArray(v)) return 'Array';
    const proto = getProto(v) as object | null;
    if (proto === null) return 'Object';
    const c = ownDesc(proto, 'constructor');
    if (c !== undefined && typeof c.value === 'function') {
      const name = fnName(c.value as object);
      if (name !== '') return name;
    }
    const tag = funcToStringTag.call(v);
    return tag.slice(8, -1);
  } catch {
    return 'Object';
  }
}

function fnName(f: object): string {
  const d = ownDesc(f, 'name');
  return d !== undefined && typeof d.value === 'string' ? d.value : '';
}

function safeSymbol(s: symbol): string {
  const d = s.description;
  return d === undefined ? 'Symbol()' : `Symbol(${d})`;
}

/** Longest text a render produces (a span tag, a message segment). */
const MAX_RENDER = 4096;

/**
 * A capture as one line of text, close to `util.inspect`: `{ member_no: '[redacted]', name: 'Ada' }`.
 * Strings at the top are printed bare, nested ones quoted.
 */
export function render(c: CapturedValue, top = true): string {
  const s = renderInner(c, top);
  return s.length > MAX_RENDER ? s.slice(0, MAX_RENDER - 1) + '…' : s;
}

function renderInner(c: CapturedValue, top: boolean): string {
  switch (c.notCapturedReason) {
    case 'redactedIdent':
      return top ? '[redacted]' : "'[redacted]'";
    case 'circular':
      return '[Circular]';
    case 'proxy':
      return '[Proxy]';
    case 'getter':
      return '[Getter]';
    case 'depth':
      return c.type === 'Array' ? '[Array]' : `[${c.type}]`;
    case 'timeout':
      return '[not captured: time budget]';
  }
  switch (c.type) {
    case 'string': {
      const v = (c.value ?? '') + (c.truncated ? '…' : '');
      return top ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
    }
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'symbol':
      return c.value ?? '';
    case 'undefined':
      return 'undefined';
    case 'null':
      return 'null';
    case 'Function':
      return `[Function${c.value ? ': ' + c.value : ''}]`;
    case 'Date':
      return c.value ?? '';
  }
  const more = c.size !== undefined && c.notCapturedReason !== undefined;
  if (c.elements !== undefined) {
    const parts = c.elements.map((e) => renderInner(e, false));
    if (more) parts.push(`… ${c.size! - c.elements.length} more`);
    const body = parts.length === 0 ? '[]' : `[ ${parts.join(', ')} ]`;
    return c.type === 'Array' ? body : `${c.type}(${more ? c.size : c.elements.length}) ${body}`;
  }
  if (c.entries !== undefined) {
    const parts = c.entries.map(([k, v]) => `${renderInner(k, false)} => ${renderInner(v, false)}`);
    if (more) parts.push(`… ${c.size! - c.entries.length} more`);
    return `${c.type}(${more ? c.size : c.entries.length}) ${parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`}`;
  }
  if (c.fields !== undefined) {
    const parts: string[] = [];
    for (const k in c.fields) parts.push(`${/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`}: ${renderInner(c.fields[k], false)}`);
    if (more) parts.push(`… ${c.size! - parts.length} more`);
    const body = parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
    return c.type === 'Object' ? body : `${c.type} ${body}`;
  }
  return c.value !== undefined ? c.value : `[${c.type}]`;
}

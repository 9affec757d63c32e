/**
 * The kinds of option values: each reads a variable's text and checks a value given in code
 * with the same rules and bounds, and says in one phrase what it accepts. The table
 * (`table.ts`) gives every option one kind; no kind reads the environment itself.
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { inspect } from 'node:util';
import type { ResolvedSamplingRule, SpanProcessor } from './options';

/** How one option's value is read from a variable and checked when given in code. */
export interface Kind<T> {
  /** What a message says is accepted, for a variable. */
  readonly accepted: string;
  /** The same for a value given in code (an array where a variable has a comma list). */
  readonly acceptedInCode: string;
  /** The unit of a number, for the docs (`bytes` defaults are written in MiB). */
  readonly unit?: string;
  /** A variable's text (trimmed, never blank) -> the value, or `undefined` when not accepted. */
  parse(v: string): T | undefined;
  /** A value given in code (a string trimmed, never blank) -> the value, or `undefined` when not accepted. */
  check(v: unknown): T | undefined;
}

function parseBool(v: string): boolean | undefined {
  const s = v.toLowerCase();
  if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
  if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
  return undefined;
}

/** `true`/`false` in code; in a variable also `1`/`0`, `yes`/`no`, `on`/`off`, any case. */
export function bool(): Kind<boolean> {
  return {
    accepted: 'true or false',
    acceptedInCode: 'true or false',
    parse: parseBool,
    check: (v) => (typeof v === 'boolean' ? v : undefined),
  };
}

/**
 * A whole number from `min` to `max`: digits in a variable, an integer (not a string) in code.
 * `unit` names it in the message (`a whole number of milliseconds from 10 to 600000`).
 */
export function int(min: number, max: number, unit?: string, text?: string): Kind<number> {
  const accepted = text ?? `a whole number${unit ? ` of ${unit}` : ''}${max >= Number.MAX_SAFE_INTEGER ? ` of at least ${min}` : ` from ${min} to ${max}`}`;
  const inRange = (n: number): number | undefined => (n >= min && n <= max ? n : undefined);
  return {
    accepted,
    acceptedInCode: accepted,
    unit,
    parse: (v) => (/^\d+$/.test(v) ? inRange(Number(v)) : undefined),
    check: (v) => (typeof v === 'number' && Number.isInteger(v) ? inRange(v) : undefined),
  };
}

/** A number from 0 to 1. */
export function rate(): Kind<number> {
  return {
    accepted: 'a number from 0 to 1',
    acceptedInCode: 'a number from 0 to 1',
    parse: (v) => (/^(\d+(\.\d*)?|\.\d+)$/.test(v) ? rateIn(Number(v)) : undefined),
    check: (v) => (typeof v === 'number' ? rateIn(v) : undefined),
  };
}

function rateIn(n: number): number | undefined {
  return n >= 0 && n <= 1 ? n : undefined;
}

/** `a, b or c`. */
function either(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/** One of `values`, any case. */
export function oneOf<T extends string>(values: readonly T[], text = either(values)): Kind<T> {
  const parse = (v: string): T | undefined => {
    const s = v.toLowerCase();
    return (values as readonly string[]).includes(s) ? (s as T) : undefined;
  };
  return { accepted: text, acceptedInCode: text, parse, check: (v) => (typeof v === 'string' ? parse(v) : undefined) };
}

/** Any string. */
export function text(what: string): Kind<string> {
  return { accepted: what, acceptedInCode: what, parse: (v) => v, check: (v) => (typeof v === 'string' ? v : undefined) };
}

/** A path; a relative one is resolved against the working directory. */
export function path(what: string): Kind<string> {
  const parse = (v: string): string => (isAbsolute(v) ? v : resolvePath(v));
  return { accepted: what, acceptedInCode: what, parse, check: (v) => (typeof v === 'string' ? parse(v) : undefined) };
}

/** A URL of one of `protocols`; `trimSlash` drops trailing slashes. */
export function url(protocols: readonly string[], what: string, opts: { trimSlash?: boolean; needsHost?: boolean } = {}): Kind<string> {
  const parse = (v: string): string | undefined => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      return undefined;
    }
    if (!protocols.includes(u.protocol)) return undefined;
    if (opts.needsHost && u.hostname === '') return undefined;
    return opts.trimSlash ? v.replace(/\/+$/, '') : v;
  };
  return { accepted: what, acceptedInCode: what, parse, check: (v) => (typeof v === 'string' ? parse(v) : undefined) };
}

/**
 * A list: a comma list in a variable, an array in code, every element accepted by `element`
 * (a string in both; one bad element refuses the whole list, as a bad variable is ignored whole).
 */
export function list<E>(element: (s: string) => E | undefined, what: string, finish: (items: E[]) => E[] = (items) => items): Kind<E[]> {
  const of = (parts: readonly unknown[]): E[] | undefined => {
    const out: E[] = [];
    for (const part of parts) {
      if (typeof part !== 'string') return undefined;
      const s = part.trim();
      if (s === '') continue;
      const e = element(s);
      if (e === undefined) return undefined;
      out.push(e);
    }
    return finish(out);
  };
  return {
    accepted: `a comma list of ${what}`,
    acceptedInCode: `an array of ${what}`,
    parse: (v) => of(v.split(',')),
    check: (v) => (Array.isArray(v) ? of(v) : undefined),
  };
}

/** gRPC status codes: `2,4,12-15` in a variable, `[2, 4, 12, 13, 14, 15]` in code; 0..16. */
export function statusList(): Kind<number[]> {
  const what = 'gRPC status codes 0-16';
  return {
    accepted: `a comma list of ${what} or ranges like 12-15`,
    acceptedInCode: `an array of ${what}`,
    parse: parseStatusList,
    check: (v) => {
      if (!Array.isArray(v)) return undefined;
      const out = new Set<number>();
      for (const n of v) {
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 16) return undefined;
        out.add(n);
      }
      return [...out];
    },
  };
}

/** `2,4,12-15` -> [2, 4, 12, 13, 14, 15]; codes 0..16. */
function parseStatusList(v: string): number[] | undefined {
  const out = new Set<number>();
  for (const part of v.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const m = /^(\d{1,2})(?:\s*-\s*(\d{1,2}))?$/.exec(p);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > 16 || to > 16 || to < from) return undefined;
    for (let i = from; i <= to; i++) out.add(i);
  }
  return [...out];
}

/** String keys and values: `parse` reads a variable's form of it; in code, a plain object of strings. */
export function record(parse: (v: string) => Record<string, string> | undefined, accepted: string): Kind<Record<string, string>> {
  return {
    accepted,
    acceptedInCode: 'an object of string values',
    parse,
    check: (v) => {
      // A plain object: a Map or a class instance would give no entries and pass as empty.
      if (typeof v !== 'object' || v === null || ![Object.prototype, null].includes(Object.getPrototypeOf(v))) return undefined;
      const out: Record<string, string> = {};
      for (const [k, x] of Object.entries(v)) {
        if (typeof x !== 'string') return undefined;
        out[k] = x;
      }
      return out;
    },
  };
}

/**
 * `k:v,k2:v2` or `k:v k2:v2` (DD_TAGS); a bare key gets an empty value. With a comma anywhere
 * the list is comma-separated and values may hold spaces (`owner:Jane Doe,team:core`), as Datadog reads it.
 */
export function parseDdTags(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(v.includes(',') ? ',' : /\s+/)) {
    if (!part) continue;
    const i = part.indexOf(':');
    const key = (i < 0 ? part : part.slice(0, i)).trim();
    if (key) out[key] = i < 0 ? '' : part.slice(i + 1).trim();
  }
  return out;
}

/** `k=v,k2=v2` with percent-encoding (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS). */
export function parseOtelResource(v: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of v.split(',')) {
    if (!part.trim()) continue;
    const i = part.indexOf('=');
    if (i <= 0) return undefined;
    try {
      out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      return undefined;
    }
  }
  return out;
}

/** What the tracer calls on a span processor (`src/tracer/tracer.ts`): each must be a function. */
const PROCESSOR_METHODS = ['onStart', 'onEnd', 'forceFlush', 'shutdown'] as const;

/** OpenTelemetry SDK span processors: code only. */
export function processors(): Kind<SpanProcessor[]> {
  const what = `an array of span processors (objects with ${PROCESSOR_METHODS.slice(0, -1).join(', ')} and ${PROCESSOR_METHODS[PROCESSOR_METHODS.length - 1]} functions)`;
  return {
    accepted: what,
    acceptedInCode: what,
    parse: () => undefined,
    check: (v) => {
      if (!Array.isArray(v)) return undefined;
      for (const p of v) {
        if (typeof p !== 'object' || p === null) return undefined;
        for (const m of PROCESSOR_METHODS) if (typeof (p as Record<string, unknown>)[m] !== 'function') return undefined;
      }
      return [...(v as SpanProcessor[])];
    },
  };
}

/** A value given in code, written for a message: strings quoted as in JSON, the rest as JavaScript, on one line. */
export function showCodeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 200 ? v.slice(0, 200) + '…' : v);
  return inspect(v, { depth: 1, breakLength: Infinity, maxArrayLength: 10, maxStringLength: 100, compact: true });
}

/** A default written for a message: `1000`, `true`, `datadog,tracecontext,baggage`, `none`. */
export function showDefault(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.join(',');
  if (v === '' || v === undefined) return 'none';
  if (typeof v === 'object' && v !== null) return Object.keys(v).length === 0 ? 'none' : JSON.stringify(v);
  return String(v);
}

// ---------------------------------------------------------------------------------------------
// Sampling rules, header tags, globs.

const RULE_KEYS = new Set(['service', 'name', 'resource', 'tags', 'sample_rate', 'sampleRate', 'max_per_second', 'maxPerSecond']);

/** One rule object (JSON's snake_case or code's camelCase) checked and normalised; `undefined` when not accepted. */
function samplingRule(v: unknown, rateRequired: boolean): ResolvedSamplingRule | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  const out: { -readonly [K in keyof ResolvedSamplingRule]: ResolvedSamplingRule[K] } = { sampleRate: 1 };
  for (const key of Object.keys(r)) if (!RULE_KEYS.has(key)) return undefined;
  for (const key of ['service', 'name', 'resource'] as const) {
    const p = r[key];
    if (p === undefined) continue;
    if (typeof p !== 'string' || p === '') return undefined;
    out[key] = p;
  }
  if (r.tags !== undefined) {
    const tags = r.tags;
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) return undefined;
    const t: Record<string, string> = {};
    for (const [k, p] of Object.entries(tags)) {
      if (k === '' || typeof p !== 'string' || p === '') return undefined;
      t[k] = p;
    }
    if (Object.keys(t).length > 0) out.tags = Object.freeze(t);
  }
  const rate = r.sample_rate ?? r.sampleRate;
  if (rate === undefined) {
    if (rateRequired) return undefined;
  } else {
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) return undefined;
    out.sampleRate = rate;
  }
  const max = r.max_per_second ?? r.maxPerSecond;
  if (max !== undefined) {
    if (typeof max !== 'number' || !(max >= 0) || !Number.isFinite(max)) return undefined;
    out.maxPerSecond = max;
  }
  return Object.freeze(out);
}

/**
 * Datadog's sampling rules: a JSON array in a variable, an array of rule objects in code. A
 * rule with a key Datadog does not define, a pattern that is not a string, or a rate outside
 * 0..1 refuses the whole list (as a bad list element does), so a typo is reported, not ignored.
 */
export function samplingRules(kind: 'trace' | 'span'): Kind<ResolvedSamplingRule[]> {
  const fields = `{service, name, resource, tags, ${kind === 'trace' ? 'sample_rate (required)' : 'sample_rate (default 1)'}, max_per_second}`;
  const check = (v: unknown): ResolvedSamplingRule[] | undefined => {
    if (!Array.isArray(v)) return undefined;
    const out: ResolvedSamplingRule[] = [];
    for (const item of v) {
      const rule = samplingRule(item, kind === 'trace');
      if (rule === undefined) return undefined;
      out.push(rule);
    }
    return out;
  };
  return {
    accepted: `a JSON array of rules ${fields}, patterns with * and ?`,
    acceptedInCode: `an array of rules ${fields}, patterns with * and ?`,
    parse: (v) => {
      try {
        return check(JSON.parse(v));
      } catch {
        return undefined;
      }
    },
    check,
  };
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `DD_TRACE_HEADER_TAGS`: `header:tag` pairs, comma-separated; a header without a tag gets
 * Datadog's default names. In code, an object of header name -> tag name ('' for the default).
 * Header names are case-insensitive (kept in lower case).
 */
export function headerTags(): Kind<Record<string, string>> {
  const pair = (header: string, tag: string, out: Record<string, string>): boolean => {
    const h = header.trim().toLowerCase();
    if (!HEADER_NAME.test(h)) return false;
    out[h] = tag.trim();
    return true;
  };
  return {
    accepted: 'a comma list of header names, each with an optional :tag (`x-tenant-id:tenant,user-agent`)',
    acceptedInCode: "an object of header name -> tag name ('' for the default tag name)",
    parse: (v) => {
      const out: Record<string, string> = {};
      for (const part of v.split(',')) {
        if (part.trim() === '') continue;
        const i = part.indexOf(':');
        if (i === 0 || (i > 0 && part.slice(i + 1).trim() === '')) return undefined;
        if (!pair(i < 0 ? part : part.slice(0, i), i < 0 ? '' : part.slice(i + 1), out)) return undefined;
      }
      return out;
    },
    check: (v) => {
      if (typeof v !== 'object' || v === null || ![Object.prototype, null].includes(Object.getPrototypeOf(v))) return undefined;
      const out: Record<string, string> = {};
      for (const [k, t] of Object.entries(v)) if (typeof t !== 'string' || !pair(k, t, out)) return undefined;
      return out;
    },
  };
}

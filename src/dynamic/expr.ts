/**
 * The probe expression language: Datadog's JSON tree (`{"ne": [{"getmember": [{"ref": "request"},
 * "member_no"]}, null]}`) and a readable string form of the same (`request.member_no != null`).
 * An expression is compiled once, when the probe is installed, to a tree of small functions
 * that can only read: no call into app code (no getter, no Proxy trap, no valueOf/toString
 * coercion), no assignment. A failure (a missing member, a getter, a type mismatch) throws an
 * `EvalError` that the probe records; it never reaches the app.
 */
import { types } from 'node:util';
import type { Expr, ExprNode } from './types';
import { typeName } from './capture';

export class ProbeEvalError extends Error {
  override readonly name = 'EvaluationError';
}

export class BadExpression extends Error {
  override readonly name = 'BadExpression';
}

/** A compiled expression: reads the probe's frame (the captured names, in order). */
export type Evaluator = (frame: unknown[]) => unknown;

/** Compile-time view of the probe: the slot of each name, added on first use. */
export interface NameTable {
  slot(name: string): number;
}

const ownDesc = Object.getOwnPropertyDescriptor;
const getProto = Object.getPrototypeOf;
const mapGet = Map.prototype.get;
const mapHas = Map.prototype.has;
const mapSize = ownDesc(Map.prototype, 'size')!.get!;
const setSize = ownDesc(Set.prototype, 'size')!.get!;
const setHas = Set.prototype.has;
const setValues = Set.prototype.values;
const mapValues = Map.prototype.values;
const iterNextSet = getProto(new Set().values()).next as (this: unknown) => IteratorResult<unknown>;
const iterNextMap = getProto(new Map().values()).next as (this: unknown) => IteratorResult<unknown>;
const keysOf = Object.keys;
/** Most elements any/all/filter look at. */
const MAX_ITERATION = 1000;

/** Reads `o[key]` as a data property, along the prototype chain, without running app code. */
function readMember(o: unknown, key: string): unknown {
  if (o === null || o === undefined) throw new ProbeEvalError(`cannot read "${key}" of ${o === null ? 'null' : 'undefined'}`);
  if (typeof o === 'string') {
    if (key === 'length') return o.length;
    throw new ProbeEvalError(`strings have no member "${key}" here (only length)`);
  }
  if (typeof o !== 'object' && typeof o !== 'function') throw new ProbeEvalError(`a ${typeof o} has no member "${key}"`);
  let cur: object | null = o as object;
  for (let hops = 0; cur !== null && hops < 64; hops++) {
    if (types.isProxy(cur)) throw new ProbeEvalError(`"${key}" is behind a Proxy, which is not read`);
    const d = ownDesc(cur, key);
    if (d !== undefined) {
      if (d.get !== undefined || d.set !== undefined) throw new ProbeEvalError(`"${key}" is a getter, which is not called`);
      return d.value;
    }
    if (types.isMap(cur) && key === 'size') return mapSize.call(cur);
    if (types.isSet(cur) && key === 'size') return setSize.call(cur);
    cur = getProto(cur) as object | null;
  }
  return undefined;
}

function readIndex(o: unknown, key: unknown): unknown {
  if (o !== null && typeof o === 'object' && !types.isProxy(o)) {
    if (types.isMap(o)) return mapHas.call(o, key) ? mapGet.call(o, key) : undefined;
    if (types.isSet(o)) throw new ProbeEvalError('a Set cannot be indexed');
  }
  if (typeof key === 'number' && typeof o === 'string') return o[key];
  if (typeof key !== 'string' && typeof key !== 'number') throw new ProbeEvalError(`an index must be a string or a number, not ${typeName(key)}`);
  return readMember(o, String(key));
}

function length(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (v !== null && typeof v === 'object' && !types.isProxy(v)) {
    if (Array.isArray(v)) return ownDesc(v, 'length')!.value as number;
    if (types.isMap(v)) return mapSize.call(v) as number;
    if (types.isSet(v)) return setSize.call(v) as number;
    if (types.isTypedArray(v)) return (v as Uint8Array).byteLength / (v as Uint8Array).BYTES_PER_ELEMENT;
    return keysOf(v).length;
  }
  throw new ProbeEvalError(`len() of ${typeName(v)}`);
}

/** Elements of a collection for any/all/filter: array elements, Set values, Map values, object values. */
function elementsOf(v: unknown): unknown[] {
  const out: unknown[] = [];
  if (v === null || typeof v !== 'object' || types.isProxy(v)) throw new ProbeEvalError(`cannot iterate ${typeName(v)}`);
  if (Array.isArray(v)) {
    const n = Math.min(ownDesc(v, 'length')!.value as number, MAX_ITERATION);
    for (let i = 0; i < n; i++) {
      const d = ownDesc(v, i);
      if (d !== undefined && (d.get !== undefined || d.set !== undefined)) throw new ProbeEvalError(`element ${i} is a getter`);
      out.push(d?.value);
    }
  } else if (types.isSet(v) || types.isMap(v)) {
    const it = types.isSet(v) ? setValues.call(v) : mapValues.call(v);
    const next = types.isSet(v) ? iterNextSet : iterNextMap;
    for (let i = 0; i < MAX_ITERATION; i++) {
      const r = next.call(it);
      if (r.done) break;
      out.push(r.value);
    }
  } else {
    const keys = keysOf(v);
    for (let i = 0; i < keys.length && i < MAX_ITERATION; i++) out.push(readMember(v, keys[i]));
  }
  return out;
}

function primitive(v: unknown, op: string): string | number | bigint | boolean | null | undefined {
  if (v === null || v === undefined || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
  throw new ProbeEvalError(`${op} compares primitives only, not ${typeName(v)}`);
}

function str(v: unknown, op: string): string {
  if (typeof v !== 'string') throw new ProbeEvalError(`${op}() needs a string, not ${typeName(v)}`);
  return v;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return (a === null || a === undefined) && (b === null || b === undefined);
}

function instanceOf(v: unknown, name: string): boolean {
  if (name === 'string' || name === 'number' || name === 'boolean' || name === 'bigint' || name === 'undefined' || name === 'symbol') return typeof v === name;
  if (name === 'null') return v === null;
  if (v === null || (typeof v !== 'object' && typeof v !== 'function') || types.isProxy(v)) return false;
  let cur = getProto(v) as object | null;
  for (let hops = 0; cur !== null && hops < 64; hops++) {
    const c = ownDesc(cur, 'constructor');
    if (c !== undefined && typeof c.value === 'function') {
      const n = ownDesc(c.value as object, 'name');
      if (n !== undefined && n.value === name) return true;
    }
    cur = getProto(cur) as object | null;
  }
  return false;
}

const SPECIAL_REFS = new Set(['@return', '@duration', '@exception']);

/**
 * Compiles an expression tree. `names` assigns frame slots to the variables it refers to;
 * `itSlots` are the slots of `@it` for nested any/all/filter.
 */
export function compile(node: ExprNode, names: NameTable, depth = 0): Evaluator {
  if (node === null || typeof node === 'number' || typeof node === 'boolean') return () => node;
  if (typeof node === 'string') return () => node;
  if (typeof node !== 'object' || Array.isArray(node)) throw new BadExpression(`not an expression: ${JSON.stringify(node)}`);
  const ops = Object.keys(node);
  if (ops.length !== 1) throw new BadExpression(`an expression node has exactly one operator, got ${ops.length === 0 ? 'none' : ops.join(', ')}`);
  const op = ops[0];
  const arg = node[op];
  const args = (n: number): ExprNode[] => {
    if (!Array.isArray(arg) || arg.length !== n) throw new BadExpression(`"${op}" takes ${n} operand${n === 1 ? '' : 's'}`);
    return arg as ExprNode[];
  };
  const sub = (x: ExprNode, d = depth): Evaluator => compile(x, names, d);
  switch (op) {
    case 'ref': {
      if (typeof arg !== 'string' || arg === '') throw new BadExpression('"ref" takes a variable name');
      if (arg === '@it') {
        if (depth === 0) throw new BadExpression('@it is only defined inside any(), all() and filter()');
        const slot = names.slot(`@it${depth}`);
        return (f) => f[slot];
      }
      if (SPECIAL_REFS.has(arg)) throw new BadExpression(`${arg} is only defined for method probes; line probes see the variables at their line`);
      if (!/^[A-Za-z_$][\w$]*$/.test(arg)) throw new BadExpression(`"${arg}" is not a variable name`);
      const slot = names.slot(arg);
      return (f) => f[slot];
    }
    case 'getmember': {
      const [o, k] = args(2);
      if (typeof k !== 'string') throw new BadExpression('"getmember" takes an object and a member name');
      const of = sub(o);
      return (f) => readMember(of(f), k);
    }
    case 'index': {
      const [o, k] = args(2);
      const of = sub(o);
      const kf = sub(k);
      return (f) => readIndex(of(f), kf(f));
    }
    case 'eq':
    case 'ne': {
      const [a, b] = args(2);
      const af = sub(a);
      const bf = sub(b);
      return op === 'eq' ? (f) => equal(primitiveOrRef(af(f)), primitiveOrRef(bf(f))) : (f) => !equal(primitiveOrRef(af(f)), primitiveOrRef(bf(f)));
    }
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le': {
      const [a, b] = args(2);
      const af = sub(a);
      const bf = sub(b);
      const cmp = (x: unknown, y: unknown): number => {
        const p = primitive(x, op) as number;
        const q = primitive(y, op) as number;
        if (typeof p !== typeof q) throw new ProbeEvalError(`${op} of ${typeof p} and ${typeof q}`);
        return p < q ? -1 : p > q ? 1 : 0;
      };
      if (op === 'gt') return (f) => cmp(af(f), bf(f)) > 0;
      if (op === 'ge') return (f) => cmp(af(f), bf(f)) >= 0;
      if (op === 'lt') return (f) => cmp(af(f), bf(f)) < 0;
      return (f) => cmp(af(f), bf(f)) <= 0;
    }
    case 'and':
    case 'or': {
      if (!Array.isArray(arg) || arg.length < 2) throw new BadExpression(`"${op}" takes two or more operands`);
      const fs = (arg as ExprNode[]).map((x) => sub(x));
      return op === 'and'
        ? (f) => {
            for (const g of fs) if (!g(f)) return false;
            return true;
          }
        : (f) => {
            for (const g of fs) if (g(f)) return true;
            return false;
          };
    }
    case 'not': {
      const g = sub(arg as ExprNode);
      return (f) => !g(f);
    }
    case 'isDefined': {
      const g = sub(arg as ExprNode);
      return (f) => {
        try {
          return g(f) !== undefined;
        } catch (err) {
          if (err instanceof ProbeEvalError) return false;
          throw err;
        }
      };
    }
    case 'isUndefined': {
      const g = sub(arg as ExprNode);
      return (f) => g(f) === undefined;
    }
    case 'len':
    case 'count': {
      const g = sub(arg as ExprNode);
      return (f) => length(g(f));
    }
    case 'isEmpty': {
      const g = sub(arg as ExprNode);
      return (f) => length(g(f)) === 0;
    }
    case 'any':
    case 'all':
    case 'filter': {
      const [c, p] = args(2);
      const cf = sub(c);
      const pf = sub(p, depth + 1);
      const slot = names.slot(`@it${depth + 1}`);
      if (op === 'any')
        return (f) => {
          for (const e of elementsOf(cf(f))) {
            f[slot] = e;
            if (pf(f)) return true;
          }
          return false;
        };
      if (op === 'all')
        return (f) => {
          for (const e of elementsOf(cf(f))) {
            f[slot] = e;
            if (!pf(f)) return false;
          }
          return true;
        };
      return (f) => {
        const out: unknown[] = [];
        for (const e of elementsOf(cf(f))) {
          f[slot] = e;
          if (pf(f)) out.push(e);
        }
        return out;
      };
    }
    case 'startsWith':
    case 'endsWith': {
      const [s, x] = args(2);
      const sf = sub(s);
      const xf = sub(x);
      return op === 'startsWith' ? (f) => str(sf(f), op).startsWith(str(xf(f), op)) : (f) => str(sf(f), op).endsWith(str(xf(f), op));
    }
    case 'contains': {
      const [s, x] = args(2);
      const sf = sub(s);
      const xf = sub(x);
      return (f) => {
        const hay = sf(f);
        const needle = xf(f);
        if (typeof hay === 'string') return hay.includes(str(needle, op));
        if (hay !== null && typeof hay === 'object' && types.isSet(hay) && !types.isProxy(hay)) return setHas.call(hay, needle);
        if (hay !== null && typeof hay === 'object' && types.isMap(hay) && !types.isProxy(hay)) return mapHas.call(hay, needle);
        for (const e of elementsOf(hay)) if (equal(e, needle)) return true;
        return false;
      };
    }
    case 'matches': {
      const [s, pattern] = args(2);
      if (typeof pattern !== 'string') throw new BadExpression('matches() takes a literal pattern');
      if (pattern.length > 200) throw new BadExpression('matches() patterns are at most 200 characters');
      let re: RegExp;
      try {
        re = new RegExp(pattern);
      } catch (err) {
        throw new BadExpression(`matches(): ${(err as Error).message}`);
      }
      const sf = sub(s);
      return (f) => {
        const v = str(sf(f), op);
        // Bounded input keeps a pathological pattern from running long.
        return re.test(v.length > 4096 ? v.slice(0, 4096) : v);
      };
    }
    case 'substring': {
      if (!Array.isArray(arg) || arg.length !== 3) throw new BadExpression('"substring" takes a string, a start and an end');
      const [s, a, b] = (arg as ExprNode[]).map((x) => sub(x));
      return (f) => {
        const from = a(f);
        const to = b(f);
        if (typeof from !== 'number' || typeof to !== 'number') throw new ProbeEvalError('substring() bounds must be numbers');
        return str(s(f), op).substring(from, to);
      };
    }
    case 'instanceof': {
      const [v, t] = args(2);
      if (typeof t !== 'string') throw new BadExpression('instanceof takes a type name');
      const vf = sub(v);
      return (f) => instanceOf(vf(f), t);
    }
    default:
      throw new BadExpression(`unknown operator "${op}"`);
  }
}

/** eq/ne compare primitives by value and objects by identity; no coercion either way. */
function primitiveOrRef(v: unknown): unknown {
  return v;
}

/** The variable names an expression reads (for the installer: these are passed at the probe line). */
export function refsOf(node: ExprNode, out: Set<string> = new Set()): Set<string> {
  if (node === null || typeof node !== 'object') return out;
  if (Array.isArray(node)) {
    for (const x of node) refsOf(x as ExprNode, out);
    return out;
  }
  for (const op of Object.keys(node)) {
    const arg = node[op];
    if (op === 'ref') {
      if (typeof arg === 'string' && !arg.startsWith('@')) out.add(arg);
    } else if (op === 'getmember') {
      if (Array.isArray(arg)) refsOf(arg[0] as ExprNode, out);
    } else refsOf(arg as ExprNode, out);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The string form: `a.b[0] != null && len(items) > 2`, `any(items, @it.price > 10)`,
// `startsWith(name, "A")`, `x instanceof "Member"`. Parsed to the JSON tree.

const FUNCTIONS: Record<string, number> = {
  len: 1, count: 1, isEmpty: 1, isDefined: 1, isUndefined: 1, not: 1,
  any: 2, all: 2, filter: 2, startsWith: 2, endsWith: 2, contains: 2, matches: 2, instanceof: 2,
  substring: 3,
};

interface Token {
  kind: 'name' | 'num' | 'str' | 'op' | 'end';
  text: string;
  at: number;
  value?: unknown;
}

function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (/[A-Za-z_$@]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[\w$]/.test(src[j])) j++;
      out.push({ kind: 'name', text: src.slice(i, j), at });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(src[i + 1] ?? '') && (out.length === 0 || out[out.length - 1].kind === 'op' && !/^[)\]]$/.test(out[out.length - 1].text)))) {
      let j = i + 1;
      while (j < src.length && /[0-9.eE_]/.test(src[j])) j++;
      const text = src.slice(i, j);
      const n = Number(text.replace(/_/g, ''));
      if (Number.isNaN(n)) throw new BadExpression(`bad number "${text}" at ${at}`);
      out.push({ kind: 'num', text, at, value: n });
      i = j;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new BadExpression(`unterminated string starting at ${at}`);
      out.push({ kind: 'str', text: src.slice(i, j + 1), at, value: s });
      i = j + 1;
      continue;
    }
    const three = src.slice(i, i + 3);
    const two = src.slice(i, i + 2);
    if (three === '===' || three === '!==') {
      out.push({ kind: 'op', text: three.slice(0, 2), at });
      i += 3;
    } else if (['==', '!=', '>=', '<=', '&&', '||', '?.'].includes(two)) {
      out.push({ kind: 'op', text: two === '?.' ? '.' : two, at });
      i += 2;
    } else if ('.[]()<>!,'.includes(c)) {
      out.push({ kind: 'op', text: c, at });
      i++;
    } else throw new BadExpression(`unexpected "${c}" at ${at}`);
  }
  out.push({ kind: 'end', text: '', at: src.length });
  return out;
}

/** Parses the string form to Datadog's JSON tree. */
export function parseDsl(src: string): ExprNode {
  if (src.length > 2000) throw new BadExpression('expressions are at most 2000 characters');
  const toks = lex(src);
  let p = 0;
  const peek = (): Token => toks[p];
  const take = (): Token => toks[p++];
  const expect = (text: string): void => {
    const t = take();
    if (t.kind !== 'op' || t.text !== text) throw new BadExpression(`expected "${text}" at ${t.at}${t.kind === 'end' ? ' (end of expression)' : `, found "${t.text}"`}`);
  };
  const isOp = (text: string): boolean => peek().kind === 'op' && peek().text === text;
  let nesting = 0;

  function orExpr(): ExprNode {
    let left = andExpr();
    while (isOp('||')) {
      take();
      left = { or: [left, andExpr()] };
    }
    return left;
  }
  function andExpr(): ExprNode {
    let left = cmpExpr();
    while (isOp('&&')) {
      take();
      left = { and: [left, cmpExpr()] };
    }
    return left;
  }
  function cmpExpr(): ExprNode {
    const left = unary();
    const t = peek();
    const map: Record<string, string> = { '==': 'eq', '!=': 'ne', '>': 'gt', '>=': 'ge', '<': 'lt', '<=': 'le' };
    if (t.kind === 'op' && map[t.text]) {
      take();
      return { [map[t.text]]: [left, unary()] };
    }
    if (t.kind === 'name' && t.text === 'instanceof') {
      take();
      const ty = take();
      if (ty.kind !== 'str' && ty.kind !== 'name') throw new BadExpression(`instanceof takes a type name at ${ty.at}`);
      return { instanceof: [left, ty.kind === 'str' ? (ty.value as string) : ty.text] };
    }
    return left;
  }
  function unary(): ExprNode {
    if (isOp('!')) {
      take();
      return { not: unary() };
    }
    return postfix();
  }
  function postfix(): ExprNode {
    let node = primary();
    for (;;) {
      if (isOp('.')) {
        take();
        const n = take();
        if (n.kind !== 'name') throw new BadExpression(`expected a member name at ${n.at}`);
        node = { getmember: [node, n.text] };
      } else if (isOp('[')) {
        take();
        const k = orExpr();
        expect(']');
        node = { index: [node, k] };
      } else return node;
    }
  }
  function primary(): ExprNode {
    if (++nesting > 100) throw new BadExpression('expression nested too deeply');
    try {
      const t = take();
      if (t.kind === 'num' || t.kind === 'str') return t.value as ExprNode;
      if (t.kind === 'op' && t.text === '(') {
        const e = orExpr();
        expect(')');
        return e;
      }
      if (t.kind === 'name') {
        if (t.text === 'true') return true;
        if (t.text === 'false') return false;
        if (t.text === 'null' || t.text === 'undefined') return null;
        if (isOp('(')) {
          const arity = FUNCTIONS[t.text];
          if (arity === undefined) throw new BadExpression(`unknown function "${t.text}" at ${t.at} (known: ${Object.keys(FUNCTIONS).join(', ')})`);
          take();
          const list: ExprNode[] = [];
          if (!isOp(')')) {
            list.push(orExpr());
            while (isOp(',')) {
              take();
              list.push(orExpr());
            }
          }
          expect(')');
          if (list.length !== arity) throw new BadExpression(`${t.text}() takes ${arity} argument${arity === 1 ? '' : 's'}, got ${list.length}`);
          if (t.text === 'instanceof') {
            const ty = list[1];
            if (typeof ty !== 'string' && !(ty !== null && typeof ty === 'object' && 'ref' in ty)) throw new BadExpression('instanceof takes a type name');
            return { instanceof: [list[0], typeof ty === 'string' ? ty : (ty as { ref: string }).ref] };
          }
          return { [t.text]: arity === 1 ? list[0] : list };
        }
        return { ref: t.text };
      }
      throw new BadExpression(t.kind === 'end' ? 'the expression ends too early' : `unexpected "${t.text}" at ${t.at}`);
    } finally {
      nesting--;
    }
  }
  const tree = orExpr();
  const rest = peek();
  if (rest.kind !== 'end') throw new BadExpression(`unexpected "${rest.text}" at ${rest.at}`);
  return tree;
}

/** `{dsl, json}` (either), or a bare string (the string form), to a validated Expr. */
export function toExpr(def: unknown, what: string): Expr {
  if (typeof def === 'string') return validated({ dsl: def, json: parseDsl(def) });
  if (def !== null && typeof def === 'object' && !Array.isArray(def)) {
    const d = def as { dsl?: unknown; json?: unknown };
    if (d.json !== undefined) {
      // Validate the tree now (a throwaway name table), so a bad tree is a bad definition.
      compile(d.json as ExprNode, { slot: () => 0 });
      return { dsl: typeof d.dsl === 'string' ? d.dsl : JSON.stringify(d.json), json: d.json as ExprNode };
    }
    if (typeof d.dsl === 'string') return validated({ dsl: d.dsl, json: parseDsl(d.dsl) });
  }
  throw new BadExpression(`${what} must be {"dsl": ...} and/or {"json": ...}`);
}

function validated(e: Expr): Expr {
  compile(e.json, { slot: () => 0 });
  return e;
}

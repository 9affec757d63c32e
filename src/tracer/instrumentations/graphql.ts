/**
 * graphql-js 16 `execute` with an arguments object (what Apollo Server, mercurius and GraphQL
 * Yoga call; the positional form of older lines is left untraced). The
 * patch replaces `execute` on the exports of `graphql/execution/execute` (the property every
 * other entry point reads it through) and publishes on `tracewell:graphql.execute` around the
 * call; the subscriber makes a `graphql.execute` span, active while the operation runs, whose
 * resource is the operation type and name (`query GetMember`), with `graphql.operation.type`,
 * `graphql.operation.name` and `graphql.source` (the document with its string and number
 * literals replaced, worked out once per document). Errors in the result (a resolver threw:
 * the HTTP answer is still a 200) are recorded on the span, the first as its error.
 * Resolver spans (`graphql.resolve`, `field:Type`) only with `graphqlResolverSpans`, down to
 * `graphqlResolverDepth` fields deep: schema fields are wrapped once per schema.
 */
import dc = require('node:diagnostics_channel');
import { addPatcher } from './module-hook';
import { CHANNELS } from './channels';
import { Subscribers } from './subscribers';
import { now } from '../clock';
import { activeContext, isSuppressed, storage } from '../context';
import type { TwSpan } from '../span';
import type { TracerCore } from '../tracer';
import { Codes } from '../../internal/errors';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';
import { KIND_INTERNAL } from '../kinds';

/** What `execute` receives, as much as we read of it. */
interface ExecuteArgs {
  schema?: object;
  document?: DocumentNode;
  operationName?: string | null;
  fieldResolver?: Resolver;
}
interface DocumentNode {
  definitions?: { kind?: string; operation?: string; name?: { value?: string } }[];
  loc?: { source?: { body?: string } };
}
interface ExecutionResult {
  errors?: readonly unknown[];
}
/** The message of one `execute` call: its arguments, then its span (set by the subscriber), then its outcome. */
interface ExecuteMessage {
  args: ExecuteArgs;
  span?: TwSpan;
  result?: unknown;
  error?: unknown;
}
type Resolver = (this: unknown, source: unknown, args: unknown, context: unknown, info: ResolveInfo) => unknown;
interface PathNode {
  prev?: PathNode;
  key: string | number;
}
interface ResolveInfo {
  fieldName: string;
  returnType: unknown;
  path: PathNode;
}

const executeChannel = dc.tracingChannel(CHANNELS.graphqlExecute);
const kWrapped = Symbol('tracewell.graphqlExecute');

// --- the patch: publishes, makes no span ---

function isThenable(v: unknown): v is Promise<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

function wrapExecute(original: (this: unknown, args: ExecuteArgs) => unknown): (this: unknown, args: ExecuteArgs) => unknown {
  const wrapped = function (this: unknown, args: ExecuteArgs): unknown {
    if (!executeChannel.hasSubscribers || args === null || typeof args !== 'object' || arguments.length !== 1) {
      return original.apply(this, arguments as unknown as [ExecuteArgs]);
    }
    const msg: ExecuteMessage = { args };
    return executeChannel.start.runStores(msg, () => {
      let result: unknown;
      try {
        result = original.call(this, msg.args);
      } catch (err) {
        msg.error = err;
        executeChannel.error.publish(msg);
        executeChannel.end.publish(msg);
        throw err;
      }
      if (!isThenable(result)) {
        msg.result = result;
        executeChannel.end.publish(msg);
        return result;
      }
      return result.then(
        (r) => {
          msg.result = r;
          executeChannel.asyncEnd.publish(msg);
          return r;
        },
        (err: unknown) => {
          msg.error = err;
          executeChannel.error.publish(msg);
          executeChannel.asyncEnd.publish(msg);
          throw err;
        },
      );
    });
  };
  Object.defineProperty(wrapped, kWrapped, { value: true });
  Object.defineProperty(wrapped, 'name', { value: original.name });
  Object.defineProperty(wrapped, 'length', { value: original.length });
  return wrapped;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  addPatcher({
    name: 'graphql',
    // The module that defines `execute` (a plain property there; the package's index and
    // `graphql/execution` read it through getters, which follow the replacement).
    matches: (exp: any) =>
      typeof exp.execute === 'function' &&
      typeof exp.buildExecutionContext === 'function' &&
      typeof exp.defaultFieldResolver === 'function' &&
      Object.getOwnPropertyDescriptor(exp, 'execute')?.writable === true,
    patch: (exp: any) => {
      defaultFieldResolver = exp.defaultFieldResolver;
      if (!exp.execute[kWrapped]) exp.execute = wrapExecute(exp.execute);
    },
  });
}

// --- the subscribers: make the spans ---

let core: TracerCore | null = null;
let resolverDepth = 0;

interface OperationInfo {
  type: string;
  name: string;
  resource: string;
  source: string;
}

/** Per document (parsed documents are cached by the servers), per operation name. */
const operations = new WeakMap<object, Map<string, OperationInfo>>();

function operationOf(args: ExecuteArgs): OperationInfo {
  const doc = args.document;
  const opName = typeof args.operationName === 'string' ? args.operationName : '';
  if (doc === null || typeof doc !== 'object') return { type: '', name: '', resource: 'graphql', source: '' };
  let byName = operations.get(doc);
  const known = byName?.get(opName);
  if (known !== undefined) return known;
  let type = '';
  let name = '';
  for (const d of doc.definitions ?? []) {
    if (d.kind !== 'OperationDefinition') continue;
    const n = d.name?.value ?? '';
    if (opName === '' || n === opName) {
      type = d.operation ?? '';
      name = n;
      break;
    }
  }
  const body = doc.loc?.source?.body;
  const info: OperationInfo = {
    type,
    name,
    resource: type === '' ? 'graphql' : name === '' ? type : type + ' ' + name,
    source: typeof body === 'string' ? obfuscateLiterals(body) : '',
  };
  if (byName === undefined) operations.set(doc, (byName = new Map()));
  if (byName.size < 64) byName.set(opName, info);
  return info;
}

/**
 * A GraphQL document with its string literals (block strings too) as `"?"` and its number
 * literals as `0`; comments dropped. Names that contain digits are left alone.
 */
function obfuscateLiterals(src: string): string {
  let out = '';
  let i = 0;
  const n = src.length;
  const isNameChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 35 /* # */) {
      while (i < n && src.charCodeAt(i) !== 10 && src.charCodeAt(i) !== 13) i++;
      continue;
    }
    if (c === 34 /* " */) {
      if (src.startsWith('"""', i)) {
        i += 3;
        while (i < n && !src.startsWith('"""', i)) i += src.startsWith('\\"""', i) ? 4 : 1;
        i += 3;
      } else {
        i++;
        while (i < n && src.charCodeAt(i) !== 34 && src.charCodeAt(i) !== 10) i += src.charCodeAt(i) === 92 ? 2 : 1;
        i++;
      }
      out += '"?"';
      continue;
    }
    const startsNumber = (c >= 48 && c <= 57) || (c === 45 /* - */ && i + 1 < n && src.charCodeAt(i + 1) >= 48 && src.charCodeAt(i + 1) <= 57);
    if (startsNumber && (i === 0 || !isNameChar(src.charCodeAt(i - 1)))) {
      i++;
      while (i < n) {
        const d = src.charCodeAt(i);
        if (isNameChar(d) || d === 46 /* . */ || ((d === 43 || d === 45) && (src.charCodeAt(i - 1) | 32) === 101) /* e+ e- */) i++;
        else break;
      }
      out += '0';
      continue;
    }
    if (isNameChar(c)) {
      const start = i;
      while (i < n && isNameChar(src.charCodeAt(i))) i++;
      out += src.slice(start, i);
      continue;
    }
    out += src[i];
    i++;
  }
  return out;
}

function startExecute(msg: ExecuteMessage): unknown {
  const store = storage.getStore();
  const c = core;
  if (c === null) return store;
  try {
    const parent = activeContext();
    if (isSuppressed(parent)) return store;
    const op = operationOf(msg.args);
    const span = c.startSpan(op.resource, KIND_INTERNAL, parent, undefined, now());
    span.opName = 'graphql.execute';
    span.resource = op.resource;
    span.type = 'graphql';
    span.component = 'graphql';
    if (op.type !== '') span.setAttribute('graphql.operation.type', op.type);
    if (op.name !== '') span.setAttribute('graphql.operation.name', op.name);
    if (op.source !== '') span.setAttribute('graphql.source', op.source);
    msg.span = span;
    if (resolverDepth > 0) prepareResolvers(msg);
    return span;
  } catch (err) {
    failed(err);
    return store;
  }
}

function finishExecute(msg: ExecuteMessage): void {
  const span = msg.span;
  if (span === undefined || span.endAt >= 0) return;
  const errors = (msg.result as ExecutionResult | undefined)?.errors;
  if (Array.isArray(errors) && errors.length > 0) {
    // Every error as an event; the first is the span's own (its type, message and stack).
    for (let i = errors.length - 1; i > 0; i--) span.recordException(originalOf(errors[i]) as Error);
    span.fail(originalOf(errors[0]));
  }
  span.finish();
}

function onError(msg: ExecuteMessage): void {
  if (msg.span !== undefined) msg.span.fail(msg.error);
}

/** A resolver's own error, with its name and stack, rather than the GraphQLError around it (same message). */
function originalOf(err: unknown): unknown {
  const original = (err as { originalError?: unknown } | null)?.originalError;
  if (original !== null && typeof original === 'object' && typeof (original as { message?: unknown }).message === 'string') return original;
  return err;
}

// --- resolver spans (graphqlResolverSpans) ---

const kResolver = Symbol('tracewell.graphqlResolver');
const wrappedSchemas = new WeakSet<object>();
const defaultResolvers = new WeakMap<Resolver, Resolver>();
/** The span of each resolved field, by its path node (a child's `info.path.prev` chain leads to its parent's). */
const fieldSpans = new WeakMap<object, TwSpan>();

function depthOf(path: PathNode | undefined): number {
  let d = 0;
  for (let p = path; p !== undefined; p = p.prev) if (typeof p.key === 'string') d++;
  return d;
}

function pathText(path: PathNode): string {
  const keys: (string | number)[] = [];
  for (let p: PathNode | undefined = path; p !== undefined; p = p.prev) keys.push(p.key);
  return keys.reverse().join('.');
}

function wrapResolver(resolve: Resolver): Resolver {
  const wrapped = function (this: unknown, source: unknown, args: unknown, context: unknown, info: ResolveInfo): unknown {
    const c = core;
    if (c === null || resolverDepth === 0 || info === null || typeof info !== 'object' || depthOf(info.path) > resolverDepth) {
      return resolve.call(this, source, args, context, info);
    }
    let span: TwSpan;
    try {
      let parentPath = info.path.prev;
      while (parentPath !== undefined && typeof parentPath.key !== 'string') parentPath = parentPath.prev;
      const parentSpan = parentPath === undefined ? undefined : fieldSpans.get(parentPath);
      const type = String(info.returnType);
      span = c.startSpan('graphql.resolve', KIND_INTERNAL, parentSpan ?? activeContext(), undefined, now());
      span.opName = 'graphql.resolve';
      span.resource = info.fieldName + ':' + type;
      span.type = 'graphql';
      span.component = 'graphql';
      span.setAttribute('graphql.field.name', info.fieldName);
      span.setAttribute('graphql.field.path', pathText(info.path));
      span.setAttribute('graphql.field.type', type);
      fieldSpans.set(info.path, span);
    } catch (err) {
      failed(err);
      return resolve.call(this, source, args, context, info);
    }
    let result: unknown;
    try {
      result = storage.run(span, () => resolve.call(this, source, args, context, info));
    } catch (err) {
      span.fail(err);
      span.finish();
      throw err;
    }
    if (isThenable(result)) {
      return result.then(
        (v) => {
          span.finish();
          return v;
        },
        (err: unknown) => {
          span.fail(err);
          span.finish();
          throw err;
        },
      );
    }
    if (result instanceof Error) span.fail(result);
    span.finish();
    return result;
  };
  Object.defineProperty(wrapped, kResolver, { value: true });
  return wrapped;
}

/** Wraps every field resolver of the schema (once per schema), and the default resolver of this call. */
function prepareResolvers(msg: ExecuteMessage): void {
  const args = msg.args;
  const schema = args.schema as { getTypeMap?: () => Record<string, { getFields?: () => Record<string, { resolve?: Resolver }> }> } | undefined;
  if (schema !== undefined && typeof schema.getTypeMap === 'function' && !wrappedSchemas.has(schema)) {
    wrappedSchemas.add(schema);
    const types = schema.getTypeMap();
    for (const typeName of Object.keys(types)) {
      if (typeName.startsWith('__')) continue;
      const t = types[typeName];
      if (typeof t.getFields !== 'function' || !('isTypeOf' in t)) continue;
      const fields = t.getFields();
      for (const f of Object.keys(fields)) {
        const field = fields[f];
        if (typeof field.resolve === 'function' && !(field.resolve as unknown as Record<symbol, unknown>)[kResolver]) field.resolve = wrapResolver(field.resolve);
      }
    }
  }
  const base = args.fieldResolver ?? defaultFieldResolver;
  if (base !== undefined && !(base as unknown as Record<symbol, unknown>)[kResolver]) {
    let w = defaultResolvers.get(base);
    if (w === undefined) defaultResolvers.set(base, (w = wrapResolver(base)));
    msg.args = { ...args, fieldResolver: w };
  }
}

/** graphql's own default resolver, from the module patched (resolver spans on fields without one). */
let defaultFieldResolver: Resolver | undefined;

function failed(err: unknown): void {
  if (core === null) return;
  counters.instrumentationErrors++;
  logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] the graphql integration failed and is now off; the app goes on untraced by it`, err, 'graphql');
  disableGraphql();
}

const subscribers = new Subscribers('graphql', () => disableGraphql())
  .add(CHANNELS.graphqlExecuteEnd, finishExecute)
  .add(CHANNELS.graphqlExecuteAsyncEnd, finishExecute)
  .add(CHANNELS.graphqlExecuteError, onError);
let storeBound = false;

export function enableGraphql(c: TracerCore, options: { resolverDepth: number }): void {
  core = c;
  resolverDepth = options.resolverDepth;
  register();
  subscribers.enable();
  if (!storeBound) {
    storeBound = true;
    executeChannel.start.bindStore(storage, startExecute as (msg: unknown) => never);
  }
}

export function disableGraphql(): void {
  core = null;
  subscribers.disable();
  if (storeBound) {
    storeBound = false;
    executeChannel.start.unbindStore(storage);
  }
}

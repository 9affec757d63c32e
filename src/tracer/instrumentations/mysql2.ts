/**
 * `mysql2` (3.x; its `mysql2/promise` API calls the same methods): the patch. It publishes
 * each statement on the channels of `SQL_CHANNELS.mysql2` and knows nothing of spans (sql.ts
 * makes them). With nobody subscribed it calls the driver straight through.
 *
 * - `Connection#query` and `Connection#execute` (pools' and pool connections' included): `start`
 *   with the statement as written (before mysql2 substitutes `?` values into a `query`'s text,
 *   so the text is the same every call and no value is in it); the subscriber may give a text
 *   to send instead (the Database Monitoring comment). `finish` once with the outcome, before
 *   the app's callback, which runs in the caller's async context (`msg.caller`, an
 *   AsyncResource made when the statement was issued, as in pg.ts). A query without a
 *   callback (events, `.stream()`) finishes at its `end` event, its events emitted in the
 *   caller's context; its errors are watched with `errorMonitor`, so an unhandled one still
 *   throws.
 * - `Pool#getConnection`: a busy pool hands a released connection to the next waiter from the
 *   releasing query's callback; the waiter's callback runs in the waiter's own context instead.
 * - The promise API (`PromiseConnection`, `PromisePool` and their pool connections, with the
 *   native `Promise`): the statement's callback only settles the promise, whose `then`
 *   callbacks and `await`s run in their own context anyway, so no caller context is kept for it
 *   (entering one inside the socket's callback costs 1.2-1.6k instructions on Node 24:
 *   docs/hot-path.md, "pg, fifth round"). A flag marks such a statement while the
 *   promise method makes it synchronously; for `PromisePool`, while it asks the core pool for a
 *   connection, then while that wait's callback (still run in the caller's context) makes it.
 *
 * Recent mysql2 versions publish `mysql2:query` tracing channels of their own; they come after
 * the values are substituted and cannot change the text sent, so they are not used here.
 */
import dc = require('node:diagnostics_channel');
import { errorMonitor } from 'node:events';
import { AsyncResource } from 'node:async_hooks';
import { SQL_CHANNELS, type SqlQuery } from './channels';
import { addPatcher, wrapMethod } from './module-hook';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';
import { Codes } from '../../internal/errors';

const startCh = dc.channel(SQL_CHANNELS.mysql2.start);
const finishCh = dc.channel(SQL_CHANNELS.mysql2.finish);

/** The async resource type of the callers' contexts the patch keeps (as `async_hooks` shows them). */
const RESOURCE = 'tracewell.mysql2.caller';

type Callback = (...args: unknown[]) => unknown;

interface ConnectionConfig {
  host?: string;
  port?: number;
  socketPath?: string;
  database?: string;
  user?: string;
}
interface Mysql2Connection {
  config?: ConnectionConfig;
}
/** A mysql2 Query command passed to `query` (what `Pool#query` does) or an options object. */
interface SqlArg {
  sql?: unknown;
  onResult?: Callback;
  on?: unknown;
}
interface Command {
  once?(event: string | symbol, fn: (...args: unknown[]) => void): unknown;
  emit?: (...args: unknown[]) => boolean;
}

function done(msg: SqlQuery, error: unknown): void {
  if (msg.span === null) return;
  msg.error = error;
  finishCh.publish(msg);
  msg.span = null;
}

/**
 * Set while the promise API makes a statement that settles a native promise (read and cleared by
 * the `query`/`execute` it calls); `poolPromise` while `PromisePool` asks the core pool for a
 * connection (read and cleared by `getConnection`, which sets `promiseStatement` around its callback).
 */
let promiseStatement = false;
let poolPromise = false;

function finishing(msg: SqlQuery, cb: Callback): Callback {
  const caller = msg.caller;
  return function (this: unknown, ...args: unknown[]) {
    done(msg, args[0]);
    return caller === null ? cb.apply(this, args) : caller.runInAsyncScope(cb, this, ...args);
  };
}

let broken = false;

/** A failure of the patch itself: one message, and mysql2 runs untraced from then on. */
function patchFailed(err: unknown): void {
  counters.instrumentationErrors++;
  if (broken) return;
  broken = true;
  logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] the mysql2 integration failed and is now off; queries run untraced`, err, 'mysql2-off');
}

interface Prepared {
  msg: SqlQuery;
  args: [unknown, unknown, unknown];
  /** A callback was wrapped (else the returned command's events finish the span). */
  callbacked: boolean;
}

/** Publishes the statement, applies the subscriber's text and wraps the callback; undefined when there is nothing to trace. */
function prepare(conn: Mysql2Connection, prepared: boolean, sql: unknown, values: unknown, cb: unknown, settles: boolean): Prepared | undefined {
  const isObject = typeof sql === 'object';
  const text = isObject ? (sql as SqlArg).sql : sql;
  if (typeof text !== 'string') return undefined;
  const cfg = conn.config ?? {};
  const socket = typeof cfg.socketPath === 'string' && cfg.socketPath !== '';
  const msg: SqlQuery = {
    text,
    host: socket ? cfg.socketPath : (cfg.host ?? 'localhost'),
    port: socket ? undefined : (cfg.port ?? 3306),
    database: cfg.database,
    user: cfg.user,
    conn: conn.config,
    prepared,
    caller: settles ? null : new AsyncResource(RESOURCE),
    send: undefined,
    span: undefined,
    error: undefined,
  };
  startCh.publish(msg);
  try {
    // A mysql2 Query command (Pool#query hands one over): its text and callback are its own properties.
    const command = isObject && typeof (sql as SqlArg).on === 'function' ? (sql as SqlArg) : undefined;
    let arg = sql;
    if (msg.send !== undefined) {
      if (!isObject) arg = msg.send;
      else if (command !== undefined) command.sql = msg.send;
      else arg = { ...(sql as object), sql: msg.send };
    }
    let callbacked = true;
    if (typeof values === 'function') values = finishing(msg, values as Callback);
    else if (typeof cb === 'function') cb = finishing(msg, cb as Callback);
    else if (command !== undefined && typeof command.onResult === 'function') command.onResult = finishing(msg, command.onResult);
    else callbacked = false;
    return { msg, args: [arg, values, cb], callbacked };
  } catch (err) {
    done(msg, undefined);
    throw err;
  }
}

/** A command run without a callback: its `end` (or error) finishes the span, its events run in the caller's context. */
function watchEvents(msg: SqlQuery, result: unknown): void {
  const emitter = result as Command | undefined;
  if (emitter === undefined || emitter === null || typeof emitter.once !== 'function') {
    done(msg, undefined);
    return;
  }
  emitter.once(errorMonitor, (err: unknown) => done(msg, err));
  emitter.once('end', () => done(msg, undefined));
  const emit = emitter.emit;
  const caller = msg.caller;
  if (typeof emit === 'function' && caller !== null) {
    emitter.emit = function (this: unknown, ...args: unknown[]) {
      return caller.runInAsyncScope(emit, this, ...args) as boolean;
    };
  }
}

function wrapStatement(prepared: boolean) {
  return (original: (...args: unknown[]) => unknown) =>
    function statement(this: Mysql2Connection, sql: unknown, values?: unknown, cb?: unknown): unknown {
      const settles = promiseStatement;
      promiseStatement = false;
      if (broken || !startCh.hasSubscribers || sql === null || sql === undefined) return original.apply(this, arguments as unknown as unknown[]);
      let prep: Prepared | undefined;
      try {
        prep = prepare(this, prepared, sql, values, cb, settles);
      } catch (err) {
        patchFailed(err);
      }
      if (prep === undefined) return original.apply(this, arguments as unknown as unknown[]);
      const { msg } = prep;
      let result: unknown;
      try {
        result = original.apply(this, prep.args);
      } catch (err) {
        done(msg, err);
        throw err;
      }
      if (!prep.callbacked) {
        try {
          watchEvents(msg, result);
        } catch (err) {
          patchFailed(err);
          done(msg, undefined);
        }
      }
      return result;
    };
}

function wrapGetConnection(original: (...args: unknown[]) => unknown) {
  return function getConnection(this: unknown, cb?: unknown): unknown {
    const forPromise = poolPromise;
    poolPromise = false;
    if (broken || typeof cb !== 'function' || !startCh.hasSubscribers) return original.apply(this, arguments as unknown as unknown[]);
    const caller = new AsyncResource(RESOURCE);
    const fn = cb as Callback;
    // The core pool's own query/execute call back with the connection and make the statement at once.
    return original.call(this, function (this: unknown, ...args: unknown[]) {
      promiseStatement = forPromise;
      try {
        return caller.runInAsyncScope(fn, this, ...args);
      } finally {
        promiseStatement = false;
      }
    });
  };
}

/**
 * `PromiseConnection#query`/`execute` (`pool: false`) and `PromisePool#query`/`execute` (`pool:
 * true`) with the native `Promise`: mark the statement they make as settling it. Another promise
 * implementation may run its callbacks in the context that settles it, so its statements keep
 * the caller.
 */
function wrapPromiseStatement(pool: boolean) {
  return (original: (...args: unknown[]) => unknown) =>
    function promiseStatementOf(this: { Promise?: unknown }): unknown {
      if (broken || this.Promise !== Promise || !startCh.hasSubscribers) return original.apply(this, arguments as unknown as unknown[]);
      if (pool) poolPromise = true;
      else promiseStatement = true;
      try {
        return original.apply(this, arguments as unknown as unknown[]);
      } finally {
        poolPromise = false;
        promiseStatement = false;
      }
    };
}

/** The prototype on `proto`'s chain that holds `name` itself. */
function owner(proto: object | null, name: string): object | null {
  while (proto !== null && !Object.prototype.hasOwnProperty.call(proto, name)) proto = Object.getPrototypeOf(proto) as object | null;
  return proto;
}

/** Whether `proto` has a function under each name. */
function hasAll(proto: any, names: readonly string[]): boolean {
  if (proto === null || typeof proto !== 'object') return false;
  for (const n of names) if (typeof proto[n] !== 'function') return false;
  return true;
}

const POOL_METHODS = ['getConnection', 'releaseConnection', 'query', 'execute'];

/** A class of mysql2's promise API (`pool`: a pool's, whose statements wait for a connection). */
function patchPromiseClass(name: string, methods: readonly string[], pool: boolean): void {
  addPatcher({
    name,
    matches: (exp: any) => typeof exp === 'function' && hasAll(exp.prototype, methods) && typeof exp.prototype.addCommand !== 'function' && typeof exp.prototype.promise !== 'function',
    patch: (PromiseClass: any) => {
      for (const method of ['query', 'execute']) {
        const o = owner(PromiseClass.prototype, method);
        if (o !== null) wrapMethod(o, method, wrapPromiseStatement(pool));
      }
    },
  });
}

let registered = false;

/** Installs the patch (once): mysql2's connection and pool classes, whenever they load. */
export function patchMysql2(): void {
  if (registered) return;
  registered = true;
  addPatcher({
    name: 'mysql2',
    matches: (exp: any) =>
      typeof exp === 'function' && typeof exp.createQuery === 'function' && typeof exp.prototype?.query === 'function' && typeof exp.prototype.execute === 'function' && typeof exp.prototype.addCommand === 'function',
    patch: (Connection: any) => {
      const q = owner(Connection.prototype, 'query');
      const e = owner(Connection.prototype, 'execute');
      if (q !== null) wrapMethod(q, 'query', wrapStatement(false));
      if (e !== null) wrapMethod(e, 'execute', wrapStatement(true));
    },
  });
  // mysql2/promise's classes (lib/promise/connection.js, pool.js): no `addCommand` (the core
  // connection's), no `promise()` (the core classes' way to them).
  patchPromiseClass('mysql2 promise connection', ['query', 'execute', 'createBinlogStream'], false);
  patchPromiseClass('mysql2 promise pool', [...POOL_METHODS, 'escapeId'], true);
  addPatcher({
    name: 'mysql2 pool',
    matches: (exp: any) => typeof exp === 'function' && hasAll(exp.prototype, POOL_METHODS) && typeof exp.prototype.promise === 'function',
    patch: (Pool: any) => {
      const g = owner(Pool.prototype, 'getConnection');
      if (g !== null) wrapMethod(g, 'getConnection', wrapGetConnection);
    },
  });
}

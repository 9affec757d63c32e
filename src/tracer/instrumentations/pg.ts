/**
 * `pg` (node-postgres 8): the patch. It publishes each statement on the channels of
 * `SQL_CHANNELS.pg` and knows nothing of spans (sql.ts makes them). With nobody subscribed it
 * calls the driver straight through.
 *
 * - `Client#query` in all its forms (text, text + values, a query config object, a named
 *   prepared statement, a callback or a promise, a submittable such as `pg-cursor` or
 *   `pg-query-stream`): `start` before the driver sees it (the subscriber may give a text to
 *   send instead: the Database Monitoring comment), `finish` once when the driver hands the
 *   query its outcome (`handleReadyForQuery` or `handleError`), before the app's callback,
 *   which then runs in the caller's async context (`msg.caller`, an AsyncResource made when
 *   the statement was issued): pg calls it from its socket's events, the context of whoever
 *   opened the connection.
 * - `Pool#connect` (pg-pool): a busy pool hands a released client to the next waiter from
 *   inside the releasing query's callback; the waiter's callback (and so `Pool#query`'s query)
 *   runs in the waiter's own context instead.
 *
 * The caller's context is restored whole (every AsyncLocalStorage, the app's own too), with an
 * AsyncResource rather than a channel bound to our store: `runStores` with a store value that
 * differs makes two closures and copies the context frame twice on Node 24 (417 ns a call,
 * against 39 + 34 ns for making and entering a resource; docs/hot-path.md).
 *
 * Only where the app's code runs at completion: a callback (the app's, or the one pg-pool's
 * `Pool#query` passes for an app's callback) or a submittable's events. A statement whose
 * outcome is a promise (`client.query(text)` without a callback, or `pool.query(text)` without
 * one: pg-pool then resolves its own promise from its callback) needs none, since `then`
 * callbacks run in the context they were added in. Entering a resource inside the socket's
 * callback costs 1,200-1,600 instructions on Node 24, not the 34 ns it costs outside one: Node
 * then grows and trims its list of execution resources through its slow paths
 * (benchmarks/micro/resource-in-callback.mjs).
 */
import dc = require('node:diagnostics_channel');
import { AsyncResource } from 'node:async_hooks';
import { SQL_CHANNELS, type SqlQuery } from './channels';
import { addPatcher, wrapMethod } from './module-hook';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';
import { Codes } from '../../internal/errors';

const startCh = dc.channel(SQL_CHANNELS.pg.start);
const finishCh = dc.channel(SQL_CHANNELS.pg.finish);

/** The async resource type of the callers' contexts the patch keeps (as `async_hooks` shows them). */
const RESOURCE = 'tracewell.pg.caller';

/** The statement a pg query object carries, set once it is published. */
const MSG = Symbol('tracewell.pg.query');

interface ConnectionParameters {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
}
interface PgClient {
  connectionParameters?: ConnectionParameters;
  _queryable?: boolean;
  _ending?: boolean;
  _queryQueue?: PgQuery[];
  _sentQueryQueue?: PgQuery[];
  _activeQuery?: PgQuery | null;
}
interface PgQuery {
  text?: string;
  name?: string;
  submit?: unknown;
  cursor?: { text?: string };
  handleReadyForQuery?: (...args: unknown[]) => unknown;
  handleError?: (...args: unknown[]) => unknown;
  _canceledDueToError?: unknown;
  [MSG]?: SqlQuery;
}

/**
 * Set while pg-pool's own `Pool#query` for a promise calls `Pool#connect` (read by `wrapConnect`),
 * then while that connect's callback runs (read by the `Client#query` it makes): its statement
 * completes into pg-pool's callback, which settles the promise, so no caller context is kept.
 */
let poolPromise = false;
let poolPromiseQuery = false;

function done(msg: SqlQuery, error: unknown): void {
  if (msg.span === null) return;
  msg.error = error;
  finishCh.publish(msg);
  msg.span = null;
}

/** The query object `Client#query` just queued or sent for `text` (not one published before). */
function queued(client: PgClient, text: string): PgQuery | undefined {
  const waiting = client._queryQueue;
  let q = waiting !== undefined && waiting.length > 0 ? waiting[waiting.length - 1] : undefined;
  if (q !== undefined && q.text === text && q[MSG] === undefined) return q;
  const sent = client._sentQueryQueue;
  q = sent !== undefined && sent.length > 0 ? sent[sent.length - 1] : undefined;
  if (q !== undefined && q.text === text && q[MSG] === undefined) return q;
  const active = client._activeQuery;
  return active != null && active.text === text && active[MSG] === undefined ? active : undefined;
}

/** pg's Query.prototype once its completion methods are hooked (`hookQuery`). */
let hookedQuery: object | null = null;

/**
 * Completion hooks on pg's Query class, installed once: a query object the patch published
 * carries its message (`MSG`), and its `handleReadyForQuery` / `handleError` end the span and
 * run the app's callback in the caller's context. Hooks on the prototype instead of two
 * closures on every query object: no function made per statement.
 */
function hookQuery(proto: object): void {
  wrapMethod(proto, 'handleReadyForQuery', (ready: (this: PgQuery, con: unknown) => unknown) =>
    function handleReadyForQuery(this: PgQuery, con: unknown): unknown {
      const msg = this[MSG];
      if (msg === undefined) return ready.apply(this, arguments as unknown as [unknown]);
      // A row that could not be parsed: pg reports it through handleError, called from here.
      if (!this._canceledDueToError) done(msg, undefined);
      const caller = msg.caller;
      return caller === null ? ready.call(this, con) : caller.runInAsyncScope(ready, this, con);
    },
  );
  wrapMethod(proto, 'handleError', (failed: (this: PgQuery, err: unknown, con: unknown) => unknown) =>
    function handleError(this: PgQuery, err: unknown, con: unknown): unknown {
      const msg = this[MSG];
      if (msg === undefined) return failed.apply(this, arguments as unknown as [unknown, unknown]);
      done(msg, err);
      const caller = msg.caller;
      return caller === null ? failed.call(this, err, con) : caller.runInAsyncScope(failed, this, err, con);
    },
  );
  hookedQuery = proto;
}

/** Completion hooks on one query object: pg's own Query through its hooked prototype; a submittable's methods are its own. */
function watch(q: PgQuery, msg: SqlQuery): void {
  q[MSG] = msg;
  if (hookedQuery !== null && Object.getPrototypeOf(q) === hookedQuery) return;
  const ready = q.handleReadyForQuery;
  const failed = q.handleError;
  if (typeof ready !== 'function' || typeof failed !== 'function') {
    done(msg, undefined);
    return;
  }
  // A submittable's events are the app's: it always has a caller.
  const caller = msg.caller as AsyncResource;
  q.handleReadyForQuery = function (this: PgQuery) {
    // A row that could not be parsed: pg reports it through handleError, called from here.
    if (!this._canceledDueToError) done(msg, undefined);
    return caller.runInAsyncScope(ready, this, ...(arguments as unknown as unknown[]));
  };
  q.handleError = function (this: PgQuery, err: unknown) {
    done(msg, err);
    return caller.runInAsyncScope(failed, this, ...(arguments as unknown as unknown[]));
  };
}

/** What `Client#query` is called with, once published: the message and the arguments to pass on. */
interface Prepared {
  msg: SqlQuery;
  arg: unknown;
  sent: string;
  submittable: boolean;
}

/**
 * Publishes the statement and applies the subscriber's text; undefined when there is nothing to
 * trace. `settles`: the outcome goes to a promise pg or pg-pool settles, not to the app's code.
 */
function prepare(client: PgClient, config: unknown, settles: boolean): Prepared | undefined {
  const submittable = typeof (config as PgQuery).submit === 'function';
  const holder: PgQuery | undefined = submittable ? ((config as PgQuery).cursor ?? (config as PgQuery)) : undefined;
  const text = typeof config === 'string' ? config : holder !== undefined ? holder.text : (config as PgQuery).text;
  if (typeof text !== 'string') return undefined;
  const p = client.connectionParameters ?? {};
  const msg: SqlQuery = {
    text,
    host: p.host,
    port: p.port,
    database: p.database,
    user: p.user,
    conn: client.connectionParameters,
    prepared: typeof (config as PgQuery).name === 'string' && (config as PgQuery).name !== '',
    caller: settles && !submittable && typeof (config as { callback?: unknown }).callback !== 'function' ? null : new AsyncResource(RESOURCE),
    send: undefined,
    span: undefined,
    error: undefined,
  };
  startCh.publish(msg);
  let arg = config;
  let sent = text;
  if (msg.send !== undefined) {
    try {
      if (typeof config === 'string') arg = msg.send;
      else if (holder !== undefined) holder.text = msg.send;
      else arg = { ...(config as object), text: msg.send };
      sent = msg.send;
    } catch (err) {
      done(msg, undefined);
      throw err;
    }
  }
  return { msg, arg, sent, submittable };
}

let broken = false;

/** A failure of the patch itself: one message, and pg runs untraced from then on. */
function patchFailed(err: unknown): void {
  counters.instrumentationErrors++;
  if (broken) return;
  broken = true;
  logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] the pg integration failed and is now off; queries run untraced`, err, 'pg-off');
}

function wrapQuery(original: (...args: unknown[]) => unknown) {
  return function query(this: PgClient, config: unknown, values?: unknown, callback?: unknown): unknown {
    const viaPool = poolPromiseQuery;
    poolPromiseQuery = false;
    if (broken || !startCh.hasSubscribers || config === null || config === undefined || this._queryable === false || this._ending === true) {
      return original.apply(this, arguments as unknown as unknown[]);
    }
    let prep: Prepared | undefined;
    try {
      prep = prepare(this, config, viaPool || (typeof values !== 'function' && typeof callback !== 'function'));
    } catch (err) {
      patchFailed(err);
    }
    if (prep === undefined) return original.apply(this, arguments as unknown as unknown[]);
    const { msg, arg } = prep;
    let result: unknown;
    try {
      result = arguments.length <= 1 ? original.call(this, arg) : arguments.length === 2 ? original.call(this, arg, values) : original.call(this, arg, values, callback);
    } catch (err) {
      done(msg, err);
      throw err;
    }
    try {
      const q = prep.submittable ? (config as PgQuery) : queued(this, prep.sent);
      if (q === undefined) done(msg, undefined);
      else watch(q, msg);
    } catch (err) {
      patchFailed(err);
      done(msg, undefined);
    }
    return result;
  };
}

function wrapConnect(original: (...args: unknown[]) => unknown) {
  return function connect(this: unknown, cb?: unknown): unknown {
    const forPromise = poolPromise;
    poolPromise = false;
    if (broken || typeof cb !== 'function' || !startCh.hasSubscribers) return original.apply(this, arguments as unknown as unknown[]);
    const caller = new AsyncResource(RESOURCE);
    const fn = cb as (...a: unknown[]) => unknown;
    // pg-pool calls back with (err, client, release). For its own Pool#query for a promise, the
    // callback makes the one statement at once: the flag marks it.
    return original.call(this, function (this: unknown, err: unknown, client: unknown, release: unknown) {
      poolPromiseQuery = forPromise;
      try {
        return caller.runInAsyncScope(fn, this, err, client, release);
      } finally {
        poolPromiseQuery = false;
      }
    });
  };
}

/** pg-pool's `Pool#query` without a callback: marks the statement it makes as settling its promise. */
function wrapPoolQuery(original: (...args: unknown[]) => unknown) {
  return function query(this: unknown, text: unknown, values?: unknown, cb?: unknown): unknown {
    if (broken || !startCh.hasSubscribers || typeof text === 'function' || typeof values === 'function' || typeof cb === 'function') {
      return original.apply(this, arguments as unknown as unknown[]);
    }
    poolPromise = true;
    try {
      return original.apply(this, arguments as unknown as unknown[]);
    } finally {
      poolPromise = false;
    }
  };
}

let registered = false;

/** Installs the patch (once): pg's classes, whenever they load (`require` or `import`). */
export function patchPg(): void {
  if (registered) return;
  registered = true;
  // The modules that hold the classes, not pg's index: an ES module app's `import pg from 'pg'`
  // loads the index through the ES loader, but the index `require`s these two.
  addPatcher({
    name: 'pg',
    matches: (exp: any) =>
      typeof exp === 'function' && typeof exp.Query === 'function' && typeof exp.prototype?.query === 'function' && typeof exp.prototype._pulseQueryQueue === 'function',
    patch: (Client: any) => {
      const proto = Client.Query.prototype;
      if (typeof proto?.handleReadyForQuery === 'function' && typeof proto.handleError === 'function') hookQuery(proto);
      wrapMethod(Client.prototype, 'query', wrapQuery);
    },
  });
  addPatcher({
    name: 'pg-pool',
    matches: (exp: any) =>
      typeof exp === 'function' && typeof exp.prototype?.connect === 'function' && typeof exp.prototype._pulseQueue === 'function' && typeof exp.prototype.query === 'function',
    patch: (Pool: any) => {
      wrapMethod(Pool.prototype, 'connect', wrapConnect);
      wrapMethod(Pool.prototype, 'query', wrapPoolQuery);
    },
  });
}

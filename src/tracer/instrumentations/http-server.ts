/**
 * Inbound HTTP for `node:http` and `node:https` servers, and so for every framework on them.
 * The `'request'` event is emitted inside `AsyncLocalStorage.run(span, ...)`: the handler and
 * everything it awaits see the span, and nothing leaks into the next request on the socket.
 * Listeners on a traced request or its response (`'data'`, `'end'`, `'finish'`, `'close'`...)
 * run in the span's context too, whatever emitted the event (see `messageEmit`).
 * Frameworks add the route and errors through the span stored on the request.
 */
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { Context } from '@opentelemetry/api';
import { now } from '../clock';
import { activeContext, isSuppressed, ROOT_SCOPE, storage, SUPPRESSED_CONTEXT } from '../context';
import type { Glob } from '../glob';
import { fromFlatList, tagHeaders, type HeaderTags } from './header-tags';
import type { TwSpan } from '../span';
import type { TracerCore } from '../tracer';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';
import { KIND_SERVER } from '../kinds';

/** The server span of a request, on the IncomingMessage (read on every event of every traced request). */
const kSpan: unique symbol = Symbol('tracewell.span') as never;

type WithSpan = { [kSpan]?: TwSpan };

let core: TracerCore | null = null;
let urlQuery = false;
/** `httpIgnorePaths`, compiled; null when none (one comparison per request). */
let ignorePaths: Glob | null = null;
/** `headerTags`, compiled; null when none. */
let headerTags: HeaderTags | null = null;

function getHeader(headers: Http.IncomingHttpHeaders, key: string): string | undefined {
  const v = headers[key];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}

/** The span a framework integration should decorate, if this request is traced. */
export function spanOf(req: IncomingMessage): TwSpan | undefined {
  return (req as IncomingMessage & WithSpan)[kSpan];
}

/** Sets the route template (`/users/:id`): the span's name and Datadog resource follow. */
export function setRoute(span: TwSpan, route: string, component: string): void {
  span.httpRoute = route;
  span.name = span.httpMethod + ' ' + route;
  span.component = component;
}

/**
 * A response header for header tags: as set with `setHeader`, else from the head already
 * written (`writeHead(status, headers)` with an object, as Fastify answers, keeps no copy).
 */
function getResponseHeader(res: ServerResponse, key: string): unknown {
  const v = res.getHeader(key);
  if (v !== undefined) return v;
  const head = (res as ServerResponse & { _header?: unknown })._header;
  return typeof head === 'string' ? fromFlatList(head, key) : undefined;
}

function getRequestHeader(headers: Http.IncomingHttpHeaders, key: string): unknown {
  return headers[key];
}

/** Status and error of a server span, from the response. */
function complete(span: TwSpan, res: ServerResponse, aborted: boolean): void {
  try {
    if (headerTags !== null) tagHeaders(span, headerTags, true, res, getResponseHeader);
    const status = res.statusCode;
    span.httpStatus = status;
    if (status >= 500) {
      span.error = 1;
      if (span.errorType === '') span.errorMessage ||= `HTTP ${status}`;
    } else if (aborted) {
      span.setAttribute('http.aborted', true);
    }
  } catch (err) {
    counters.instrumentationErrors++;
    logger.error('http server integration failed', err, 'http-server');
  }
  span.finish();
}

/**
 * The span ends when the handler calls `res.end()`: the status is final then, and the
 * duration is the handler's, not the socket write's. A request whose connection closes
 * before `end()` (the client went away) is finished by one `'close'` listener per socket,
 * not one per request.
 */
const kCurrent = Symbol('tracewell.currentRequest');
type WatchedSocket = Socket & { [kCurrent]?: ServerResponse | null };

function onSocketClose(this: WatchedSocket): void {
  const res = this[kCurrent];
  if (res === undefined || res === null) return;
  this[kCurrent] = null;
  const span = (res.req as IncomingMessage & WithSpan)[kSpan];
  if (span !== undefined && span.endAt < 0) complete(span, res, true);
}

/**
 * The idle timer of a kept-alive connection is armed outside every request. Node arms it when a
 * response has finished (`socket.setTimeout(keepAliveTimeout)`, the response just detached),
 * in the context the response finished in, and a timer keeps the async context it was made in
 * until it is replaced, at the connection's next request: each idle connection kept its last
 * request's span (its trace, its strings) and the app's values of that request alive, and a
 * server at saturation copied those at every young-generation collection, which grew the young
 * generation (docs/hot-path.md). A call made while a response is on the socket (an app's
 * `req.setTimeout(ms, cb)`) keeps its context, so its callback runs in the request. Costs one
 * `runInAsyncScope` per request (about 30 ns; `context.ts`).
 */
type SetTimeout = (this: Socket, ms: number, cb?: () => void) => Socket;
let socketSetTimeout: SetTimeout | null = null;
function setIdleTimeout(socket: Socket, ms: number): Socket {
  return socketSetTimeout!.call(socket, ms);
}
/** `net.Socket.prototype.setTimeout`, patched once on the prototype: traced sockets keep the shape untraced ones have. */
function setTimeoutPatched(this: WatchedSocket & { _httpMessage?: unknown }, ms: number, cb?: () => void): Socket {
  // (`setTimeout(0)`, at the next request, makes no timer: nothing to keep.)
  if (ms > 0 && cb === undefined && this[kCurrent] !== undefined && this._httpMessage == null) return ROOT_SCOPE.runInAsyncScope(setIdleTimeout, null, this, ms);
  // eslint-disable-next-line prefer-rest-params
  return socketSetTimeout!.apply(this, arguments as unknown as [number]);
}

let originalEnd: ((...args: unknown[]) => unknown) | null = null;
function end(this: ServerResponse): unknown {
  const span = (this.req as (IncomingMessage & WithSpan) | undefined)?.[kSpan];
  if (span !== undefined && span.endAt < 0) {
    const socket = this.socket as WatchedSocket | null;
    if (socket !== null && socket[kCurrent] === this) socket[kCurrent] = null;
    complete(span, this, false);
  }
  // `arguments`, not a rest parameter: once per request, every argument passed on as given.
  return originalEnd!.apply(this, arguments as unknown as unknown[]);
}

function startSpan(c: TracerCore, parent: Context, req: IncomingMessage, res: ServerResponse, secure: boolean): TwSpan {
  const headers = req.headers;
  const remote = c.propagator.extract(headers, getHeader);
  const span = c.startSpan('web.request', KIND_SERVER, parent, remote, now());
  const method = req.method ?? 'GET';
  span.opName = 'web.request';
  span.component = 'http';
  span.httpMethod = method;
  span.name = method;
  const url = req.url ?? '/';
  const q = urlQuery ? -1 : url.indexOf('?');
  span.httpUrl = (secure ? 'https://' : 'http://') + (headers.host ?? 'localhost') + (q < 0 ? url : url.slice(0, q));
  const fwd = headers['x-forwarded-for'];
  if (typeof fwd === 'string') {
    const comma = fwd.indexOf(',');
    span.clientIp = (comma < 0 ? fwd : fwd.slice(0, comma)).trim();
  } else {
    span.clientIp = req.socket.remoteAddress ?? '';
  }
  const ua = headers['user-agent'];
  if (ua !== undefined) span.userAgent = ua;
  if (headerTags !== null) tagHeaders(span, headerTags, false, headers, getRequestHeader);
  (req as IncomingMessage & WithSpan)[kSpan] = span;
  const socket = req.socket as WatchedSocket;
  if (socket[kCurrent] === undefined) socket.on('close', onSocketClose);
  socket[kCurrent] = res;
  return span;
}

/**
 * Listeners on a traced request and its response run in the request span's context.
 *
 * Events on a request come from its socket (the parser pushing a body chunk, the end of the
 * body, a closed connection) and events on a response from write callbacks, so they run in
 * the context of whatever made the socket or the write: without this, a listener a handler
 * adds (`req.on('end', ...)`) sees no span, and whatever it does (a fetch, a log line, a
 * manual span) leaves the trace. `emit` of `IncomingMessage` and `ServerResponse` is wrapped
 * once at start-up; for a message we traced, an event that has listeners and is emitted
 * outside the span's context is emitted inside `storage.run(span)`. The rest (untraced
 * messages, client responses, events nobody listens to, events already in the span's
 * context) costs a property read or two per event. `run`, never `enterWith`: nothing stays
 * active after the event, so nothing reaches the next request on a keep-alive socket. As with
 * OpenTelemetry's instrumentation (which binds both emitters to the request's context), a
 * listener sees the request's span even when the event is emitted under a child span.
 * Measured against binding each request's two emitters: `docs/hot-path.md`.
 */
type Emit = (this: unknown, type: string | symbol, ...args: unknown[]) => boolean;
type Listened = { _events?: Record<string | symbol, unknown> };
let originalMessageEmit: Emit | null = null;
let originalResponseEmit: Emit | null = null;

/** Whether an event on a message traced as `span` must be emitted inside `storage.run(span)`. */
function outsideSpan(self: Listened, span: TwSpan, type: string | symbol): boolean {
  // No listener, nothing to run in any context ('error' without one throws either way; an
  // errorMonitor listener comes back through this emit under its own key).
  const events = self._events;
  if (events !== undefined && events[type] === undefined) return false;
  return storage.getStore() !== span;
}

function applyEmit(emit: Emit, self: unknown, args: unknown[]): boolean {
  return emit.apply(self, args as [string]);
}

// The rest parameters are made only on the way into `run`: the wrappers below pass
// `arguments` to `apply` alone, which V8 forwards without making an object.
function messageEmitInSpan(this: IncomingMessage & WithSpan, ...args: unknown[]): boolean {
  return storage.run(this[kSpan]!, applyEmit, originalMessageEmit!, this, args);
}

function responseEmitInSpan(this: ServerResponse, ...args: unknown[]): boolean {
  return storage.run((this.req as IncomingMessage & WithSpan)[kSpan]!, applyEmit, originalResponseEmit!, this, args);
}

function messageEmit(this: IncomingMessage & WithSpan, type: string | symbol): boolean {
  const span = this[kSpan];
  if (span !== undefined && outsideSpan(this as Listened, span, type)) {
    // eslint-disable-next-line prefer-rest-params
    return messageEmitInSpan.apply(this, arguments as unknown as unknown[]);
  }
  // eslint-disable-next-line prefer-rest-params
  return originalMessageEmit!.apply(this, arguments as unknown as [string]);
}

function responseEmit(this: ServerResponse, type: string | symbol): boolean {
  const req = this.req as (IncomingMessage & WithSpan) | null | undefined;
  const span = req == null ? undefined : req[kSpan];
  if (span !== undefined && outsideSpan(this as Listened, span, type)) {
    // eslint-disable-next-line prefer-rest-params
    return responseEmitInSpan.apply(this, arguments as unknown as unknown[]);
  }
  // eslint-disable-next-line prefer-rest-params
  return originalResponseEmit!.apply(this, arguments as unknown as [string]);
}

/**
 * Sets `proto[name]`; the undo puts back the own property there was, or removes ours (left
 * alone if something wrapped ours since: ours then acts only for requests traced before).
 */
function replaceMethod<T>(proto: object, name: string, fn: T): { original: T; undo: () => void } {
  const own = Object.prototype.hasOwnProperty.call(proto, name);
  const target = proto as Record<string, unknown>;
  const original = target[name] as T;
  target[name] = fn;
  return {
    original,
    undo: () => {
      if (target[name] !== fn) return;
      if (own) target[name] = original;
      else delete target[name];
    },
  };
}

function callEmit(self: unknown, emit: (...a: unknown[]) => boolean, type: string, req: unknown, res: unknown): boolean {
  return emit.call(self, type, req, res);
}

function patchServer(proto: { emit: (...a: any[]) => boolean }, secure: boolean): () => void {
  const original = proto.emit;
  proto.emit = function emit(this: unknown, type: string | symbol, req?: IncomingMessage, res?: ServerResponse): boolean {
    const c = core;
    if (type !== 'request' || c === null || req === undefined || res === undefined) {
      // Every other event, with all its arguments as given.
      return original.apply(this, arguments as unknown as unknown[]);
    }
    let span: TwSpan;
    try {
      // Read once: whether tracing is suppressed here, and the parent of the span if not.
      const parent = activeContext();
      if (isSuppressed(parent)) return original.call(this, type, req, res);
      if (ignorePaths !== null && ignored(ignorePaths, req.url)) {
        // Left out: no span, and nothing the handler does is traced or propagates a context
        // of ours (its outgoing calls carry no new trace).
        counters.ignored.inbound++;
        return storage.run(SUPPRESSED_CONTEXT, callEmit, this, original, type, req, res);
      }
      span = startSpan(c, parent, req, res, secure);
    } catch (err) {
      counters.instrumentationErrors++;
      logger.error('http server integration failed; request not traced', err, 'http-server');
      return original.call(this, type, req, res);
    }
    return storage.run(span, callEmit, this, original, type, req, res);
  };
  return () => {
    proto.emit = original;
  };
}

/** Whether a request's path (without the query string) is one of `httpIgnorePaths`. */
function ignored(paths: Glob, url: string | undefined): boolean {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return paths(q < 0 ? u : u.slice(0, q));
}

let restore: (() => void)[] = [];

/**
 * `node:https` is patched when the first TLS server starts listening, not at start-up: loading
 * it loads `node:tls` and OpenSSL's TLS state (about 8 MB of RSS and a fifth of the preload's
 * start-up time on Node 24), which a service behind a TLS-terminating proxy never needs.
 * Every server listens through `net.Server#listen` (ES imports of `node:https` included, which
 * no module hook sees); the check there runs once per `listen`, never per request. An https
 * module loaded before `init()` is patched at once.
 */
let httpsPatched = false;

function patchHttps(): void {
  if (httpsPatched) return;
  httpsPatched = true;
  const https = require('node:https') as typeof Https;
  restore.push(patchServer(https.Server.prototype as never, true), () => {
    httpsPatched = false;
  });
}

/** A TLS server (`tls.Server`, so `https.Server`): what `tls.Server`'s constructor sets, read without loading `node:tls`. */
function isTlsServer(server: object): boolean {
  return !(server instanceof http.Server) && Array.isArray((server as { _contexts?: unknown })._contexts);
}

function patchListen(): () => void {
  const proto = Object.getPrototypeOf(http.Server.prototype) as NetServer & { listen: (...a: unknown[]) => unknown };
  const original = proto.listen;
  const ours = function listen(this: NetServer): unknown {
    if (!httpsPatched && core !== null && isTlsServer(this)) {
      try {
        patchHttps();
      } catch (err) {
        counters.instrumentationErrors++;
        logger.error('https server integration failed; https servers are not traced', err, 'http-server');
      }
    }
    // eslint-disable-next-line prefer-rest-params
    return original.apply(this, arguments as unknown as unknown[]);
  };
  proto.listen = ours as typeof proto.listen;
  return () => {
    if (proto.listen === ours) proto.listen = original;
  };
}

/** Whether the app (or anything before us) has loaded `node:https` already. */
function httpsLoaded(): boolean {
  const list = (process as { moduleLoadList?: unknown }).moduleLoadList;
  return !Array.isArray(list) || list.includes('NativeModule https');
}

/**
 * `node:http`, required when the integration is turned on (the app has loaded it by then), not
 * when this module loads: the framework integrations import this module, and a `node:http`
 * loaded from inside it would fire the HTTP trigger while this module's own bindings are not yet
 * initialised.
 */
let http: typeof Http;

export function enableHttpServer(c: TracerCore, options: { urlQuery: boolean; ignorePaths: Glob | null; headerTags: HeaderTags | null }): void {
  http = require('node:http') as typeof Http;
  core = c;
  urlQuery = options.urlQuery;
  ignorePaths = options.ignorePaths;
  headerTags = options.headerTags;
  if (restore.length > 0) return;
  restore = [patchServer(http.Server.prototype, false), patchListen()];
  if (httpsLoaded()) patchHttps();
  const proto = http.ServerResponse.prototype as unknown as { end: (...args: unknown[]) => unknown };
  originalEnd = proto.end;
  proto.end = end;
  restore.push(() => {
    proto.end = originalEnd!;
  });
  const message = replaceMethod(http.IncomingMessage.prototype, 'emit', messageEmit);
  originalMessageEmit = message.original as Emit;
  const response = replaceMethod(http.ServerResponse.prototype, 'emit', responseEmit);
  originalResponseEmit = response.original as Emit;
  restore.push(message.undo, response.undo);
  const sockets = replaceMethod((require('node:net') as typeof import('node:net')).Socket.prototype, 'setTimeout', setTimeoutPatched);
  socketSetTimeout = sockets.original as SetTimeout;
  restore.push(sockets.undo);
}

export function disableHttpServer(): void {
  core = null;
  ignorePaths = null;
  headerTags = null;
  for (const r of restore) r();
  restore = [];
}

/**
 * Inbound HTTP for `node:http` and `node:https` servers, and so for every framework on them.
 * The `'request'` event is emitted inside `AsyncLocalStorage.run(span, ...)`: the handler and
 * everything it awaits see the span, and nothing leaks into the next request on the socket.
 * Frameworks add the route and errors through the span stored on the request.
 */
import http = require('node:http');
import https = require('node:https');
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { now } from '../clock';
import { activeContext, isSuppressed, storage } from '../context';
import type { TwSpan } from '../span';
import type { TracerCore } from '../tracer';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';

/** The server span of a request, on the IncomingMessage. */
const kSpan: unique symbol = Symbol('tracewell.span') as never;

type WithSpan = { [kSpan]?: TwSpan };

let core: TracerCore | null = null;
let urlQuery = false;

function getHeader(headers: http.IncomingHttpHeaders, key: string): string | undefined {
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

/** Status and error of a server span, from the response. */
function complete(span: TwSpan, res: ServerResponse, aborted: boolean): void {
  try {
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

function startSpan(c: TracerCore, req: IncomingMessage, res: ServerResponse, secure: boolean): TwSpan {
  const headers = req.headers;
  const remote = c.propagator.extract(headers, getHeader);
  const span = c.startSpan('web.request', SpanKind.SERVER, activeContext(), remote, now());
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
  (req as IncomingMessage & WithSpan)[kSpan] = span;
  const socket = req.socket as WatchedSocket;
  if (socket[kCurrent] === undefined) socket.on('close', onSocketClose);
  socket[kCurrent] = res;
  return span;
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
      if (isSuppressed(activeContext())) return original.call(this, type, req, res);
      span = startSpan(c, req, res, secure);
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

let restore: (() => void)[] = [];

export function enableHttpServer(c: TracerCore, options: { urlQuery: boolean }): void {
  core = c;
  urlQuery = options.urlQuery;
  if (restore.length > 0) return;
  restore = [patchServer(http.Server.prototype, false), patchServer(https.Server.prototype as never, true)];
  const proto = http.ServerResponse.prototype as unknown as { end: (...args: unknown[]) => unknown };
  originalEnd = proto.end;
  proto.end = end;
  restore.push(() => {
    proto.end = originalEnd!;
  });
}

export function disableHttpServer(): void {
  core = null;
  for (const r of restore) r();
  restore = [];
}

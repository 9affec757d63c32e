/**
 * Outbound requests: `node:http`/`https` clients and undici (so global `fetch`), through the
 * diagnostics channels both publish. The client span is a child of the active span and its
 * context is written into the request headers. Requests to our own agent are skipped.
 */
import dc = require('node:diagnostics_channel');
import type * as Http from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { now } from '../clock';
import { activeContext, isSuppressed } from '../context';
import type { TwSpan } from '../span';
import type { TracerCore } from '../tracer';
import { CHANNELS } from './channels';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';
import { isOwnOrigin } from '../../internal/own-io';
import type { Glob } from '../glob';
import { fromFlatList, tagHeaders, type HeaderTags } from './header-tags';
import { KIND_CLIENT } from '../kinds';

const kSpan = Symbol('tracewell.clientSpan');
type WithSpan = { [kSpan]?: TwSpan };

let core: TracerCore | null = null;
let urlQuery = false;
/** `httpClientIgnoreUrls`, compiled; null when none (one comparison per request). */
let ignoreUrls: Glob | null = null;
/** `headerTags`, compiled; null when none. */
let headerTags: HeaderTags | null = null;

/** Whether an outbound request is one of `httpClientIgnoreUrls` (matched on `protocol//host/path`, no query string); counted when it is. */
function ignored(urls: Glob, protocol: string, host: string, path: string): boolean {
  const q = path.indexOf('?');
  if (!urls(protocol + '//' + host + (q < 0 ? path : path.slice(0, q)))) return false;
  counters.ignored.outbound++;
  return true;
}

function failed(err: unknown): void {
  counters.instrumentationErrors++;
  logger.error('http client integration failed', err, 'http-client');
}

function startClientSpan(c: TracerCore, method: string, protocol: string, host: string, path: string, component: string): TwSpan {
  const span = c.startSpan('http.request', KIND_CLIENT, activeContext(), undefined, now());
  span.opName = 'http.request';
  span.component = component;
  span.httpMethod = method;
  span.name = method;
  const q = urlQuery ? -1 : path.indexOf('?');
  span.httpUrl = protocol + '//' + host + (q < 0 ? path : path.slice(0, q));
  const colon = host.lastIndexOf(':');
  if (colon > 0 && host.indexOf(']', colon) < 0) {
    span.peerHost = host.slice(0, colon);
    span.peerPort = Number(host.slice(colon + 1)) || 0;
  } else {
    span.peerHost = host;
    span.peerPort = protocol === 'https:' ? 443 : 80;
  }
  if (span.peerHost.charCodeAt(0) === 91) span.peerHost = span.peerHost.slice(1, -1);
  return span;
}

function finishClient(span: TwSpan, status: number): void {
  if (span.endAt >= 0) return;
  if (status !== 0) {
    span.httpStatus = status;
    if (status >= 400) span.error = 1;
  }
  span.finish();
}

// ---------------- node:http ----------------

function setRequestHeader(req: ClientRequest, key: string, value: string): void {
  req.setHeader(key, value);
}

function onClientClose(this: ClientRequest): void {
  const span = (this as ClientRequest & WithSpan)[kSpan];
  if (span !== undefined && span.endAt < 0) finishClient(span, span.httpStatus);
}

/**
 * Node 20 publishes `http.client.request.start` only after the headers were serialized, too
 * late to add ours (22+ has `http.client.request.created`, 20 does not). So the client span
 * starts where the headers are stored, `ClientRequest#_storeHeader`, which runs synchronously
 * in the caller's context when the request is first written or ended, on every Node line.
 */
let kOutHeaders: symbol | undefined;
type StoreHeader = (this: ClientRequest, firstLine: string, headers: unknown) => unknown;
let originalStoreHeader: StoreHeader | null = null;

function startHttpClientSpan(c: TracerCore, req: ClientRequest): TwSpan | undefined {
  if (isSuppressed(activeContext())) return undefined;
  const host = String(req.getHeader('host') ?? req.host);
  const protocol = req.protocol ?? 'http:';
  if (isOwnOrigin(protocol + '//' + host)) return undefined;
  if (ignoreUrls !== null && ignored(ignoreUrls, protocol, host, req.path)) return undefined;
  const span = startClientSpan(c, req.method, protocol, host, req.path, 'http');
  (req as ClientRequest & WithSpan)[kSpan] = span;
  if (headerTags !== null) tagHeaders(span, headerTags, false, req, getOutgoingHeader);
  req.on('close', onClientClose);
  return span;
}

function storeHeader(this: ClientRequest, firstLine: string, headers: unknown): unknown {
  const c = core;
  if (c !== null && (this as ClientRequest & WithSpan)[kSpan] === undefined) {
    try {
      const span = startHttpClientSpan(c, this);
      if (span !== undefined) {
        if (Array.isArray(headers)) {
          // Raw header arrays ([k, v, k, v] or [[k, v]]) are passed through as given: add pairs.
          const flat = headers.length > 0 && !Array.isArray(headers[0]);
          const added: string[][] = [];
          c.inject(span, added, (list, k, v) => list.push([k, v]));
          headers = flat ? [...headers, ...added.flat()] : [...headers, ...added];
        } else {
          c.inject(span, this, setRequestHeader);
          if (kOutHeaders !== undefined) headers = (this as unknown as Record<symbol, unknown>)[kOutHeaders];
        }
      }
    } catch (err) {
      failed(err);
    }
  }
  return originalStoreHeader!.call(this, firstLine, headers);
}

/**
 * `node:http` is required here, not at start-up: `sdk.ts` calls `patchHttpRequests` when the app
 * loads `node:http` or `node:https` (or at once if it was loaded before), so a process that
 * makes no HTTP requests and serves none never loads it for us.
 */
function patchStoreHeader(): void {
  if (originalStoreHeader !== null) return;
  const http = require('node:http') as typeof Http;
  kOutHeaders = Object.getOwnPropertySymbols(new http.OutgoingMessage()).find((s) => s.description === 'kOutHeaders');
  const proto = http.ClientRequest.prototype as unknown as { _storeHeader: StoreHeader };
  originalStoreHeader = proto._storeHeader;
  proto._storeHeader = storeHeader;
}

function unpatchStoreHeader(): void {
  if (originalStoreHeader === null) return;
  const proto = (require('node:http') as typeof Http).ClientRequest.prototype as unknown as { _storeHeader?: StoreHeader };
  // The method lives on OutgoingMessage.prototype; ours was an own property of ClientRequest's.
  delete proto._storeHeader;
  originalStoreHeader = null;
}

function getOutgoingHeader(req: ClientRequest, key: string): unknown {
  return req.getHeader(key);
}

function getIncomingHeader(res: IncomingMessage, key: string): unknown {
  return res.headers[key];
}

function onHttpResponseFinish(message: unknown): void {
  const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
  const span = (request as ClientRequest & WithSpan)[kSpan];
  if (span === undefined) return;
  if (headerTags !== null && span.endAt < 0) tagHeaders(span, headerTags, true, response, getIncomingHeader);
  finishClient(span, response.statusCode ?? 0);
}

function onHttpError(message: unknown): void {
  const { request, error } = message as { request: ClientRequest; error: unknown };
  const span = (request as ClientRequest & WithSpan)[kSpan];
  if (span === undefined || span.endAt >= 0) return;
  span.fail(error);
  span.finish();
}

// ---------------- undici / fetch ----------------

interface UndiciRequest {
  origin?: string | URL;
  method: string;
  path: string;
  /** `[name, value, ...]` (a `name: value\r\n` block in older undici). */
  headers?: unknown;
  addHeader(key: string, value: string): unknown;
}

function addUndiciHeader(req: UndiciRequest, key: string, value: string): void {
  req.addHeader(key, value);
}

function onUndiciCreate(message: unknown): void {
  const c = core;
  if (c === null) return;
  try {
    const req = (message as { request: UndiciRequest }).request;
    const origin = typeof req.origin === 'string' ? req.origin : req.origin?.origin;
    if (origin === undefined || isOwnOrigin(origin)) return;
    if (isSuppressed(activeContext())) return;
    const sep = origin.indexOf('//');
    const protocol = origin.slice(0, sep);
    const host = origin.slice(sep + 2);
    if (ignoreUrls !== null && ignored(ignoreUrls, protocol, host, req.path)) return;
    const span = startClientSpan(c, req.method, protocol, host, req.path, 'fetch');
    (req as UndiciRequest & WithSpan)[kSpan] = span;
    if (headerTags !== null) tagHeaders(span, headerTags, false, req.headers, fromFlatList);
    c.inject(span, req, addUndiciHeader);
  } catch (err) {
    failed(err);
  }
}

function onUndiciHeaders(message: unknown): void {
  const { request, response } = message as { request: UndiciRequest & WithSpan; response: { statusCode: number; headers?: unknown } };
  const span = request[kSpan];
  if (span === undefined) return;
  span.httpStatus = response.statusCode;
  if (headerTags !== null) tagHeaders(span, headerTags, true, response.headers, fromFlatList);
}

function onUndiciTrailers(message: unknown): void {
  const span = (message as { request: UndiciRequest & WithSpan }).request[kSpan];
  if (span !== undefined) finishClient(span, span.httpStatus);
}

function onUndiciError(message: unknown): void {
  const { request, error } = message as { request: UndiciRequest & WithSpan; error: unknown };
  const span = request[kSpan];
  if (span === undefined || span.endAt >= 0) return;
  span.fail(error);
  span.finish();
}

const subscriptions: [string, (m: unknown) => void][] = [];

function sub(name: string, fn: (m: unknown) => void): void {
  dc.subscribe(name, fn);
  subscriptions.push([name, fn]);
}

interface ClientOptions {
  urlQuery: boolean;
  http: boolean;
  fetch: boolean;
  ignoreUrls: Glob | null;
  headerTags: HeaderTags | null;
}

export function enableHttpClient(c: TracerCore, options: ClientOptions): void {
  core = c;
  urlQuery = options.urlQuery;
  ignoreUrls = options.ignoreUrls;
  headerTags = options.headerTags;
  if (subscriptions.length > 0) return;
  httpWanted = options.http;
  if (options.http) {
    if (httpLoadedAlready()) patchStoreHeader();
    sub(CHANNELS.httpClientResponseFinish, onHttpResponseFinish);
    sub(CHANNELS.httpClientRequestError, onHttpError);
  }
  if (options.fetch) {
    sub(CHANNELS.undiciRequestCreate, onUndiciCreate);
    sub(CHANNELS.undiciRequestHeaders, onUndiciHeaders);
    sub(CHANNELS.undiciRequestTrailers, onUndiciTrailers);
    sub(CHANNELS.undiciRequestError, onUndiciError);
  }
}

/** Whether `node:http` was loaded before us (another preload, or `init()` called late). */
function httpLoadedAlready(): boolean {
  const list = (process as { moduleLoadList?: unknown }).moduleLoadList;
  return !Array.isArray(list) || list.includes('NativeModule http');
}

let httpWanted = false;

/** The app loaded `node:http` (or `node:https`): outgoing requests are traced from now on. */
export function patchHttpRequests(): void {
  if (httpWanted && core !== null) patchStoreHeader();
}

export function disableHttpClient(): void {
  httpWanted = false;
  core = null;
  ignoreUrls = null;
  headerTags = null;
  unpatchStoreHeader();
  for (const [name, fn] of subscriptions) dc.unsubscribe(name, fn);
  subscriptions.length = 0;
}

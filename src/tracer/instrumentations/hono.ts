/**
 * Hono 4 on `@hono/node-server` (or any adapter that passes the Node request as
 * `env.incoming`). Every handler and middleware reaches a Hono router through its `add`, with
 * its route record (`{ method, path, basePath }`, `basePath`, `route()` and sub-apps already
 * merged into `path`); the patch wraps it there, once, at registration. When it runs, the
 * wrapper publishes `tracewell:hono.handler` (the route, for the span's name and `http.route`)
 * and, when it throws or rejects, or an app's `onError` answered for it, `tracewell:hono.error`.
 * Middleware (`use()`, method `ALL` on a path ending in `*`) does not name the span: the last
 * route handler that ran does. A request no route matched keeps the method alone as its name.
 */
import dc = require('node:diagnostics_channel');
import type { IncomingMessage } from 'node:http';
import { addPatcher, wrapMethod } from './module-hook';
import { setRoute, spanOf } from './http-server';
import { CHANNELS } from './channels';
import { Subscribers } from './subscribers';
import type { TwSpan } from '../span';

interface HonoContext {
  env?: { incoming?: IncomingMessage };
  error?: unknown;
}
interface RouteRecord {
  method?: string;
  path?: string;
}
type Handler = (this: unknown, c: HonoContext, next: unknown) => unknown;
/** Published when a handler starts; one object per registered handler, its `c` set around the publish. */
interface HandlerMessage {
  c: HonoContext | null;
  route: string;
  /** A route handler (names the span), not middleware. */
  names: boolean;
  /** `GET /users/:id` for the last method seen (most routes serve one). */
  method: string;
  name: string;
}
interface ErrorMessage {
  c: HonoContext;
  error: unknown;
}

const ROUTERS = ['SmartRouter', 'RegExpRouter', 'TrieRouter', 'PatternRouter', 'LinearRouter'];
const handlerChannel = dc.channel(CHANNELS.honoHandler);
const errorChannel = dc.channel(CHANNELS.honoError);
const kWrapped = Symbol('tracewell.honoHandler');

// --- the patch: publishes, makes no span ---

function publishError(c: HonoContext, error: unknown): void {
  if (errorChannel.hasSubscribers) errorChannel.publish({ c, error } satisfies ErrorMessage);
}

function wrapHandler(fn: Handler, r: RouteRecord): Handler {
  const route = typeof r.path === 'string' ? r.path : '';
  const msg: HandlerMessage = { c: null, route, names: route !== '' && !(r.method === 'ALL' && route.endsWith('*')), method: '', name: '' };
  const wrapped = function (this: unknown, c: HonoContext, next: unknown): unknown {
    if (!handlerChannel.hasSubscribers) return fn.call(this, c, next);
    msg.c = c;
    handlerChannel.publish(msg);
    msg.c = null;
    let res: unknown;
    try {
      res = fn.call(this, c, next);
    } catch (err) {
      publishError(c, err);
      throw err;
    }
    if (res instanceof Promise) {
      return res.then(
        (v) => {
          // A sub-app's own onError answered (Hono keeps what it caught on the context).
          if (c.error !== undefined) publishError(c, c.error);
          return v;
        },
        (err) => {
          publishError(c, err);
          throw err;
        },
      );
    }
    return res;
  };
  Object.defineProperty(wrapped, kWrapped, { value: true });
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  Object.defineProperty(wrapped, 'length', { value: fn.length });
  return wrapped;
}

function wrapAdd(original: (this: unknown, method: string, path: string, handler: unknown) => unknown) {
  return function add(this: unknown, method: string, path: string, handler: unknown): unknown {
    if (Array.isArray(handler) && handler.length === 2 && typeof handler[0] === 'function' && !(handler[0] as Record<symbol, unknown>)[kWrapped]) {
      const r = handler[1] as RouteRecord | null;
      if (r !== null && typeof r === 'object' && typeof r.path === 'string') handler = [wrapHandler(handler[0] as Handler, r), r];
    }
    return original.call(this, method, path, handler);
  };
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  addPatcher({
    name: 'hono',
    esm: true,
    matches: (exp: any) => ROUTERS.some((n) => typeof exp[n] === 'function' && typeof exp[n].prototype?.add === 'function' && typeof exp[n].prototype.match === 'function'),
    patch: (exp: any) => {
      for (const n of ROUTERS) if (typeof exp[n] === 'function' && typeof exp[n].prototype?.add === 'function') wrapMethod(exp[n].prototype, 'add', wrapAdd);
    },
  });
}

// --- the subscribers: decorate the server span ---

function spanOfContext(c: HonoContext | null): TwSpan | undefined {
  const incoming = c?.env?.incoming;
  return incoming === undefined || incoming === null ? undefined : spanOf(incoming);
}

function onHandler(m: HandlerMessage): void {
  if (!m.names) return;
  const span = spanOfContext(m.c);
  if (span === undefined) return;
  if (span.httpMethod !== m.method) {
    setRoute(span, m.route, 'hono');
    m.method = span.httpMethod;
    m.name = span.name;
    return;
  }
  span.httpRoute = m.route;
  span.name = m.name;
  span.component = 'hono';
}

/** The error last recorded on each span: one error is seen by every handler it passes through. */
const recorded = new WeakMap<TwSpan, unknown>();

function onError(m: ErrorMessage): void {
  const span = spanOfContext(m.c);
  if (span === undefined || recorded.get(span) === m.error) return;
  recorded.set(span, m.error);
  span.recordException(m.error as Error);
}

const subscribers = new Subscribers('hono').add(CHANNELS.honoHandler, onHandler).add(CHANNELS.honoError, onError);

export function enableHono(): void {
  register();
  subscribers.enable();
}

export function disableHono(): void {
  subscribers.disable();
}

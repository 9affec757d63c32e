/**
 * Koa (3; 2 has the same Application), with `@koa/router` or `koa-router`. One patch, on `Application#use(fn)`: each
 * middleware is wrapped once, at registration. What it throws or rejects with is published on
 * `tracewell:koa.error` before the middleware around it sees it, so an error an
 * error-handling middleware turns into a response is still recorded. The outermost
 * middleware's wrapper also publishes the context on `tracewell:koa.settled` when the chain
 * has settled, just before Koa responds: the routers leave the matched route on the context
 * (`ctx._matchedRoute`, prefixes and nested routers included), and the subscriber names the
 * span from it. The routers themselves are not patched.
 */
import dc = require('node:diagnostics_channel');
import type { IncomingMessage } from 'node:http';
import { addPatcher, wrapMethod } from './module-hook';
import { setRoute, spanOf } from './http-server';
import { CHANNELS } from './channels';
import { Subscribers } from './subscribers';
import type { TwSpan } from '../span';

interface KoaContext {
  req?: IncomingMessage;
  _matchedRoute?: unknown;
}
type Middleware = (this: unknown, ctx: KoaContext, next: unknown) => unknown;
interface ErrorMessage {
  ctx: KoaContext;
  error: unknown;
}

const settledChannel = dc.channel(CHANNELS.koaSettled);
const errorChannel = dc.channel(CHANNELS.koaError);
const kWrapped = Symbol('tracewell.koaMiddleware');

// --- the patch: publishes, makes no span ---

function publishError(ctx: KoaContext, error: unknown): void {
  if (errorChannel.hasSubscribers) errorChannel.publish({ ctx, error } satisfies ErrorMessage);
}

function wrapMiddleware(fn: Middleware, outermost: boolean): Middleware {
  // The outermost middleware (the first `use()`d) settles last, just before Koa responds:
  // its wrapper also publishes the settled context, for the span's name.
  const onOk = (ctx: KoaContext, v: unknown): unknown => {
    if (settledChannel.hasSubscribers) settledChannel.publish(ctx);
    return v;
  };
  const wrapped = function (this: unknown, ctx: KoaContext, next: unknown): unknown {
    if (!errorChannel.hasSubscribers) return fn.call(this, ctx, next);
    let res: unknown;
    try {
      res = fn.call(this, ctx, next);
    } catch (err) {
      if (outermost && settledChannel.hasSubscribers) settledChannel.publish(ctx);
      publishError(ctx, err);
      throw err;
    }
    if (res instanceof Promise) {
      const onErr = (err: unknown): never => {
        if (outermost && settledChannel.hasSubscribers) settledChannel.publish(ctx);
        publishError(ctx, err);
        throw err;
      };
      return outermost ? res.then((v) => onOk(ctx, v), onErr) : res.catch(onErr);
    }
    if (outermost) onOk(ctx, res);
    return res;
  };
  Object.defineProperty(wrapped, kWrapped, { value: true });
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  // koa-compose and Koa's own debug output read `_name`.
  if ((fn as { _name?: unknown })._name !== undefined) (wrapped as { _name?: unknown })._name = (fn as { _name?: unknown })._name;
  return wrapped;
}

function wrapUse(original: (this: unknown, fn: unknown) => unknown) {
  return function use(this: { middleware?: unknown[] }, fn: unknown): unknown {
    if (typeof fn === 'function' && !(fn as unknown as Record<symbol, unknown>)[kWrapped]) {
      const outermost = Array.isArray(this.middleware) && this.middleware.length === 0;
      fn = wrapMiddleware(fn as Middleware, outermost);
    }
    return original.call(this, fn);
  };
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  addPatcher({
    name: 'koa',
    matches: (exp: any) =>
      typeof exp === 'function' &&
      typeof exp.prototype?.handleRequest === 'function' &&
      typeof exp.prototype.createContext === 'function' &&
      typeof exp.prototype.use === 'function' &&
      typeof exp.prototype.callback === 'function',
    patch: (exp: any) => wrapMethod(exp.prototype, 'use', wrapUse),
  });
}

// --- the subscribers: decorate the server span ---

/** The span name of each route, for the last method seen on it (most routes serve one), built once; bounded, routes are few. */
const names = new Map<string, { method: string; name: string }>();

function onSettled(ctx: KoaContext): void {
  const route = ctx._matchedRoute;
  const req = ctx.req;
  if (typeof route !== 'string' || req === undefined) return;
  const span = spanOf(req);
  if (span === undefined) return;
  const known = names.get(route);
  if (known === undefined || known.method !== span.httpMethod) {
    setRoute(span, route, 'koa');
    if (known !== undefined) {
      known.method = span.httpMethod;
      known.name = span.name;
    } else if (names.size < 1000) {
      names.set(route, { method: span.httpMethod, name: span.name });
    }
    return;
  }
  span.httpRoute = route;
  span.name = known.name;
  span.component = 'koa';
}

/** The error last recorded on each span: one error passes through every middleware around it. */
const recorded = new WeakMap<TwSpan, unknown>();

function onError(m: ErrorMessage): void {
  const req = m.ctx?.req;
  const span = req === undefined ? undefined : spanOf(req);
  if (span === undefined || recorded.get(span) === m.error) return;
  recorded.set(span, m.error);
  span.recordException(m.error as Error);
}

const subscribers = new Subscribers('koa').add(CHANNELS.koaSettled, onSettled).add(CHANNELS.koaError, onError);

export function enableKoa(): void {
  register();
  subscribers.enable();
}

export function disableKoa(): void {
  subscribers.disable();
}

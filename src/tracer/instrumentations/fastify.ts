/**
 * Fastify 4 and 5: on `fastify.initialization` each new instance gets an `onRoute` hook that
 * wraps every route's handler once, at registration, with the route's name precomputed; the
 * wrapper names the server span (`GET /users/:id`) for the price of one property read. No
 * per-request hook is added: an `onRequest` hook would switch every request onto Fastify's
 * hook runner. An `onError` hook (run only on errors) records what was thrown, and names the
 * span when an error happened before the handler ran.
 */
import dc = require('node:diagnostics_channel');
import type { IncomingMessage } from 'node:http';
import { CHANNELS } from './channels';
import { spanOf } from './http-server';
import { counters } from '../../internal/counters';

interface FastifyRequest {
  raw: IncomingMessage;
  method?: string;
  routeOptions?: { url?: string };
  routerPath?: string;
}
type Done = () => void;
type Handler = (this: unknown, request: FastifyRequest, reply: unknown) => unknown;
interface RouteOptions {
  url?: string;
  path?: string;
  method?: string | string[];
  handler?: Handler;
  prefix?: string;
}
interface FastifyInstance {
  addHook(name: string, fn: (...args: any[]) => void): unknown;
}

const kWrapped = Symbol('tracewell.fastifyHandler');

function wrapHandler(handler: Handler, route: string): Handler {
  // The span name per method, built once: a route may serve several methods.
  const names = new Map<string, string>();
  const wrapped = function (this: unknown, request: FastifyRequest, reply: unknown): unknown {
    const span = spanOf(request.raw);
    if (span !== undefined) {
      span.httpRoute = route;
      span.component = 'fastify';
      const method = span.httpMethod;
      let name = names.get(method);
      if (name === undefined) {
        name = method + ' ' + route;
        if (names.size < 16) names.set(method, name);
      }
      span.name = name;
    }
    return handler.call(this, request, reply);
  };
  Object.defineProperty(wrapped, kWrapped, { value: true });
  Object.defineProperty(wrapped, 'name', { value: handler.name });
  return wrapped;
}

function onRoute(routeOptions: RouteOptions): void {
  try {
    const handler = routeOptions.handler;
    const route = routeOptions.url ?? routeOptions.path;
    if (typeof handler !== 'function' || typeof route !== 'string' || (handler as unknown as Record<symbol, unknown>)[kWrapped]) return;
    routeOptions.handler = wrapHandler(handler, route);
  } catch {
    counters.instrumentationErrors++;
  }
}

function onError(request: FastifyRequest, _reply: unknown, error: unknown, done: Done): void {
  try {
    const span = spanOf(request.raw);
    if (span !== undefined) {
      span.recordException(error as Error);
      if (span.httpRoute === '') {
        const route = request.routeOptions?.url ?? request.routerPath;
        span.component = 'fastify';
        if (route) {
          span.httpRoute = route;
          span.name = span.httpMethod + ' ' + route;
        }
      }
    }
  } catch {
    counters.instrumentationErrors++;
  }
  done();
}

function onInit(message: unknown): void {
  try {
    const fastify = (message as { fastify: FastifyInstance }).fastify;
    fastify.addHook('onRoute', onRoute);
    fastify.addHook('onError', onError);
  } catch {
    counters.instrumentationErrors++;
  }
}

let enabled = false;

export function enableFastify(): void {
  if (enabled) return;
  enabled = true;
  dc.subscribe(CHANNELS.fastifyInitialization, onInit);
}

export function disableFastify(): void {
  if (!enabled) return;
  enabled = false;
  dc.unsubscribe(CHANNELS.fastifyInitialization, onInit);
}

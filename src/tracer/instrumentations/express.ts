/**
 * Express 4 and 5: `Route.prototype.dispatch` runs when a route matched, so the template is
 * `req.baseUrl + route.path` (mount points included). Errors passed on by the route's
 * handlers are recorded; the span is marked an error only when the answer is a 5xx.
 */
import type { IncomingMessage } from 'node:http';
import { addPatcher, wrapMethod } from './module-hook';
import { spanOf } from './http-server';
import { counters } from '../../internal/counters';

interface ExpressRoute {
  path: string | RegExp | (string | RegExp)[];
}
type ExpressRequest = IncomingMessage & { baseUrl?: string };

function routePath(path: ExpressRoute['path']): string {
  if (typeof path === 'string') return path;
  if (Array.isArray(path)) return path.map((p) => String(p)).join('|');
  return String(path);
}

/**
 * The mount path and the route's own path. Express 5 matches a route path without a leading
 * slash (`*path`, as NestJS's not-found route under a global prefix is written) as if it had
 * one, so `/api` + `*path` is `/api/*path`.
 */
function joinPath(base: string, path: string): string {
  if (base === '' || path.charCodeAt(0) === 47 /* / */) return base + path;
  return base + '/' + path;
}

let active = false;

/**
 * A route's template and span name for the last mount path and method it served, kept on the
 * Route: built once per route, not per request. The same strings each time also let the
 * encoder find its cached template by identity (a string built per request is hashed anew).
 */
const kNames = Symbol('tracewell.expressNames');
interface RouteNames {
  path: ExpressRoute['path'];
  base: string;
  method: string;
  route: string;
  name: string;
}
type NamedRoute = ExpressRoute & { [kNames]?: RouteNames };

function routeNames(self: NamedRoute, base: string, method: string): RouteNames {
  let names = self[kNames];
  if (names === undefined || names.base !== base || names.method !== method || names.path !== self.path) {
    const route = joinPath(base, routePath(self.path));
    names = { path: self.path, base, method, route, name: method + ' ' + route };
    self[kNames] = names;
  }
  return names;
}

function wrapDispatch(original: (this: ExpressRoute, req: ExpressRequest, res: unknown, done: (err?: unknown) => void) => void) {
  return function dispatch(this: ExpressRoute, req: ExpressRequest, res: unknown, done: (err?: unknown) => void): void {
    const span = active ? spanOf(req) : undefined;
    if (span === undefined) return original.call(this, req, res, done);
    try {
      const names = routeNames(this, req.baseUrl ?? '', span.httpMethod);
      span.httpRoute = names.route;
      span.name = names.name;
      span.component = 'express';
    } catch {
      counters.instrumentationErrors++;
    }
    return original.call(this, req, res, function next(this: unknown, err?: unknown) {
      if (err !== undefined && err !== null && err !== 'route' && err !== 'router') {
        try {
          span.recordException(err as Error);
        } catch {
          counters.instrumentationErrors++;
        }
      }
      // Express's `next` with whatever it was called with (`arguments`: once per route, nothing allocated).
      return done.apply(this, arguments as unknown as [unknown]);
    });
  };
}

let registered = false;

export function enableExpress(): void {
  active = true;
  if (registered) return;
  registered = true;
  addPatcher({
    name: 'express',
    matches: (exp: any) =>
      typeof exp === 'function' && typeof exp.Route === 'function' && typeof exp.Router === 'function' && typeof exp.application === 'object',
    patch: (exp: any) => wrapMethod(exp.Route.prototype, 'dispatch', wrapDispatch),
  });
}

export function disableExpress(): void {
  active = false;
}

/**
 * Fastify 4 and 5: on `fastify.initialization` each new instance gets an `onRequest` hook
 * that names the server span after the route template and an `onError` hook that records
 * what a handler threw. The span itself comes from the HTTP server integration.
 */
import dc = require('node:diagnostics_channel');
import type { IncomingMessage } from 'node:http';
import { CHANNELS } from './channels';
import { setRoute, spanOf } from './http-server';
import { counters } from '../../internal/counters';

interface FastifyRequest {
  raw: IncomingMessage;
  routeOptions?: { url?: string };
  routerPath?: string;
}
type Done = () => void;
interface FastifyInstance {
  addHook(name: string, fn: (...args: any[]) => void): unknown;
}

function onRequest(request: FastifyRequest, _reply: unknown, done: Done): void {
  try {
    const span = spanOf(request.raw);
    if (span !== undefined) {
      const route = request.routeOptions?.url ?? request.routerPath;
      if (route) setRoute(span, route, 'fastify');
      else span.component = 'fastify';
    }
  } catch {
    counters.instrumentationErrors++;
  }
  done();
}

function onError(request: FastifyRequest, _reply: unknown, error: unknown, done: Done): void {
  try {
    spanOf(request.raw)?.recordException(error as Error);
  } catch {
    counters.instrumentationErrors++;
  }
  done();
}

function onInit(message: unknown): void {
  try {
    const fastify = (message as { fastify: FastifyInstance }).fastify;
    fastify.addHook('onRequest', onRequest);
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

/**
 * NestJS (12, ES modules only; 10 and 11 are CommonJS and have the same `ExceptionsHandler`),
 * on Express or Fastify. Routes are named
 * by the adapter's own integration; this one adds what Nest's exception layer swallows: every
 * exception that reaches `ExceptionsHandler#next` (the built-in filter or a user's exception
 * filter then answers) is published on `tracewell:nestjs.exception`, and the subscriber
 * records it on the request's server span (type, message, stack). Whether the span is an
 * error follows the status sent, as for the adapters' own answers: a 4xx `HttpException` is
 * recorded but is not a server error. Guards, interceptors and pipes get no spans.
 */
import dc = require('node:diagnostics_channel');
import type { IncomingMessage } from 'node:http';
import { addPatcher, wrapMethod } from './module-hook';
import { spanOf } from './http-server';
import { CHANNELS } from './channels';
import { Subscribers } from './subscribers';

/** Nest's `ArgumentsHost`, as much as we read of it. */
interface ArgumentsHost {
  getType?(): string;
  getArgByIndex?(i: number): unknown;
}
interface ExceptionMessage {
  exception: unknown;
  host: ArgumentsHost;
}

const exceptionChannel = dc.channel(CHANNELS.nestjsException);

// --- the patch: publishes, makes no span ---

function wrapNext(original: (this: unknown, exception: unknown, host: ArgumentsHost) => unknown) {
  return function next(this: unknown, exception: unknown, host: ArgumentsHost): unknown {
    if (exceptionChannel.hasSubscribers) exceptionChannel.publish({ exception, host } satisfies ExceptionMessage);
    return original.apply(this, arguments as unknown as [unknown, ArgumentsHost]);
  };
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  addPatcher({
    name: 'nestjs',
    esm: true,
    matches: (exp: any) =>
      typeof exp.ExceptionsHandler === 'function' &&
      typeof exp.ExceptionsHandler.prototype?.next === 'function' &&
      typeof exp.ExceptionsHandler.prototype.invokeCustomFilters === 'function',
    patch: (exp: any) => wrapMethod(exp.ExceptionsHandler.prototype, 'next', wrapNext),
  });
}

// --- the subscriber: decorates the server span ---

function onException(m: ExceptionMessage): void {
  const host = m.host;
  if (typeof host?.getType === 'function' && host.getType() !== 'http') return;
  const req = typeof host?.getArgByIndex === 'function' ? (host.getArgByIndex(0) as (IncomingMessage & { raw?: IncomingMessage }) | undefined) : undefined;
  if (req === undefined || req === null) return;
  // Express hands Nest the IncomingMessage; Fastify its request, with the IncomingMessage as `raw`.
  const span = spanOf(req.raw ?? req);
  if (span === undefined) return;
  span.recordException(m.exception as Error);
}

const subscribers = new Subscribers('nestjs').add(CHANNELS.nestjsException, onException);

export function enableNestjs(): void {
  register();
  subscribers.enable();
}

export function disableNestjs(): void {
  subscribers.disable();
}

/**
 * node-redis (`redis` 4 and 5, i.e. `@redis/client` 1 and 5): one `redis.command` span per
 * command, single, in `multi()` transactions and pipelines (`execAsPipeline`).
 *
 * Every command of a client, whatever API sent it, is added to the client's command queue
 * (`RedisCommandsQueue#addCommand(args)`), synchronously in the caller's context; the queue
 * hands back the promise the reply settles. The patch (first half) publishes the command there
 * on `CHANNELS.redisCommandStart` and, when the promise settles, on
 * `CHANNELS.redisCommandFinish`. A queue does not know its server: the patch remembers the
 * socket options each client was made with, by noting the queue a client constructor makes
 * and the socket it makes right after (both classes are read from their modules when a client
 * is built, so the patch puts a subclass there that notes them). Commands the client sends by
 * itself while connecting (`asap`: SELECT, HELLO, CLIENT SETINFO...) are not published.
 * With nobody subscribed, the patch calls through and does nothing else.
 *
 * The subscriber (second half) makes the spans (redis-command.ts). If it fails, the
 * integration turns itself off with one message; commands run on untouched.
 */
import dc = require('node:diagnostics_channel');
import type { TracerCore } from '../tracer';
import { addPatcher, wrapMethod } from './module-hook';
import { CHANNELS, type RedisCommandMessage } from './channels';
import { redisSubscriber, startRedisSpan, type RedisEndpoint } from './redis-command';
import { counters } from '../../internal/counters';

// ---------------- the patch: publishes, knows nothing of spans ----------------

const startChannel = dc.channel(CHANNELS.redisCommandStart);
const finishChannel = dc.channel(CHANNELS.redisCommandFinish);

/** On a queue: the socket options of the client that made it. */
const kSocket = Symbol('tracewell.redis.socketOptions');
/** The queue a client constructor made last, until it makes its socket. */
let lastQueue: object | null = null;

type Ctor = new (...args: any[]) => object;

function wrapAddCommand(original: (this: object, args: unknown[], options?: { asap?: boolean }) => Promise<unknown>) {
  return function addCommand(this: { [kSocket]?: unknown }, args: unknown[], options?: { asap?: boolean }): Promise<unknown> {
    const promise = original.call(this, args, options);
    if (!startChannel.hasSubscribers || !Array.isArray(args) || args.length === 0 || options?.asap === true) return promise;
    const message: RedisCommandMessage = { socketOptions: this[kSocket], args, error: undefined, state: undefined };
    startChannel.publish(message);
    if (message.state !== undefined && promise !== null && typeof promise === 'object' && typeof promise.then === 'function') {
      promise.then(
        () => finishChannel.publish(message),
        (err: unknown) => {
          message.error = err;
          finishChannel.publish(message);
        },
      );
    }
    return promise;
  };
}

/** A subclass that notes each instance, under the original's name and statics. */
function noting(Original: Ctor, onMade: (instance: object, args: unknown[]) => void): Ctor {
  const Noted = class extends Original {
    constructor(...args: any[]) {
      super(...args);
      try {
        onMade(this, args);
      } catch {
        counters.instrumentationErrors++;
      }
    }
  };
  Object.defineProperty(Noted, 'name', { value: Original.name });
  return Noted;
}

function patchQueueModule(exp: { default: Ctor }): void {
  wrapMethod(exp.default.prototype, 'addCommand', wrapAddCommand);
  exp.default = noting(exp.default, (queue) => {
    lastQueue = queue;
  });
}

function patchSocketModule(exp: { default: Ctor }): void {
  exp.default = noting(exp.default, (_socket, args) => {
    const queue = lastQueue;
    lastQueue = null;
    // new RedisSocket(initiator, options) in v4, (initiator, clientId, options) in v5.
    if (queue !== null) Object.defineProperty(queue, kSocket, { value: args[args.length - 1] ?? null });
  });
}

// ---------------- the subscriber: makes the spans ----------------

const endpoints = new WeakMap<object, RedisEndpoint | null>();
const DEFAULT_ENDPOINT: RedisEndpoint = { host: 'localhost', port: 6379, db: -1, dbText: '' };

/** Host and port from a client's socket options, read once per client. */
function endpointOf(options: unknown): RedisEndpoint | null {
  if (options === undefined) return null;
  if (options === null || typeof options !== 'object') return DEFAULT_ENDPOINT;
  let e = endpoints.get(options);
  if (e !== undefined) return e;
  const o = options as { host?: unknown; port?: unknown; path?: unknown };
  e = typeof o.path === 'string' ? { host: o.path, port: 0, db: -1, dbText: '' } : { host: typeof o.host === 'string' ? o.host : 'localhost', port: typeof o.port === 'number' ? o.port : Number(o.port) || 6379, db: -1, dbText: '' };
  endpoints.set(options, e);
  return e;
}

const subscriber = redisSubscriber<RedisCommandMessage>('redis (node-redis)', { start: CHANNELS.redisCommandStart, finish: CHANNELS.redisCommandFinish }, (c, m, raw) => {
  const args = m.args;
  return startRedisSpan(c, 'redis', typeof args[0] === 'string' ? args[0] : String(args[0]), args, 1, endpointOf(m.socketOptions), raw);
});

let registered = false;

export function enableRedis(c: TracerCore, options: { rawCommands: boolean }): void {
  subscriber.enable(c, options.rawCommands);
  if (registered) return;
  registered = true;
  const proto = (exp: any): any => (exp !== null && typeof exp === 'object' && typeof exp.default === 'function' ? exp.default.prototype : undefined);
  addPatcher({
    name: '@redis/client command queue',
    matches: (exp: any) => {
      const p = proto(exp);
      return p !== undefined && typeof p.addCommand === 'function' && typeof p.getPubSubListeners === 'function' && typeof p.flushWaitingForReply === 'function';
    },
    patch: patchQueueModule,
  });
  addPatcher({
    name: '@redis/client socket',
    matches: (exp: any) => {
      const p = proto(exp);
      return p !== undefined && typeof p.connect === 'function' && typeof p.quit === 'function' && typeof p.unref === 'function' && (typeof p.writeCommand === 'function' || typeof p.write === 'function') && Object.getOwnPropertyDescriptor(p, 'isReady') !== undefined;
    },
    patch: patchSocketModule,
  });
}

export function disableRedis(): void {
  subscriber.disable();
}

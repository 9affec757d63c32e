/**
 * ioredis 4 and 5: one `redis.command` span per command, single, pipelined (explicit or
 * auto-pipelined), in `multi` transactions, and on a Cluster.
 *
 * The patch (first half) only publishes: when a command is handed to a client
 * (`Redis#sendCommand`, `Cluster#sendCommand`) or queued in a pipeline (`Pipeline#sendCommand`,
 * which is also where `multi` and auto-pipelining queue theirs), it publishes the command on
 * `CHANNELS.ioredisCommandStart`, in the caller's context, and when the command settles, on
 * `CHANNELS.ioredisCommandFinish`. A command is published once, however many times it is
 * handed on (pipeline -> client, cluster -> node, offline queue -> client). With nobody
 * subscribed, the patch calls through and does nothing else.
 *
 * The subscriber (second half) makes the spans. If it fails, the integration turns itself
 * off with one message; the command runs on untouched.
 */
import dc = require('node:diagnostics_channel');
import type { TracerCore } from '../tracer';
import { addPatcher, wrapMethod } from './module-hook';
import { CHANNELS, type IoredisCommandMessage } from './channels';
import { redisSubscriber, setRedisEndpoint, startRedisSpan, type RedisEndpoint } from './redis-command';

// ---------------- the patch: publishes, knows nothing of spans ----------------

interface IoredisCommand {
  name: string;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

const kMessage = Symbol('tracewell.ioredis.message');

/** The patch's message, with the command's own resolve and reject it stands in for. */
interface Published extends IoredisCommandMessage {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Marked = IoredisCommand & { [kMessage]?: Published };

const startChannel = dc.channel(CHANNELS.ioredisCommandStart);
const finishChannel = dc.channel(CHANNELS.ioredisCommandFinish);

/*
 * A published command's resolve and reject are these two shared functions (no closures per
 * command): ioredis calls them as methods of the command (`command.resolve(reply)`,
 * `reject.call(command, err)` in Cluster), so `this` finds the message, and through it the
 * command's own functions. Called any other way, they cannot know the command: a rule ioredis 4
 * and 5 keep, and which the Cluster and auto-pipelining tests exercise.
 */
function resolveTraced(this: Marked, value: unknown): unknown {
  const message = this[kMessage]!;
  finishChannel.publish(message);
  return message.resolve.call(this, value);
}

function rejectTraced(this: Marked, err: unknown): unknown {
  const message = this[kMessage]!;
  message.error = err;
  finishChannel.publish(message);
  return message.reject.call(this, err);
}

/** Publishes the command's start, and its end from its resolve/reject (which every outcome passes). */
function publish(client: unknown, command: Marked): void {
  const resolve = command.resolve;
  const reject = command.reject;
  const message: Published = { client, name: command.name, args: command.args, node: undefined, error: undefined, state: undefined, resolve, reject };
  command[kMessage] = message;
  startChannel.publish(message);
  if (typeof resolve !== 'function' || typeof reject !== 'function') return;
  command.resolve = resolveTraced;
  command.reject = rejectTraced;
}

/** What ioredis sends by itself while a connection is being set up (status `connect`): not the app's commands. */
const HANDSHAKE = new Set(['auth', 'select', 'client', 'info', 'readonly', 'hello', 'AUTH', 'SELECT', 'CLIENT', 'INFO', 'READONLY', 'HELLO']);

function wrapSend(original: (this: unknown, command: Marked, ...rest: unknown[]) => unknown) {
  return function sendCommand(this: { redis?: unknown; status?: string }, command: Marked): unknown {
    if (startChannel.hasSubscribers && command !== null && typeof command === 'object') {
      const message = command[kMessage];
      if (message === undefined) {
        // A pipeline's commands belong to its client.
        if (!(this.status === 'connect' && HANDSHAKE.has(command.name))) publish(this.redis !== undefined ? this.redis : this, command);
      } else if (this.redis === undefined && this !== message.client) {
        // Handed on to another connection (a Cluster's node): the one that answers, last.
        message.node = this;
      }
    }
    // sendCommand(command, stream[, node]), as the caller gave them.
    return original.apply(this, arguments as unknown as [Marked]);
  };
}

function patchIoredis(Redis: { prototype: object; Cluster?: unknown; Pipeline?: unknown }): void {
  wrapMethod(Redis.prototype, 'sendCommand', wrapSend);
  if (typeof Redis.Cluster === 'function') wrapMethod((Redis.Cluster as { prototype: object }).prototype, 'sendCommand', wrapSend);
  if (typeof Redis.Pipeline === 'function') wrapMethod((Redis.Pipeline as { prototype: object }).prototype, 'sendCommand', wrapSend);
}

// ---------------- the subscriber: makes the spans ----------------

const kEndpoint = Symbol('tracewell.ioredis.endpoint');

interface ClientLike {
  options?: { host?: string; port?: number; db?: number; path?: string };
  [kEndpoint]?: RedisEndpoint | null;
}

/** Host, port and database of a client, read once per client (a Cluster has none of its own). */
function endpointOf(client: ClientLike): RedisEndpoint | null {
  let e = client[kEndpoint];
  if (e !== undefined) return e;
  const o = client.options;
  if (o !== undefined && (typeof o.host === 'string' || typeof o.path === 'string')) {
    const db = typeof o.db === 'number' ? o.db : 0;
    e = { host: o.path ?? o.host ?? '', port: o.path === undefined ? (o.port ?? 6379) : 0, db, dbText: String(db) };
  } else {
    e = null;
  }
  try {
    Object.defineProperty(client, kEndpoint, { value: e, configurable: true });
  } catch {
    // A frozen client: read again next time.
  }
  return e;
}

const subscriber = redisSubscriber<IoredisCommandMessage>(
  'ioredis',
  { start: CHANNELS.ioredisCommandStart, finish: CHANNELS.ioredisCommandFinish },
  (c, m, raw) => startRedisSpan(c, 'ioredis', m.name, m.args, 0, endpointOf(m.client as ClientLike), raw),
  // A Cluster has no host of its own: its command spans get the node's.
  (span, m) => {
    if (span.peerHost === '' && m.node !== undefined && m.node !== null && typeof m.node === 'object') {
      const e = endpointOf(m.node as ClientLike);
      if (e !== null) setRedisEndpoint(span, e);
    }
  },
);

let registered = false;

export function enableIoredis(c: TracerCore, options: { rawCommands: boolean }): void {
  subscriber.enable(c, options.rawCommands);
  if (registered) return;
  registered = true;
  addPatcher({
    name: 'ioredis',
    matches: (exp: any) =>
      typeof exp === 'function' &&
      typeof exp.prototype?.sendCommand === 'function' &&
      typeof exp.Command === 'function' &&
      typeof exp.Command.prototype?.toWritable === 'function' &&
      typeof exp.Pipeline === 'function',
    patch: patchIoredis,
  });
}

/** No new spans; those already started still finish. */
export function disableIoredis(): void {
  subscriber.disable();
}

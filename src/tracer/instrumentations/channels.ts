/**
 * Every diagnostics_channel name Tracewell listens to, in one place. Node, Fastify and undici
 * publish on these; we subscribe only to what an enabled integration needs, so a disabled
 * integration costs nothing.
 */
import type { AsyncResource } from 'node:async_hooks';

export const CHANNELS = {
  /** Node: `{ request, error }`. */
  httpClientRequestError: 'http.client.request.error',
  /** Node: `{ request, response }`, when the response body has ended. */
  httpClientResponseFinish: 'http.client.response.finish',
  /** Fastify 4 and 5: `{ fastify }`, when an instance is created. */
  fastifyInitialization: 'fastify.initialization',
  /** undici (and so global fetch): `{ request }`; headers can still be added. */
  undiciRequestCreate: 'undici:request:create',
  /** undici: `{ request, response: { statusCode, headers } }`. */
  undiciRequestHeaders: 'undici:request:headers',
  /** undici: `{ request }`, when the response body has ended. */
  undiciRequestTrailers: 'undici:request:trailers',
  /** undici: `{ request, error }`. */
  undiciRequestError: 'undici:request:error',
  /** Our ioredis patch: an `IoredisCommandMessage`, in the caller's context, when a command is sent or queued. */
  ioredisCommandStart: 'tracewell:ioredis:command:start',
  /** Our ioredis patch: the same message (with `error` when it failed), when the command settled. */
  ioredisCommandFinish: 'tracewell:ioredis:command:finish',
  /** Our node-redis patch: a `RedisCommandMessage`, in the caller's context, when a command is queued. */
  redisCommandStart: 'tracewell:redis:command:start',
  /** Our node-redis patch: the same message (with `error` when it failed), when the command settled. */
  redisCommandFinish: 'tracewell:redis:command:finish',
  /** Our amqplib patch: an `AmqpPublishMessage`, in the caller's context, before a message is published; headers can still be added. */
  amqplibPublishStart: 'tracewell:amqplib:publish:start',
  /** Our amqplib patch: the same message, once the publish was written (or failed); on a confirm channel with a callback, once the broker confirmed it (or it failed: `error`). */
  amqplibPublishFinish: 'tracewell:amqplib:publish:finish',
  /** Our amqplib patch: an `AmqpGetMessage`, in the caller's context, when `channel.get(queue)` (basic.get) is called. */
  amqplibGetStart: 'tracewell:amqplib:get:start',
  /** Our amqplib patch: the same message, with the message got (or false) or the error, once the get answered. */
  amqplibGetFinish: 'tracewell:amqplib:get:finish',
  /** Our amqplib patch: an `AmqpDeliverMessage`, before a consumer's callback runs with a delivered message. */
  amqplibDeliverStart: 'tracewell:amqplib:deliver:start',
  /** Our amqplib patch: the same message (with `error` if the callback threw), once the callback returned. */
  amqplibDeliverFinish: 'tracewell:amqplib:deliver:finish',
  /** Ours (nestjs.ts): `{ exception, host }`, an exception Nest's exception layer is about to answer. */
  nestjsException: 'tracewell:nestjs.exception',
  /** Ours (hono.ts): a Hono handler or middleware starts (its route, the context). */
  honoHandler: 'tracewell:hono.handler',
  /** Ours (hono.ts): `{ c, error }`, what a Hono handler or middleware threw. */
  honoError: 'tracewell:hono.error',
  /** Ours (koa.ts): a Koa context, when its middleware chain settled (before Koa responds). */
  koaSettled: 'tracewell:koa.settled',
  /** Ours (koa.ts): `{ ctx, error }`, what a Koa middleware threw or rejected with. */
  koaError: 'tracewell:koa.error',
  /** Ours (graphql.ts), a tracing channel: `{ args, span?, result?, error? }` around graphql's `execute`. */
  graphqlExecute: 'tracewell:graphql.execute',
  graphqlExecuteEnd: 'tracing:tracewell:graphql.execute:end',
  graphqlExecuteAsyncEnd: 'tracing:tracewell:graphql.execute:asyncEnd',
  graphqlExecuteError: 'tracing:tracewell:graphql.execute:error',
  /** Ours (esm-mark.ts): an ES module's namespace, published once it has run. */
  esmLoaded: 'tracewell:esm.loaded',
} as const;

/** What our ioredis patch publishes: the command and the client (a `Redis` or a `Cluster`) it was given to. */
export interface IoredisCommandMessage {
  readonly client: unknown;
  /** The command name as the client has it (`get`). */
  readonly name: string;
  /** The arguments after the name (strings, Buffers, numbers). */
  readonly args: unknown[];
  /** The connection the command was last handed on to (a Cluster's node), if it was. */
  node: unknown;
  /** Set before the finish event when the command failed. */
  error: unknown;
  /** The subscriber's own (the span). */
  state: unknown;
}

/** What our amqplib patch publishes for a message about to be published. */
export interface AmqpPublishMessage {
  /** The amqplib channel. */
  readonly channel: unknown;
  readonly fields: { exchange?: string; routingKey?: string };
  /** The message properties; `headers` may be added to (they are written after the start event). */
  readonly properties: { headers?: Record<string, unknown> | null };
  /** Set before the finish event when writing threw. */
  error: unknown;
  /** The subscriber's own (the span). */
  state: unknown;
}

/** What our amqplib patch publishes for a `channel.get(queue)` (basic.get). */
export interface AmqpGetMessage {
  /** The amqplib channel. */
  readonly channel: unknown;
  readonly queue: string;
  /** Set before the finish event: the message got, or false when the queue was empty. */
  message: false | { fields?: { exchange?: string; routingKey?: string; redelivered?: boolean; messageCount?: number }; properties?: { headers?: Record<string, unknown> | null } } | undefined;
  /** Set before the finish event when the get failed. */
  error: unknown;
  /** The subscriber's own (the span). */
  state: unknown;
}

/** What our amqplib patch publishes for a message delivered to a consumer. */
export interface AmqpDeliverMessage {
  /** The amqplib channel. */
  readonly channel: unknown;
  /** The message as the consumer callback gets it. */
  readonly message: {
    fields?: { exchange?: string; routingKey?: string; consumerTag?: string; redelivered?: boolean };
    properties?: { headers?: Record<string, unknown> | null };
  };
  /** Set before the finish event when the callback threw or its promise rejected. */
  error: unknown;
  /** The subscriber's own (the span). */
  state: unknown;
}

/** What our node-redis patch publishes: a command as the client queued it. */
export interface RedisCommandMessage {
  /** The socket options of the client (host and port, or path); undefined when not known. */
  readonly socketOptions: unknown;
  /** The command name then its arguments (strings or Buffers). */
  readonly args: unknown[];
  /** Set before the finish event when the command failed. */
  error: unknown;
  /** The subscriber's own (the span). */
  state: unknown;
}

/**
 * Channels our own library patches publish on (pg.ts, mysql2.ts), read by sql.ts. Each patch
 * checks `hasSubscribers` on `start` first: with tracing off it calls the library straight through.
 */
export const SQL_CHANNELS = {
  pg: {
    /** `SqlQuery`, before the statement is handed to the driver; the subscriber may set `send`. */
    start: 'tracewell:pg:query:start',
    /** `SqlQuery` with `error` set on failure, once, when the driver reports the outcome. */
    finish: 'tracewell:pg:query:finish',
  },
  mysql2: {
    start: 'tracewell:mysql2:query:start',
    finish: 'tracewell:mysql2:query:finish',
  },
} as const;

/** One statement sent by a driver, as its patch publishes it. */
export interface SqlQuery {
  /** The statement as the app wrote it (before a driver substitutes values into it). */
  readonly text: string;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly database: string | undefined;
  readonly user: string | undefined;
  /** The driver's connection settings object (the same for every statement of a connection): what per-target tags are cached by. */
  readonly conn: object | undefined;
  /** A named (pg) or `execute`d (mysql2) prepared statement: its text must stay the same every call. */
  readonly prepared: boolean;
  /** Set by the subscriber: the text to send instead (with the Database Monitoring comment). */
  send: string | undefined;
  /**
   * The patch's: the caller's async context, which the app's callbacks and events run in; null
   * when no code of the app's runs when the statement completes (a promise the driver resolves:
   * its `then` callbacks run in the context they were added in).
   */
  readonly caller: AsyncResource | null;
  /** Set by the subscriber: its span. */
  span: unknown;
  /** Set by the patch on failure. */
  error: unknown;
}

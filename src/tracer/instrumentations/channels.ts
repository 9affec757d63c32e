/**
 * Every diagnostics_channel name Tracewell listens to, in one place. Node, Fastify and undici
 * publish on these; we subscribe only to what an enabled integration needs, so a disabled
 * integration costs nothing.
 */
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
  /** Our amqplib patch: the same message, once the publish was written (or failed). */
  amqplibPublishFinish: 'tracewell:amqplib:publish:finish',
  /** Our amqplib patch: an `AmqpDeliverMessage`, before a consumer's callback runs with a delivered message. */
  amqplibDeliverStart: 'tracewell:amqplib:deliver:start',
  /** Our amqplib patch: the same message (with `error` if the callback threw), once the callback returned. */
  amqplibDeliverFinish: 'tracewell:amqplib:deliver:finish',
} as const;

/** What our ioredis patch publishes: the command and the client (a `Redis` or a `Cluster`) it was given to. */
export interface IoredisCommandMessage {
  readonly client: unknown;
  /** The command name as the client has it (`get`). */
  readonly name: string;
  /** The arguments after the name (strings, Buffers, numbers). */
  readonly args: unknown[];
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

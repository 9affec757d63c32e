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

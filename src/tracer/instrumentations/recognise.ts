/**
 * What tells that a library the integrations patch has just been loaded, from the shape of a
 * module's exports (as `module-hook.ts` sees them), without loading the integration itself.
 * `sdk.ts` loads and turns on an integration the first time one of these matches (its own
 * patchers then patch what is loaded), so an app pays start-up time only for the integrations
 * of libraries it uses. Each test is the union of the `matches` of that integration's
 * patchers (in its own file): a test here that is narrower than those would leave the library
 * untraced, so a change to a patcher's `matches` belongs here too. Cheap, never throwing (the
 * module hook catches anyway), run on every module's exports until the integration is on.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */

const fn = (v: unknown): boolean => typeof v === 'function';

export const recognise = {
  express: (exp: any): boolean => fn(exp) && fn(exp.Route) && fn(exp.Router) && typeof exp.application === 'object',
  /** Fastify's main export (4 and 5): the integration subscribes to its initialization channel before the first instance is made. */
  fastify: (exp: any): boolean => fn(exp) && fn(exp.fastify) && typeof exp.errorCodes === 'object' && exp.errorCodes !== null,
  nestjs: (exp: any): boolean => fn(exp.ExceptionsHandler) && fn(exp.ExceptionsHandler.prototype?.next) && fn(exp.ExceptionsHandler.prototype.invokeCustomFilters),
  hono: (exp: any): boolean =>
    ['SmartRouter', 'RegExpRouter', 'TrieRouter', 'PatternRouter', 'LinearRouter'].some((n) => fn(exp[n]) && fn(exp[n].prototype?.add) && fn(exp[n].prototype.match)),
  koa: (exp: any): boolean => fn(exp) && fn(exp.prototype?.handleRequest) && fn(exp.prototype.createContext) && fn(exp.prototype.use) && fn(exp.prototype.callback),
  graphql: (exp: any): boolean => fn(exp.execute) && fn(exp.buildExecutionContext) && fn(exp.defaultFieldResolver),
  grpc: (exp: any): boolean => typeof exp === 'object' && exp !== null && fn(exp.Server) && fn(exp.Client) && fn(exp.Channel) && fn(exp.Metadata) && typeof exp.status === 'object',
  ioredis: (exp: any): boolean => fn(exp) && fn(exp.prototype?.sendCommand) && fn(exp.Command) && fn(exp.Command.prototype?.toWritable) && fn(exp.Pipeline),
  /** node-redis: its command queue module or its socket module (`@redis/client`). */
  redis: (exp: any): boolean => {
    const p = exp !== null && typeof exp === 'object' && fn(exp.default) ? exp.default.prototype : undefined;
    if (p === undefined || p === null) return false;
    return (
      (fn(p.addCommand) && fn(p.getPubSubListeners) && fn(p.flushWaitingForReply)) ||
      (fn(p.connect) && fn(p.quit) && fn(p.unref) && (fn(p.writeCommand) || fn(p.write)) && Object.getOwnPropertyDescriptor(p, 'isReady') !== undefined)
    );
  },
  amqplib: (exp: any): boolean =>
    typeof exp === 'object' &&
    exp !== null &&
    fn(exp.BaseChannel) &&
    fn(exp.Channel) &&
    fn(exp.acceptMessage) &&
    fn(exp.Channel.prototype?.sendMessage) &&
    fn(exp.BaseChannel.prototype?.dispatchMessage),
  /** pg's Client or pg-pool's Pool. */
  pg: (exp: any): boolean =>
    fn(exp) &&
    ((fn(exp.Query) && fn(exp.prototype?.query) && fn(exp.prototype._pulseQueryQueue)) ||
      (fn(exp.prototype?.connect) && fn(exp.prototype._pulseQueue) && fn(exp.prototype.query))),
  /** mysql2's Connection or Pool. */
  mysql2: (exp: any): boolean =>
    fn(exp) &&
    ((fn(exp.createQuery) && fn(exp.prototype?.query) && fn(exp.prototype.execute) && fn(exp.prototype.addCommand)) ||
      (fn(exp.prototype?.getConnection) && fn(exp.prototype.releaseConnection) && fn(exp.prototype.query) && fn(exp.prototype.execute))),
  pino: (exp: any): boolean => fn(exp) && typeof exp.symbols === 'object' && exp.symbols !== null && typeof exp.symbols.asJsonSym === 'symbol',
  winston: (exp: any): boolean => typeof exp === 'object' && exp !== null && fn(exp.createLogger) && fn(exp.Logger) && fn(exp.format),
};

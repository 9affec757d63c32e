/**
 * What the ioredis and node-redis integrations share: the `redis.command` span and the
 * obfuscation of a command's arguments.
 *
 * Obfuscation follows the rules of the Datadog Agent's Redis obfuscator (which values of which
 * commands become `?`), applied here in the tracer so no value is ever encoded: `SET key ?`,
 * `HSET key field ?`, `AUTH ?`. Where the Agent keeps every argument of a command it has no
 * rule for, we keep only the first (the key, for nearly every command) and turn the rest into
 * `?`, unless the command is one whose arguments are all keys, numbers or keywords (`GET`,
 * `MGET`, `EXPIRE`, `LRANGE`...). The rule of a command name is looked up once and kept, so a
 * call costs one map read and one string join.
 */
import dc = require('node:diagnostics_channel');
import { now } from '../clock';
import { activeContext, isSuppressed } from '../context';
import type { TwSpan } from '../span';
import type { TracerCore } from '../tracer';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';
import { Codes } from '../../internal/errors';
import { KIND_CLIENT } from '../kinds';

/** How a command's arguments are obfuscated. */
const enum Rule {
  /** Every argument kept. */
  Keep,
  /** Nothing after the command: `AUTH ?`. */
  All,
  /** The first argument kept, the second becomes `?`, the rest are dropped: `LPUSH key ?`. */
  AfterFirst,
  /** Argument N (from 0) becomes `?`. */
  Nth,
  /** Every `step`th argument from `start + step - 1` becomes `?`. */
  Step,
  /** The first argument kept, every other one `?`. */
  Unknown,
  Config,
  Bitfield,
  Zadd,
}

interface CommandInfo {
  /** The command in upper case: the span's resource. */
  readonly resource: string;
  readonly rule: Rule;
  readonly n: number;
  readonly step: number;
  /**
   * The last one-argument command whose argument was kept (`GET key`): that argument and the
   * text made of it. The same key again gets the same string, which the encoder then finds
   * equal to the one before by identity, where a new string would be compared (and first
   * flattened, a call into the runtime) character by character. Hidden values are not kept.
   */
  lastArg: string;
  lastText: string;
}

const RULES = new Map<string, [Rule, number?, number?]>();
for (const c of ['AUTH', 'MIGRATE', 'HELLO']) RULES.set(c, [Rule.All]);
for (const c of ['ACL', 'GEOHASH', 'GEOPOS', 'GEODIST', 'LPUSH', 'RPUSH', 'SREM', 'ZREM', 'SADD']) RULES.set(c, [Rule.AfterFirst]);
for (const c of ['APPEND', 'GETSET', 'LPUSHX', 'GEORADIUSBYMEMBER', 'RPUSHX', 'SET', 'SETNX', 'SISMEMBER', 'ZRANK', 'ZREVRANK', 'ZSCORE']) RULES.set(c, [Rule.Nth, 1]);
for (const c of ['HSETNX', 'LREM', 'LSET', 'SETBIT', 'SETEX', 'PSETEX', 'SETRANGE', 'ZINCRBY', 'SMOVE', 'RESTORE']) RULES.set(c, [Rule.Nth, 2]);
RULES.set('LINSERT', [Rule.Nth, 3]);
RULES.set('GEOADD', [Rule.Step, 1, 3]);
for (const c of ['HMSET', 'HSET']) RULES.set(c, [Rule.Step, 1, 2]);
for (const c of ['MSET', 'MSETNX']) RULES.set(c, [Rule.Step, 0, 2]);
RULES.set('CONFIG', [Rule.Config]);
RULES.set('BITFIELD', [Rule.Bitfield]);
RULES.set('ZADD', [Rule.Zadd]);
// Commands whose arguments are keys, numbers, patterns or keywords: nothing to hide.
for (const c of (
  'GET MGET DEL UNLINK EXISTS TYPE TTL PTTL EXPIRE PEXPIRE EXPIREAT PEXPIREAT EXPIRETIME PERSIST TOUCH GETDEL GETEX STRLEN ' +
  'INCR DECR INCRBY DECRBY INCRBYFLOAT GETRANGE RENAME RENAMENX COPY DUMP OBJECT KEYS SCAN RANDOMKEY ' +
  'HGET HMGET HGETALL HDEL HEXISTS HKEYS HVALS HLEN HINCRBY HINCRBYFLOAT HSTRLEN HSCAN HRANDFIELD ' +
  'LLEN LRANGE LPOP RPOP LINDEX LTRIM LMOVE RPOPLPUSH BLPOP BRPOP BLMOVE BRPOPLPUSH LMPOP BLMPOP ' +
  'SCARD SMEMBERS SPOP SRANDMEMBER SINTER SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN ' +
  'ZCARD ZRANGE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZCOUNT ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZSCAN ' +
  'XLEN XRANGE XREVRANGE XREAD XREADGROUP XACK XDEL XTRIM XPENDING XINFO XGROUP PFCOUNT PFMERGE ' +
  'SELECT PING ECHO INFO DBSIZE TIME FLUSHDB FLUSHALL MULTI EXEC DISCARD WATCH UNWATCH QUIT RESET READONLY READWRITE ' +
  'CLIENT CLUSTER COMMAND ROLE WAIT SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE SSUBSCRIBE SUNSUBSCRIBE EVALSHA_RO SCRIPT FUNCTION'
).split(' ')) {
  RULES.set(c, [Rule.Keep]);
}

/** Per command name as the client spells it (`get`, `GET`, `hGetAll`...), its rule: built once. */
const infos = new Map<string, CommandInfo>();
/** Bound on `infos`: names come from the app's code, but a client also accepts any string. */
const MAX_INFOS = 1000;

function infoOf(name: string): CommandInfo {
  let info = infos.get(name);
  if (info !== undefined) return info;
  const resource = name.toUpperCase();
  const r = RULES.get(resource);
  info = r === undefined ? { resource, rule: Rule.Unknown, n: 0, step: 0, lastArg: '', lastText: '' } : { resource, rule: r[0], n: r[1] ?? 0, step: r[2] ?? 0, lastArg: '', lastText: '' };
  if (infos.size < MAX_INFOS) infos.set(name, info);
  return info;
}

/** Longest argument kept, and longest raw command (as dd-trace bounds them). */
const MAX_ARG = 100;
const MAX_COMMAND = 1000;

/** One argument as text: strings and numbers as given, Buffers decoded, long ones cut. */
function argText(a: unknown): string {
  let s: string;
  if (typeof a === 'string') s = a;
  else if (typeof a === 'number' || typeof a === 'bigint' || typeof a === 'boolean') return String(a);
  else if (a instanceof Uint8Array) s = Buffer.from(a.buffer, a.byteOffset, Math.min(a.byteLength, MAX_ARG + 1)).toString('utf8');
  else s = a === null || a === undefined ? '' : typeof a === 'object' ? '?' : String(a);
  return s.length > MAX_ARG ? s.slice(0, MAX_ARG) + '...' : s;
}

function upper(a: unknown): string {
  return typeof a === 'string' ? a.toUpperCase() : a instanceof Uint8Array ? Buffer.from(a).toString('latin1').toUpperCase() : '';
}

/** The last `rawCommand` replaced at least one value by `?`. */
let hidden = false;

/**
 * The command as `redis.raw_command`: `name` (as sent) then the arguments from `from` on, each
 * value the rule hides as `?`. `raw`: every value kept (the `redisRawCommands` option).
 */
function rawCommand(info: CommandInfo, args: ArrayLike<unknown>, from: number, raw: boolean): string {
  if (args.length - from !== 1) return buildRawCommand(info, args, from, raw);
  const a = args[from];
  if (typeof a !== 'string' || a.length > MAX_ARG) return buildRawCommand(info, args, from, raw);
  if (a === info.lastArg && info.lastText !== '') {
    hidden = false;
    return info.lastText;
  }
  const text = buildRawCommand(info, args, from, raw);
  if (!hidden) {
    info.lastArg = a;
    info.lastText = text;
  }
  return text;
}

function buildRawCommand(info: CommandInfo, args: ArrayLike<unknown>, from: number, raw: boolean): string {
  const n = args.length - from;
  let out = info.resource;
  hidden = false;
  if (n <= 0) return out;
  let rule = raw ? Rule.Keep : info.rule;
  let nth = info.n;
  let start = 0;
  let step = info.step;
  let cut = n;
  let setAt = -1;
  switch (rule) {
    case Rule.All:
      hidden = true;
      return out + ' ?';
    case Rule.AfterFirst:
      if (n > 1) cut = 2;
      nth = 1;
      rule = Rule.Nth;
      break;
    case Rule.Step:
      start = nth;
      break;
    case Rule.Config:
      if (upper(args[from]) === 'SET') {
        rule = Rule.Nth;
        nth = 2;
      } else {
        rule = Rule.Keep;
      }
      break;
    case Rule.Zadd:
      // After the key and the flags, score member pairs: every member becomes `?`.
      rule = Rule.Step;
      step = 2;
      start = n;
      for (let i = 1; i < n; i++) {
        const u = upper(args[from + i]);
        if (u !== 'NX' && u !== 'XX' && u !== 'CH' && u !== 'INCR' && u !== 'GT' && u !== 'LT') {
          start = i;
          break;
        }
      }
      break;
    case Rule.Bitfield:
      for (let i = 0; i < n; i++) {
        if (upper(args[from + i]) === 'SET') setAt = i;
      }
      break;
  }
  for (let i = 0; i < cut; i++) {
    let hide: boolean;
    switch (rule) {
      case Rule.Keep:
        hide = false;
        break;
      case Rule.Nth:
        hide = i === nth;
        break;
      case Rule.Step:
        hide = i >= start + step - 1 && (i - (start + step - 1)) % step === 0 && start + step <= n;
        break;
      case Rule.Bitfield:
        hide = setAt >= 0 && i === setAt + 3;
        break;
      default:
        hide = i > 0;
    }
    if (hide) {
      out += ' ?';
      hidden = true;
    } else {
      out += ' ' + argText(args[from + i]);
    }
    if (out.length > MAX_COMMAND) return out.slice(0, MAX_COMMAND) + '...';
  }
  return out;
}

/** `redis.raw_command` for a command `name` with `args[from..]`: values the rules hide become `?` (every value kept when `raw`). */
export function redisRawCommand(name: string, args: ArrayLike<unknown>, from = 0, raw = false): string {
  return rawCommand(infoOf(name), args, from, raw);
}

/** Where a client connects; filled once per client and kept with it. */
export interface RedisEndpoint {
  host: string;
  port: number;
  /** The database index, -1 when unknown. */
  db: number;
  /** `db` as text (the `db.name` tag). */
  dbText: string;
}

/**
 * Starts a `redis.command` span, a child of the active span, or returns undefined when tracing
 * is suppressed (our own I/O, `suppressTracing`). `args[from..]` are the arguments after the name.
 */
export function startRedisSpan(core: TracerCore, component: string, name: string, args: ArrayLike<unknown>, from: number, endpoint: RedisEndpoint | null, raw: boolean): TwSpan | undefined {
  const parent = activeContext();
  if (isSuppressed(parent)) return undefined;
  const info = infoOf(name);
  const span = core.startSpan('redis.command', KIND_CLIENT, parent, undefined, now());
  span.opName = 'redis.command';
  span.type = 'redis';
  span.resource = info.resource;
  span.component = component;
  // A new span has no attributes yet: its list is written in one go, no key looked for.
  const a: (string | number)[] = new Array(10);
  a[0] = 'db.type';
  a[1] = 'redis';
  a[2] = 'db.system';
  a[3] = 'redis';
  a[4] = 'redis.raw_command';
  a[5] = rawCommand(info, args, from, raw);
  if (hidden) counters.obfuscated.redisCommands++;
  let n = 6;
  if (endpoint !== null) {
    span.peerHost = endpoint.host;
    span.peerPort = endpoint.port;
    if (endpoint.host !== '') {
      a[n++] = 'peer.service';
      a[n++] = endpoint.host;
    }
    if (endpoint.db >= 0) {
      a[n++] = 'db.name';
      a[n++] = endpoint.dbText;
    }
  }
  span.attrs = a;
  span.attrLen = n;
  return span;
}

/** Puts a connection's host, port and database on a span that started without them (a Cluster's command, once a node took it). */
export function setRedisEndpoint(span: TwSpan, e: RedisEndpoint): void {
  span.peerHost = e.host;
  span.peerPort = e.port;
  if (e.host !== '') span.setAttribute('peer.service', e.host);
  if (e.db >= 0) span.setAttribute('db.name', e.dbText);
}

/** `WRONGTYPE` of `WRONGTYPE Operation against a key...`; '' when the message does not start with an upper-case word. */
function leadingCode(message: string): string {
  let i = 0;
  for (; i < message.length && i < 32; i++) {
    const c = message.charCodeAt(i);
    if (c < 65 || c > 90) break;
  }
  return i > 1 && (i === message.length || message.charCodeAt(i) === 32) ? message.slice(0, i) : '';
}

/** Ends a command span, with the server's or the client's error (its code when it has one: `WRONGTYPE`, `NOAUTH`, `ECONNREFUSED`). */
function finishRedisSpan(span: TwSpan, err: unknown): void {
  if (span.endAt >= 0) return;
  if (err !== undefined && err !== null) {
    span.fail(err);
    const e = err as { code?: unknown; message?: unknown };
    let code = typeof e.code === 'string' ? e.code : '';
    // Server errors carry their code as the first word of the message (`WRONGTYPE Operation...`).
    if (code === '' && typeof e.message === 'string') code = leadingCode(e.message);
    if (code !== '') span.setAttribute('db.response.status_code', code);
  }
  span.finish();
}

/**
 * The span-making side both Redis integrations share: the start channel's message becomes a
 * span (`start`), the finish channel's ends it. Turned off (by `disable()`, or by a failure
 * inside it, with one message), no new span starts; the finish channel stays subscribed so
 * spans already started still end.
 */
export function redisSubscriber<M extends { error: unknown; state: unknown }>(
  integration: string,
  channels: { start: string; finish: string },
  start: (core: TracerCore, message: M, raw: boolean) => TwSpan | undefined,
  beforeFinish?: (span: TwSpan, message: M) => void,
): { enable(core: TracerCore, raw: boolean): void; disable(): void } {
  let core: TracerCore | null = null;
  let raw = false;
  let subscribed = false;
  let finishing = false;
  const failed = (err: unknown): void => {
    counters.instrumentationErrors++;
    logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] the ${integration} integration failed and is now off; commands run untraced`, err, integration);
    disable();
  };
  const onStart = (m: unknown): void => {
    const c = core;
    if (c === null) return;
    try {
      (m as M).state = start(c, m as M, raw);
    } catch (err) {
      failed(err);
    }
  };
  const onFinish = (m: unknown): void => {
    const span = (m as M).state as TwSpan | undefined;
    if (span === undefined) return;
    try {
      if (beforeFinish !== undefined) beforeFinish(span, m as M);
      finishRedisSpan(span, (m as M).error);
    } catch (err) {
      failed(err);
    }
  };
  function disable(): void {
    core = null;
    if (!subscribed) return;
    subscribed = false;
    dc.unsubscribe(channels.start, onStart);
  }
  return {
    enable(c, r) {
      core = c;
      raw = r;
      if (!subscribed) {
        subscribed = true;
        dc.subscribe(channels.start, onStart);
      }
      if (!finishing) {
        finishing = true;
        dc.subscribe(channels.finish, onFinish);
      }
    },
    disable,
  };
}

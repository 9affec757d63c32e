/**
 * SQL spans, from what the pg and mysql2 patches publish (`SQL_CHANNELS`): one `pg.query` /
 * `mysql.query` client span per statement, under the span that issued it, named and tagged as
 * Datadog's integrations name them (span type `sql`, service `<service>-postgres` /
 * `<service>-mysql`, `db.type`, `db.system`, `db.name`, `db.user`, `out.host`,
 * `network.destination.port`, `peer.service`, `component`), resource the obfuscated statement
 * (sql-obfuscate.ts; raw with `sqlRawStatements`). A failed statement carries the driver's code
 * (`error.type` and `db.response.status_code`: PostgreSQL's SQLSTATE, MySQL's error name and number).
 *
 * Database Monitoring (`dbmPropagationMode`): the statement sent to the server starts with the
 * comment DBM reads, `/*dddb='..',dddbs='..',dde='..',ddh='..',ddps='..',ddpv='..'*\/`, and in
 * `full` mode `traceparent='00-<trace>-<span>-<flags>'` (not on prepared statements: their text
 * must stay the same from one execution to the next).
 *
 * An error inside this code turns the integration off with one message (the patch then calls
 * the driver straight through); the query itself never sees it.
 */
import dc = require('node:diagnostics_channel');
import type { AttributeValue } from '@opentelemetry/api';
import { now } from '../clock';
import { activeContext, isSuppressed } from '../context';
import type { TwSpan } from '../span';
import type { TracerCore } from '../tracer';
import { SQL_CHANNELS, type SqlQuery } from './channels';
import { StatementCache, type SqlDialect } from './sql-obfuscate';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';
import { Codes } from '../../internal/errors';
import type { DbmPropagationMode } from '../../config/options';
import { KIND_CLIENT, STATUS_ERROR } from '../kinds';

interface SqlOptions {
  /** Resources are the statements as written, not obfuscated. */
  rawStatements: boolean;
  dbmMode: DbmPropagationMode;
}

/** What one driver's spans are called. */
interface System {
  readonly integration: 'pg' | 'mysql2';
  readonly opName: string;
  readonly dbType: string;
  readonly dbSystem: string;
  readonly dialect: SqlDialect;
  readonly serviceSuffix: string;
}

const SYSTEMS: Record<'pg' | 'mysql2', System> = {
  pg: { integration: 'pg', opName: 'pg.query', dbType: 'postgres', dbSystem: 'postgresql', dialect: 'postgres', serviceSuffix: '-postgres' },
  mysql2: { integration: 'mysql2', opName: 'mysql.query', dbType: 'mysql', dbSystem: 'mysql', dialect: 'mysql', serviceSuffix: '-mysql' },
};

/** Per connection target: the tags every statement's span starts with, and the DBM comment's fixed part. */
interface Target {
  readonly attrs: (string | AttributeValue)[];
  readonly dbm: string;
}

/** Tags and comment per (database, user, host, port): the same for every statement of a pool. */
const MAX_TARGETS = 256;

function quoteDbm(v: string): string {
  return encodeURIComponent(v).replace(/'/g, '%27');
}

/** A driver error's code (SQLSTATE for pg, `ER_...` for MySQL) and the status code OpenTelemetry names. */
function errorCodes(err: unknown): [type: string, status: string] {
  if (err === null || typeof err !== 'object') return ['Error', ''];
  const e = err as { code?: unknown; errno?: unknown; name?: unknown };
  const type = typeof e.code === 'string' && e.code !== '' ? e.code : typeof e.name === 'string' ? e.name : 'Error';
  const status = typeof e.errno === 'number' ? String(e.errno) : typeof e.code === 'string' ? e.code : '';
  return [type, status];
}

/** One driver's subscription: made by `enable`, undone by `disable` or by its first internal error. */
class SqlIntegration {
  private readonly cache: StatementCache;
  private readonly targets = new Map<string, Target>();
  /** The same, by the driver's connection settings object: one lookup, no key built. */
  private readonly byConn = new WeakMap<object, Target>();
  /** The last settings object looked up and its target: a pool's statements share one, so the lookup is usually this compare. */
  private lastConn: object | undefined = undefined;
  private lastTarget: Target | undefined = undefined;
  private readonly service: string;
  private readonly startCh: dc.Channel;
  private readonly finishCh: dc.Channel;
  private on = false;

  constructor(
    private readonly sys: System,
    private readonly core: TracerCore,
    private readonly options: SqlOptions,
  ) {
    this.cache = new StatementCache(sys.dialect, options.rawStatements, 2000, () => counters.statementCacheEvictions++);
    this.service = core.config.service + sys.serviceSuffix;
    const names = SQL_CHANNELS[sys.integration];
    this.startCh = dc.channel(names.start);
    this.finishCh = dc.channel(names.finish);
  }

  private readonly onStart = (m: unknown): void => {
    const msg = m as SqlQuery;
    try {
      const parent = activeContext();
      if (isSuppressed(parent)) return;
      this.startSpan(msg, parent);
    } catch (err) {
      this.failed(err);
    }
  };

  private readonly onFinish = (m: unknown): void => {
    const msg = m as SqlQuery;
    const span = msg.span as TwSpan | undefined | null;
    if (span === undefined || span === null) return;
    try {
      if (msg.error !== undefined && msg.error !== null) {
        const err = msg.error as { message?: unknown; stack?: unknown };
        const [type, status] = errorCodes(err);
        span.error = 1;
        span.statusCode = STATUS_ERROR;
        span.errorType = type;
        span.errorMessage = typeof err.message === 'string' ? err.message : String(err);
        span.errorStack = typeof err.stack === 'string' ? err.stack : '';
        if (status !== '') span.setAttribute('db.response.status_code', status);
      }
      span.finish();
    } catch (err) {
      this.failed(err);
    }
  };

  private startSpan(msg: SqlQuery, parent: ReturnType<typeof activeContext>): void {
    const sys = this.sys;
    const st = this.cache.get(msg.text);
    if (st.obfuscated) counters.obfuscated.sqlStatements++;
    const span = this.core.startSpan(sys.opName, KIND_CLIENT, parent, undefined, now());
    span.opName = sys.opName;
    span.resource = st.resource;
    span.type = 'sql';
    span.component = sys.integration;
    span.service = this.service;
    if (st.operation !== '') {
      // Joined once per statement and database, not per query.
      const db = msg.database;
      if (st.nameDb !== db) {
        st.nameDb = db;
        st.name = db ? st.operation + ' ' + db : st.operation;
      }
      span.name = st.name;
    }
    if (msg.host !== undefined) span.peerHost = msg.host;
    if (msg.port !== undefined) span.peerPort = Number(msg.port) || 0;
    const target = this.target(msg);
    const base = target.attrs;
    const n = base.length;
    const attrs = new Array<string | AttributeValue>(n + 2);
    for (let i = 0; i < n; i++) attrs[i] = base[i];
    let len = n;
    if (st.operation !== '') {
      attrs[len++] = 'db.operation.name';
      attrs[len++] = st.operation;
    }
    span.attrs = attrs;
    span.attrLen = len;
    msg.span = span;
    const mode = this.options.dbmMode;
    if (mode !== 'disabled') {
      let comment = target.dbm;
      if (mode === 'full' && !msg.prepared) {
        const sc = span.spanContext();
        comment += `,traceparent='00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}'`;
        span.setAttribute('_dd.dbm_trace_injected', 'true');
      }
      msg.send = '/*' + comment + '*/ ' + msg.text;
    }
  }

  private target(msg: SqlQuery): Target {
    const conn = msg.conn;
    if (conn !== undefined && conn === this.lastConn) return this.lastTarget as Target;
    let t = conn !== undefined ? this.byConn.get(conn) : undefined;
    if (t === undefined) {
      t = this.targetByKey(msg);
      if (conn !== undefined) this.byConn.set(conn, t);
    }
    if (conn !== undefined) {
      this.lastConn = conn;
      this.lastTarget = t;
    }
    return t;
  }

  private targetByKey(msg: SqlQuery): Target {
    const key = `${msg.database ?? ''}\u0000${msg.user ?? ''}\u0000${msg.host ?? ''}\u0000${msg.port ?? ''}`;
    let t = this.targets.get(key);
    if (t !== undefined) return t;
    const sys = this.sys;
    const attrs: (string | AttributeValue)[] = ['db.type', sys.dbType, 'db.system', sys.dbSystem];
    if (msg.database) attrs.push('db.name', msg.database);
    if (msg.user) attrs.push('db.user', msg.user);
    const peer = msg.database || msg.host;
    if (peer) attrs.push('peer.service', peer, '_dd.peer.service.source', msg.database ? 'db.name' : 'out.host');
    const cfg = this.core.config;
    const parts: string[] = [];
    if (msg.database) parts.push(`dddb='${quoteDbm(msg.database)}'`);
    parts.push(`dddbs='${quoteDbm(this.service)}'`);
    if (cfg.env) parts.push(`dde='${quoteDbm(cfg.env)}'`);
    if (msg.host) parts.push(`ddh='${quoteDbm(msg.host)}'`);
    parts.push(`ddps='${quoteDbm(cfg.service)}'`);
    if (cfg.version) parts.push(`ddpv='${quoteDbm(cfg.version)}'`);
    t = { attrs, dbm: parts.join(',') };
    if (this.targets.size >= MAX_TARGETS) this.targets.clear();
    this.targets.set(key, t);
    return t;
  }

  enable(): void {
    if (this.on) return;
    this.on = true;
    this.finishCh.subscribe(this.onFinish);
    this.startCh.subscribe(this.onStart);
  }

  disable(): void {
    if (!this.on) return;
    this.on = false;
    this.startCh.unsubscribe(this.onStart);
    this.finishCh.unsubscribe(this.onFinish);
  }

  /** One message, then the integration is off: the patch calls the driver straight through. */
  private failed(err: unknown): void {
    counters.instrumentationErrors++;
    logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] the ${this.sys.integration} integration failed and is now off; queries run untraced`, err, `${this.sys.integration}-off`);
    try {
      this.disable();
    } catch {
      /* already off */
    }
  }
}

const active: Partial<Record<'pg' | 'mysql2', SqlIntegration>> = {};

/** Turns one driver's spans on (its patch is installed by the caller). */
export function enableSql(name: 'pg' | 'mysql2', core: TracerCore, options: SqlOptions): void {
  active[name]?.disable();
  const integration = new SqlIntegration(SYSTEMS[name], core, options);
  active[name] = integration;
  integration.enable();
}

export function disableSql(name: 'pg' | 'mysql2'): void {
  active[name]?.disable();
  delete active[name];
}

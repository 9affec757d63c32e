// pg against a real PostgreSQL (Debian's package, started by the harness for this file): a
// traced Fastify service (CommonJS and ES module entries, preload only) queries it every way
// pg offers; the dev agent decodes what the tracer sent. Spans, Datadog tags, obfuscated
// resources (no literal reaches the agent), driver error codes, parent links and callback
// context (also under concurrency on a pool of one connection), the DBM comment as the server
// saw it, the switch that turns the integration off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';
import { startPostgres } from '../helpers/servers/postgres.mjs';

let db;
let agent;
let cjs;
let esm;
let off;
let otlp;

before(async () => {
  db = await startPostgres();
  await db.sql("CREATE TABLE users (id int PRIMARY KEY, name text, email text); INSERT INTO users VALUES (1, 'Ada', 'ada@example.com'), (2, 'Grace', 'grace@example.com')");
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null, otlpPort: 0 });
  const start = (file, env) => startService(file, { agentUrl: agent.url, env: { ...db.env, ...env }, timeoutMs: 30_000 });
  [cjs, esm, off, otlp] = await Promise.all([
    start('db/pg-app.cjs', { DD_SERVICE: 'pg-cjs', DD_DBM_PROPAGATION_MODE: 'full' }),
    start('db/pg-app.mjs', { DD_SERVICE: 'pg-esm', DD_DBM_PROPAGATION_MODE: 'service', TRACEWELL_SQL_RAW_STATEMENTS: 'true' }),
    start('db/pg-app.cjs', { DD_SERVICE: 'pg-off', DD_TRACE_PG_ENABLED: 'false' }),
    start('db/pg-app.cjs', { DD_SERVICE: 'pg-otlp', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl, TRACEWELL_DLQ_ENABLED: 'false' }),
  ]);
});

after(async () => {
  await Promise.all([cjs, esm, off, otlp].filter(Boolean).map((s) => s.stop()));
  await agent?.close();
  await db?.stop();
});

const get = async (app, path) => {
  const r = await fetch(app.url + path);
  assert.equal(r.status, 200);
  return r.json();
};
const hex = (id) => id.toString(16).padStart(16, '0');

/** The request's server span (by the id the handler saw) and the pg.query spans under it. */
async function spansOf(out, n = 1) {
  const id = BigInt('0x' + out.requestSpan);
  await agent.waitFor(() => agent.allSpans().filter((s) => s.parent_id === id && s.name === 'pg.query').length >= n, 10_000);
  const all = agent.allSpans();
  return { request: all.find((s) => s.span_id === id), queries: all.filter((s) => s.parent_id === id && s.name === 'pg.query') };
}

function assertPgTags(span, service) {
  assert.equal(span.name, 'pg.query');
  assert.equal(span.type, 'sql');
  assert.equal(span.service, `${service}-postgres`);
  assert.equal(span.meta.component, 'pg');
  assert.equal(span.meta['span.kind'], 'client');
  assert.equal(span.meta['db.type'], 'postgres');
  assert.equal(span.meta['db.system'], 'postgresql');
  assert.equal(span.meta['db.name'], db.database);
  assert.equal(span.meta['db.user'], db.user);
  assert.equal(span.meta['out.host'], '127.0.0.1');
  assert.equal(span.metrics['network.destination.port'], db.port);
  assert.equal(span.meta['peer.service'], db.database);
}

test('Pool#query with a promise: a pg.query span under the request span, Datadog tags, resource the statement', async () => {
  const out = await get(cjs, '/pg/promise?id=2');
  assert.deepEqual(out.rows, [{ id: 2, name: 'Grace' }]);
  const { request, queries } = await spansOf(out);
  assert.equal(request.name, 'web.request');
  assert.equal(queries.length, 1);
  const [q] = queries;
  assertPgTags(q, 'pg-cjs');
  assert.equal(q.resource, 'SELECT id, name FROM users WHERE id = $1');
  assert.equal(q.meta['db.operation.name'], 'SELECT');
  assert.equal(q.trace_id, request.trace_id);
  assert.equal(q.error, 0);
  assert.equal(out.callbackSpan, out.requestSpan, 'the code after the await runs in the request span');
});

for (const c of ['callback', 'poolCallback', 'config', 'cursor', 'stream']) {
  test(`${c}: one span, finished, under the request; the app's callback runs in the request's context`, async () => {
    const out = await get(cjs, `/pg/${c}?id=2`);
    assert.ok(out.rows.length > 0, JSON.stringify(out));
    const { queries } = await spansOf(out);
    assert.equal(queries.length, 1);
    assertPgTags(queries[0], 'pg-cjs');
    assert.match(queries[0].resource, /^SELECT .* \$1/);
    assert.ok(queries[0].duration > 0n);
    assert.equal(out.callbackSpan, out.requestSpan, 'callback context');
  });
}

test('named prepared statements: a span per execution, the same resource', async () => {
  const out = await get(cjs, '/pg/named?id=1');
  assert.equal(out.rows.length, 2);
  const { queries } = await spansOf(out, 2);
  assert.equal(queries.length, 2);
  for (const q of queries) assert.equal(q.resource, 'SELECT id, name FROM users WHERE id = $1');
});

test('literals, lists of values, dollar-quoted strings and comments never reach the agent', async () => {
  const out = await get(cjs, '/pg/literal');
  assert.deepEqual(out.rows, [{ id: 2 }]);
  const { queries } = await spansOf(out);
  assert.equal(queries[0].resource, 'SELECT id FROM users WHERE email = ? AND id IN ( ? ) AND name <> ?');
  const everything = JSON.stringify(agent.allSpans().filter((s) => s.service === 'pg-cjs-postgres'), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  for (const secret of ['grace@example.com', 'hunter2', 's3cr3t', 'IN (2, 3, 4)']) assert.ok(!everything.includes(secret), `${secret} reached the agent`);
});

test('statements whose values were hidden are counted in stats().obfuscated.sqlStatements, once per query; raw statements are not', async () => {
  const before = (await cjs.stats()).obfuscated;
  await get(cjs, '/pg/literal');
  await get(cjs, '/pg/literal');
  await get(cjs, '/pg/promise?id=1');
  const after = (await cjs.stats()).obfuscated;
  assert.equal(after.sqlStatements - before.sqlStatements, 2, 'two statements with literals; a bind placeholder hides nothing');
  assert.equal(after.redisCommands, before.redisCommands);
  const rawBefore = (await esm.stats()).obfuscated.sqlStatements;
  await get(esm, '/pg/literal');
  assert.equal((await esm.stats()).obfuscated.sqlStatements, rawBefore, 'sqlRawStatements: nothing hidden, nothing counted');
});

test('sqlRawStatements: the statement as written (ES module app)', async () => {
  const out = await get(esm, '/pg/literal');
  const { queries } = await spansOf(out);
  assertPgTags(queries[0], 'pg-esm');
  assert.equal(queries[0].resource, "SELECT id FROM users WHERE email = 'grace@example.com' AND id IN (2, 3, 4) AND name <> $$hunter2$$ -- token=s3cr3t");
});

test('ES module app: import pg, pool and callbacks traced the same way', async () => {
  for (const c of ['promise', 'poolCallback', 'cursor']) {
    const out = await get(esm, `/pg/${c}?id=1`);
    const { queries } = await spansOf(out);
    assertPgTags(queries[0], 'pg-esm');
    assert.equal(out.callbackSpan, out.requestSpan);
  }
});

test('errors: the span is an error with the SQLSTATE, the app gets the driver error unchanged', async () => {
  for (const [path, code, resource] of [
    ['/pg/error', '42P01', 'SELECT * FROM missing_table WHERE id = ?'],
    ['/pg/errorCallback', '42703', 'SELECT nope FROM users'],
  ]) {
    const out = await get(cjs, path);
    assert.equal(out.error.code, code);
    assert.equal(out.callbackSpan, out.requestSpan);
    const { queries } = await spansOf(out);
    const [q] = queries;
    assert.equal(q.error, 1);
    assert.equal(q.resource, resource);
    assert.equal(q.meta['error.type'], code);
    assert.equal(q.meta['db.response.status_code'], code);
    assert.equal(q.meta['error.message'], out.error.message);
    assertPgTags(q, 'pg-cjs');
  }
});

test('concurrent requests on a pool of one connection: each query under its own request, callbacks in their own context (ours and the app\'s own AsyncLocalStorage)', async () => {
  const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => get(cjs, `/pg/poolCallback?id=${100 + i}`)));
  for (const [i, out] of outs.entries()) {
    assert.equal(out.rows[0].id, 100 + i);
    assert.equal(out.callbackSpan, out.requestSpan, `request ${i}: the callback ran in another request's context`);
    assert.equal(out.callbackAppId, 100 + i, `request ${i}: the app's own AsyncLocalStorage had another request's value in the callback`);
    const { request, queries } = await spansOf(out);
    assert.equal(queries.length, 1, `request ${i}: one query span under it`);
    assert.equal(queries[0].trace_id, request.trace_id);
  }
});

test('concurrent requests awaiting Pool#query on a pool of one connection: the code after each await runs in its own request (ours and the app\'s own AsyncLocalStorage)', async () => {
  const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => get(cjs, `/pg/promise?id=${200 + i}`)));
  for (const [i, out] of outs.entries()) {
    assert.equal(out.callbackSpan, out.requestSpan, `request ${i}: after the await, another request's span`);
    assert.equal(out.callbackAppId, 200 + i, `request ${i}: after the await, another request's value in the app's store`);
    const { request, queries } = await spansOf(out);
    assert.equal(queries.length, 1, `request ${i}: one query span under it`);
    assert.equal(queries[0].trace_id, request.trace_id);
  }
});

test('a statement whose outcome is a promise keeps no caller context; one with a callback keeps it, and its callback runs in the request', async () => {
  const out = await get(cjs, '/pg/callers?id=7');
  assert.equal(out.rows.length, 4);
  // Pool#query waits for a connection: the caller of that wait is kept in both forms (the
  // statement's parent is read in its callback); the statement's own only for a callback.
  assert.equal(out.counts.poolPromise, 1, 'pool.query(text, values) returning a promise: the connection wait only');
  assert.equal(out.counts.clientPromise, 0, 'client.query(text, values) returning a promise');
  assert.equal(out.counts.poolCallback, 2, 'pool.query with a callback: the connection wait and the statement');
  assert.equal(out.counts.clientCallback, 1, 'client.query with a callback: the statement');
  assert.equal(out.callbackSpan, out.requestSpan);
  assert.equal(out.callbackAppId, 7);
  const { queries } = await spansOf(out, 4);
  assert.equal(queries.length, 4, 'every statement traced');
});

test('DBM full: the server sees the comment with service, env, version and the query span as traceparent', async () => {
  const out = await get(cjs, '/pg/seen');
  const seen = out.rows[0].query;
  const { queries } = await spansOf(out);
  const [q] = queries;
  const m = /^\/\*(.*)\*\/ SELECT query FROM pg_stat_activity/.exec(seen);
  assert.ok(m, seen);
  const tp = /^(.*),traceparent='00-([0-9a-f]{16})([0-9a-f]{16})-([0-9a-f]{16})-01'$/.exec(m[1]);
  assert.ok(tp, m[1]);
  assert.equal(tp[1], `dddb='${db.database}',dddbs='pg-cjs-postgres',dde='test',ddh='127.0.0.1',ddps='pg-cjs',ddpv='0.1.0'`);
  assert.equal(tp[3], hex(q.trace_id), 'traceparent carries the trace');
  assert.equal(tp[4], hex(q.span_id), 'and the query span as the parent of the server-side work');
  assert.equal(q.meta['_dd.dbm_trace_injected'], 'true');
  assert.equal(q.resource, 'SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()', 'the comment is not in the resource');
});

test('DBM full, named prepared statement: the service comment only, the same text every execution', async () => {
  const out = await get(cjs, '/pg/seenNamed');
  assert.equal(out.rows.length, 2);
  for (const { query } of out.rows) {
    assert.equal(query, `/*dddb='${db.database}',dddbs='pg-cjs-postgres',dde='test',ddh='127.0.0.1',ddps='pg-cjs',ddpv='0.1.0'*/ SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid() AND $1::int > 0`);
  }
});

test('DBM service: no traceparent', async () => {
  const out = await get(esm, '/pg/seen');
  assert.equal(out.rows[0].query, `/*dddb='${db.database}',dddbs='pg-esm-postgres',dde='test',ddh='127.0.0.1',ddps='pg-esm',ddpv='0.1.0'*/ SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()`);
});

test('DD_TRACE_PG_ENABLED=false: queries work, no pg.query span, no comment', async () => {
  const out = await get(off, '/pg/seen');
  assert.equal(out.rows[0].query, 'SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()');
  const id = BigInt('0x' + out.requestSpan);
  await agent.waitFor(() => agent.allSpans().some((s) => s.span_id === id), 10_000);
  await off.flush();
  assert.equal(agent.allSpans().filter((s) => s.service.startsWith('pg-off') && s.name === 'pg.query').length, 0);
});

test('OTLP export: the database semantic conventions (db.system.name, db.namespace, db.query.text, server.*, error.type)', async () => {
  const ok = await get(otlp, '/pg/promise?id=1');
  const bad = await get(otlp, '/pg/error');
  await otlp.flush();
  const under = (out) => agent.otlpSpans.find((s) => s.kind === 3 && s.parentSpanId === out.requestSpan);
  await agent.waitFor(() => under(ok) && under(bad), 10_000);
  const q = under(ok);
  assert.equal(q.name, `SELECT ${db.database}`);
  assert.equal(q.scope.name, 'pg');
  assert.equal(q.resource['service.name'], 'pg-otlp');
  const a = q.attributes;
  assert.equal(a['db.system.name'], 'postgresql');
  assert.equal(a['db.namespace'], db.database);
  assert.equal(a['db.query.text'], 'SELECT id, name FROM users WHERE id = $1');
  assert.equal(a['db.operation.name'], 'SELECT');
  assert.equal(a['server.address'], '127.0.0.1');
  assert.equal(Number(a['server.port']), db.port);
  assert.equal(a['db.type'], undefined, 'Datadog-only tags stay out');
  const e = under(bad);
  assert.equal(e.status.code, 2);
  assert.equal(e.attributes['error.type'], '42P01');
  assert.equal(e.attributes['db.response.status_code'], '42P01');
  assert.equal(e.attributes['db.query.text'], 'SELECT * FROM missing_table WHERE id = ?');
});

test('a failure inside the integration: the query runs, one message, pg untraced from then on (ES module app, last)', async () => {
  const out = await get(esm, '/pg/hostile');
  assert.deepEqual(out.rows, [{ one: 1 }]);
  const after = await get(esm, '/pg/promise?id=1');
  assert.deepEqual(after.rows, [{ id: 1, name: 'Ada' }]);
  const id = BigInt('0x' + after.requestSpan);
  await agent.waitFor(() => agent.allSpans().some((s) => s.span_id === id), 10_000);
  await esm.flush();
  assert.equal(agent.allSpans().filter((s) => s.parent_id === id).length, 0, 'no pg.query span once the integration is off');
  const lines = esm.stderr().split('\n').filter((l) => l.includes('TW_INSTRUMENTATION_DISABLED'));
  assert.equal(lines.length, 1, esm.stderr());
  assert.match(lines[0], /the pg integration failed and is now off.*hostile getter/);
});

// mysql2 against a real MariaDB (Debian's package, started by the harness for this file): a
// traced Fastify service (CommonJS and ES module entries, preload only) queries it with
// callbacks and promises, `query` and `execute`, a connection and pools; the dev agent decodes
// what the tracer sent. Spans, Datadog tags, obfuscated resources (no literal reaches the agent),
// driver error codes, parent links and callback context (also under concurrency on a pool of
// one connection), the DBM comment as the server saw it, the switch that turns it off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';
import { startMariadb } from '../helpers/servers/mariadb.mjs';

let db;
let agent;
let cjs;
let esm;
let off;

before(async () => {
  db = await startMariadb();
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
  const start = (file, env) => startService(file, { agentUrl: agent.url, env: { ...db.env, ...env }, timeoutMs: 30_000 });
  [cjs, esm, off] = await Promise.all([
    start('db/mysql-app.cjs', { DD_SERVICE: 'my-cjs', DD_DBM_PROPAGATION_MODE: 'full' }),
    start('db/mysql-app.mjs', { DD_SERVICE: 'my-esm', DD_DBM_PROPAGATION_MODE: 'service' }),
    start('db/mysql-app.cjs', { DD_SERVICE: 'my-off', DD_TRACE_MYSQL2_ENABLED: 'false' }),
  ]);
});

after(async () => {
  await Promise.all([cjs, esm, off].filter(Boolean).map((s) => s.stop()));
  await agent?.close();
  await db?.stop();
});

const get = async (app, path) => {
  const r = await fetch(app.url + path);
  assert.equal(r.status, 200);
  return r.json();
};
const hex = (id) => id.toString(16).padStart(16, '0');

async function spansOf(out, n = 1) {
  const id = BigInt('0x' + out.requestSpan);
  await agent.waitFor(() => agent.allSpans().filter((s) => s.parent_id === id && s.name === 'mysql.query').length >= n, 10_000);
  const all = agent.allSpans();
  return { request: all.find((s) => s.span_id === id), queries: all.filter((s) => s.parent_id === id && s.name === 'mysql.query') };
}

function assertMysqlTags(span, service) {
  assert.equal(span.name, 'mysql.query');
  assert.equal(span.type, 'sql');
  assert.equal(span.service, `${service}-mysql`);
  assert.equal(span.meta.component, 'mysql2');
  assert.equal(span.meta['span.kind'], 'client');
  assert.equal(span.meta['db.type'], 'mysql');
  assert.equal(span.meta['db.system'], 'mysql');
  assert.equal(span.meta['db.name'], db.database);
  assert.equal(span.meta['db.user'], db.user);
  assert.equal(span.meta['out.host'], '127.0.0.1');
  assert.equal(span.metrics['network.destination.port'], db.port);
  assert.equal(span.meta['peer.service'], db.database);
}

const CASES = [
  ['query', 'SELECT id, name FROM users WHERE id = ?'],
  ['execute', 'SELECT name FROM users WHERE id = ?'],
  ['options', 'SELECT email FROM users WHERE id = ?'],
  ['pool', 'SELECT SLEEP(?) AS s, ? AS id'],
  ['poolExecute', 'SELECT ? AS id'],
  ['promise', 'SELECT id, name FROM users WHERE id = ?'],
  ['promiseExecute', 'SELECT id FROM users WHERE id = ?'],
  ['events', 'SELECT id FROM users ORDER BY id'],
];

for (const app of ['cjs', 'esm']) {
  for (const [c, resource] of CASES) {
    test(`${app} ${c}: one mysql.query span under the request, the statement before mysql2 put the values in; callbacks in the request's context`, async () => {
      const out = await get(app === 'cjs' ? cjs : esm, `/my/${c}?id=2`);
      assert.ok(out.rows.length > 0, JSON.stringify(out));
      const { request, queries } = await spansOf(out);
      assert.equal(request.name, 'web.request');
      assert.equal(queries.length, 1);
      assertMysqlTags(queries[0], app === 'cjs' ? 'my-cjs' : 'my-esm');
      assert.equal(queries[0].resource, resource);
      assert.equal(queries[0].error, 0);
      assert.equal(out.callbackSpan, out.requestSpan, 'callback context');
    });
  }
}

test('literals, lists of values, double-quoted strings and # comments never reach the agent', async () => {
  const out = await get(cjs, '/my/literal');
  assert.deepEqual(out.rows, [{ id: 2 }]);
  const { queries } = await spansOf(out);
  assert.equal(queries[0].resource, 'SELECT id FROM users WHERE email = ? AND id IN ( ? ) AND name <> ?');
  const everything = JSON.stringify(agent.allSpans().filter((s) => s.service === 'my-cjs-mysql'), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  for (const secret of ['grace@example.com', 'hunter2', 's3cr3t', 'IN (2, 3, 4)']) assert.ok(!everything.includes(secret), `${secret} reached the agent`);
});

test('errors: the span is an error with the MySQL error name and number', async () => {
  const out = await get(cjs, '/my/error');
  assert.equal(out.error.code, 'ER_NO_SUCH_TABLE');
  assert.equal(out.callbackSpan, out.requestSpan);
  const { queries } = await spansOf(out);
  const [q] = queries;
  assert.equal(q.error, 1);
  assert.equal(q.resource, 'SELECT * FROM missing_table WHERE id = ?');
  assert.equal(q.meta['error.type'], 'ER_NO_SUCH_TABLE');
  assert.equal(q.meta['db.response.status_code'], '1146');
  assert.equal(q.meta['error.message'], out.error.message);
});

test('concurrent requests on a pool of one connection: each query under its own request, callbacks in their own context (ours and the app\'s own AsyncLocalStorage)', async () => {
  const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => get(cjs, `/my/pool?id=${100 + i}`)));
  for (const [i, out] of outs.entries()) {
    assert.equal(out.rows[0].id, 100 + i);
    assert.equal(out.callbackSpan, out.requestSpan, `request ${i}: the callback ran in another request's context`);
    assert.equal(out.callbackAppId, 100 + i, `request ${i}: the app's own AsyncLocalStorage had another request's value in the callback`);
    const { request, queries } = await spansOf(out);
    assert.equal(queries.length, 1, `request ${i}: one query span under it`);
    assert.equal(queries[0].trace_id, request.trace_id);
  }
});

test('concurrent requests awaiting PromisePool#query and #execute: each statement under its own request, each await resumes in it', async () => {
  const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => get(cjs, `/my/${i % 2 ? 'promiseExecute' : 'promise'}?id=${i % 2 ? 2 : 1}&n=${i}`)));
  for (const [i, out] of outs.entries()) {
    assert.equal(out.rows.length, 1);
    assert.equal(out.callbackSpan, out.requestSpan, `request ${i}: the await resumed in another request's context`);
    assert.equal(out.callbackAppId, i % 2 ? 2 : 1, `request ${i}: the app's own AsyncLocalStorage had another request's value after the await`);
    const { request, queries } = await spansOf(out);
    assert.equal(queries.length, 1, `request ${i}: one query span under it`);
    assert.equal(queries[0].trace_id, request.trace_id);
  }
});

for (const app of ['cjs', 'esm']) {
  test(`${app}: a statement whose outcome is a native promise keeps no caller context; one with a callback keeps it`, async () => {
    const out = await get(app === 'cjs' ? cjs : esm, '/my/callers?id=7');
    assert.equal(out.rows.length, 5);
    // The pool's wait for a connection keeps its caller in both forms (the statement's parent is
    // read in its callback); the statement's own caller is kept only for a callback.
    assert.deepEqual(out.counts, { poolPromise: 1, poolPromiseExecute: 1, connectionPromise: 0, poolCallback: 2, connectionCallback: 1 });
    assert.equal(out.callbackSpan, out.requestSpan);
    assert.equal(out.callbackAppId, 7);
    const { queries } = await spansOf(out, 5);
    assert.equal(queries.length, 5, 'every statement traced');
  });
}

test('PromiseConnection#query and a PromisePool connection\'s #execute: a span each under the request, the awaits resume in it', async () => {
  const out = await get(esm, '/my/promiseConnection?id=2');
  assert.deepEqual(out.rows, [{ id: 2, name: 'Grace' }, { id: 2 }]);
  assert.equal(out.callbackSpan, out.requestSpan);
  assert.equal(out.callbackAppId, 2);
  const { queries } = await spansOf(out, 2);
  assert.deepEqual(queries.map((q) => q.resource).sort(), ['SELECT id FROM users WHERE id = ?', 'SELECT id, name FROM users WHERE id = ?']);
  for (const q of queries) assertMysqlTags(q, 'my-esm');
});

test('DBM full: the server sees the comment with service, env, version and the query span as traceparent (process list and query log)', async () => {
  const out = await get(cjs, '/my/seen');
  const seen = out.rows[0].query;
  const { queries } = await spansOf(out);
  const [q] = queries;
  const m = /^\/\*(.*),traceparent='00-([0-9a-f]{16})([0-9a-f]{16})-([0-9a-f]{16})-01'\*\/ SELECT INFO AS query FROM information_schema\.PROCESSLIST/.exec(seen);
  assert.ok(m, seen);
  assert.equal(m[1], `dddb='${db.database}',dddbs='my-cjs-mysql',dde='test',ddh='127.0.0.1',ddps='my-cjs',ddpv='0.1.0'`);
  assert.equal(m[3], hex(q.trace_id));
  assert.equal(m[4], hex(q.span_id));
  assert.ok(db.queryLog().includes(seen), 'the general query log has the same text');
  assert.equal(q.resource, 'SELECT INFO AS query FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()');
});

test('DBM full, execute: the service comment only (a prepared statement keeps one text)', async () => {
  const out = await get(cjs, '/my/seenExecute');
  assert.equal(out.rows[0].query, `/*dddb='${db.database}',dddbs='my-cjs-mysql',dde='test',ddh='127.0.0.1',ddps='my-cjs',ddpv='0.1.0'*/ SELECT INFO AS query FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID() AND 1 > 0`);
});

test('DBM service (ES module app): no traceparent', async () => {
  const out = await get(esm, '/my/seen');
  assert.equal(out.rows[0].query, `/*dddb='${db.database}',dddbs='my-esm-mysql',dde='test',ddh='127.0.0.1',ddps='my-esm',ddpv='0.1.0'*/ SELECT INFO AS query FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()`);
});

test('DD_TRACE_MYSQL2_ENABLED=false: queries work, no mysql.query span, no comment', async () => {
  const out = await get(off, '/my/seen');
  assert.equal(out.rows[0].query, 'SELECT INFO AS query FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()');
  const id = BigInt('0x' + out.requestSpan);
  await agent.waitFor(() => agent.allSpans().some((s) => s.span_id === id), 10_000);
  await off.flush();
  assert.equal(agent.allSpans().filter((s) => s.service.startsWith('my-off') && s.name === 'mysql.query').length, 0);
});

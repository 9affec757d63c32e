// SQL obfuscation (src/tracer/instrumentations/sql-obfuscate.ts): what the resource of a
// pg.query / mysql.query span becomes, for each kind of literal and comment in each dialect,
// and the per-text cache (bounded, evictions counted). The end-to-end side (no literal reaches
// the agent) is in test/db.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dist } from '../helpers/common.mjs';

const { StatementCache } = dist('tracer/instrumentations/sql-obfuscate.js');

const pg = new StatementCache('postgres', false, 1000, () => {});
const my = new StatementCache('mysql', false, 1000, () => {});

const CASES = [
  // [dialect cache, statement, resource]
  [pg, "SELECT * FROM users WHERE id = 42 AND name = 'O''Brien'", 'SELECT * FROM users WHERE id = ? AND name = ?'],
  [pg, 'SELECT a FROM t WHERE x = -1.5e-3 AND y = .5 AND z = 0x1F', 'SELECT a FROM t WHERE x = -? AND y = ? AND z = ?'],
  [pg, 'SELECT t1.c2, "Col 3", $1, $12 FROM t1 WHERE k = $2', 'SELECT t1.c2, "Col 3", $1, $12 FROM t1 WHERE k = $2'],
  [pg, "SELECT $$it's a secret$$, $fn$ body 'x' $fn$, E'esc\\'aped', B'1010', X'FF', U&'d\\0061t'", 'SELECT ?, ?, ?, ?, ?, ?'],
  [pg, 'SELECT 1 -- password=hunter2\nFROM t /* outer /* nested */ still comment */ WHERE a IN (1, 2, 3)', 'SELECT ? FROM t WHERE a IN ( ? )'],
  [pg, "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')", 'INSERT INTO t (a, b) VALUES ( ? )'],
  [pg, 'SELECT pg_sleep(0.5)', 'SELECT pg_sleep(?)'],
  [pg, '  SELECT\n\t*   FROM  t  ', 'SELECT * FROM t'],
  [pg, "SELECT 'unterminated", 'SELECT ?'],
  [my, "SELECT * FROM users WHERE email = \"a@b.c\" AND pin = 1234 AND note = 'it\\'s'", 'SELECT * FROM users WHERE email = ? AND pin = ? AND note = ?'],
  [my, 'SELECT `order`, `weird``name` FROM `t` WHERE id = ? # token=abc', 'SELECT `order`, `weird``name` FROM `t` WHERE id = ?'],
  [my, 'SELECT /*+ MAX_EXECUTION_TIME(1000) */ a FROM t WHERE b IN (?, ?, ?)', 'SELECT a FROM t WHERE b IN ( ? )'],
  [my, "UPDATE t SET a = x'DEADBEEF', b = 0xCAFE WHERE c = :name", 'UPDATE t SET a = ?, b = ? WHERE c = :name'],
];

for (const [cache, sql, want] of CASES) {
  test(`${cache === pg ? 'postgres' : 'mysql'}: ${JSON.stringify(sql).slice(0, 70)}`, () => {
    assert.equal(cache.get(sql).resource, want);
  });
}

test('the operation is the first keyword', () => {
  assert.equal(pg.get('select 1').operation, 'SELECT');
  assert.equal(pg.get('(SELECT 1) UNION (SELECT 2)').operation, 'SELECT');
  assert.equal(my.get('/* c */ insert into t values (1)').operation, 'INSERT');
});

test('raw statements: the text as written (trimmed), comments and literals included', () => {
  const raw = new StatementCache('postgres', true, 10, () => {});
  assert.equal(raw.get(" SELECT 'x' -- c ").resource, "SELECT 'x' -- c");
});

test('one result per text: a repeated statement is a lookup; past the bound the oldest goes, counted', () => {
  let evicted = 0;
  const cache = new StatementCache('postgres', false, 3, () => evicted++);
  const a = cache.get('SELECT 1');
  assert.equal(cache.get('SELECT 1'), a, 'the same object: no second obfuscation');
  cache.get('SELECT 2');
  cache.get('SELECT 3');
  assert.equal(evicted, 0);
  cache.get('SELECT 4');
  assert.equal(evicted, 1);
  assert.equal(cache.size, 3);
  assert.notEqual(cache.get('SELECT 1'), a, 'the oldest was evicted');
});

test('a resource longer than 5000 characters is cut and says so', () => {
  const long = 'SELECT ' + Array.from({ length: 2000 }, (_, i) => `c${i}`).join(', ') + ' FROM t';
  const r = pg.get(long).resource;
  assert.equal(r.length, 5000);
  assert.ok(r.endsWith('...'));
});

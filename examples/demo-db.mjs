// The demo's PostgreSQL: a server of Debian's `postgresql` package started in a temp folder by
// the test harness (test/helpers/servers/postgres.mjs), with the users API's accounts table.
// Resolves with { env (PG* variables for the users API), stop() }, or null (and says why) when
// the server is not installed or cannot start: the users API then keeps its data in memory.
import { createRequire } from 'node:module';
import { startPostgres } from '../test/helpers/servers/postgres.mjs';

const require = createRequire(import.meta.url);

export async function startDemoDb(out) {
  let db;
  try {
    db = await startPostgres({ database: 'users' });
  } catch (err) {
    out(`(no PostgreSQL for the demo: ${err.message.split('\n')[0]}; the users API keeps its accounts in memory)`);
    return null;
  }
  // Seeded from this (untraced) process, so the demo's traces are the requests' alone.
  const pg = require('pg');
  const client = new pg.Client({ host: db.host, port: db.port, user: db.user, database: db.database });
  await client.connect();
  await client.query('CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL, since date NOT NULL)');
  await client.query("INSERT INTO accounts VALUES (1, 'ada@example.com', '2019-03-04'), (2, 'grace@example.com', '2021-11-30')");
  await client.end();
  out(`PostgreSQL for the users API's accounts on 127.0.0.1:${db.port} (database ${db.database})`);
  return db;
}

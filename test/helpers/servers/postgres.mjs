// A real PostgreSQL server for tests: Debian's `postgresql` package binaries, a new cluster in a
// temp folder (initdb), on a free port of 127.0.0.1, trust authentication, fsync off. Run as
// the `postgres` account when we are root (PostgreSQL refuses root). One per test file:
// `const pg = await startPostgres(); ... await pg.stop()`.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, removeDir, runAs, serverDir, serverUser, startServer } from './common.mjs';

/** The newest installed server's bin folder (`/usr/lib/postgresql/<n>/bin`), or PG_BIN. */
export function postgresBin() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'postgres'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) {
    throw new Error('PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin/postgres (apt-get install postgresql, as .ci/run does; or set PG_BIN)');
  }
  return join(base, versions[0], 'bin');
}

/**
 * Starts a server; resolves with { host, port, user, database, url, env, sql(), stop() }.
 * `database` (`tracewell_test`) is created. Rejects with the server's output when it cannot
 * start. `sql(text)` runs statements in `database` through psql (a schema the test's apps share
 * is made there once, before they start: two concurrent `CREATE TABLE IF NOT EXISTS` can both go
 * ahead, and the second then fails on the catalog).
 */
export async function startPostgres({ database = 'tracewell_test', user = 'tracewell' } = {}) {
  const bin = postgresBin();
  const who = serverUser('postgres');
  const dir = serverDir('tw-pg-', who);
  const data = join(dir, 'data');
  try {
    await runAs(who, join(bin, 'initdb'), ['-D', data, '-U', user, '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], { what: 'initdb' });
    let server;
    let port;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        server = await startServer(
          who,
          join(bin, 'postgres'),
          ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=50'],
          { ready: /database system is ready to accept connections/, what: `PostgreSQL (${bin}) on port ${port}` },
        );
        break;
      } catch (err) {
        // Someone took the port between our look and the server's bind: another port.
        if (attempt < 2 && /could not bind|Address already in use/.test(err.message)) continue;
        throw err;
      }
    }
    const psql = (db, text, what) => runAs(who, join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', db, '-v', 'ON_ERROR_STOP=1', '-c', text], { what });
    await psql('postgres', `CREATE DATABASE ${database}`, 'CREATE DATABASE');
    const host = '127.0.0.1';
    return {
      host,
      port,
      user,
      database,
      url: `postgres://${user}@${host}:${port}/${database}`,
      /** What a child app reads to connect (pg reads PG* variables itself too). */
      env: { PGHOST: host, PGPORT: String(port), PGUSER: user, PGDATABASE: database },
      output: server.output,
      sql: (text) => psql(database, text, `psql: ${text}`),
      async stop() {
        await server.stop();
        removeDir(dir);
      },
    };
  } catch (err) {
    removeDir(dir);
    throw err;
  }
}

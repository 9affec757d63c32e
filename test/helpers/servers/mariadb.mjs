// A real MariaDB (MySQL protocol) server for tests: Debian's `mariadb-server` package, a new
// data folder in a temp folder (mariadb-install-db), on a free port of 127.0.0.1, grant tables
// skipped (any user name connects, no password), the general query log on (`queryLog()`).
// Run as the `mysql` account when we are root. One per test file:
// `const db = await startMariadb(); ... await db.stop()`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, removeDir, runAs, serverDir, serverUser, startServer } from './common.mjs';

function binary(names) {
  for (const p of names) if (existsSync(p)) return p;
  throw new Error(`MariaDB is not installed: none of ${names.join(', ')} (apt-get install mariadb-server, as .ci/run does)`);
}

/**
 * Starts a server; resolves with { host, port, user, database, env, queryLog(), stop() }.
 * `database` (`tracewell_test`) is created. Rejects with the server's output when it cannot start.
 */
export async function startMariadb({ database = 'tracewell_test', user = 'tracewell' } = {}) {
  const mariadbd = binary(['/usr/sbin/mariadbd', '/usr/sbin/mysqld']);
  const installDb = binary(['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db']);
  const client = binary(['/usr/bin/mariadb', '/usr/bin/mysql']);
  const who = serverUser('mysql');
  const dir = serverDir('tw-mariadb-', who);
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const log = join(dir, 'query.log');
  const userArgs = who.name !== undefined ? [`--user=${who.name}`] : [];
  try {
    await runAs(who, installDb, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...userArgs], { what: 'mariadb-install-db' });
    let server;
    let port;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        server = await startServer(
          who,
          mariadbd,
          [
            '--no-defaults',
            `--datadir=${data}`,
            `--port=${port}`,
            '--bind-address=127.0.0.1',
            `--socket=${socket}`,
            `--pid-file=${join(dir, 'mysqld.pid')}`,
            '--skip-grant-tables',
            '--skip-name-resolve',
            '--skip-log-bin',
            '--innodb-buffer-pool-size=16M',
            '--innodb-log-file-size=8M',
            '--innodb-flush-log-at-trx-commit=0',
            '--general-log=1',
            `--general-log-file=${log}`,
            ...userArgs,
          ],
          { ready: /ready for connections/, what: `MariaDB (${mariadbd}) on port ${port}` },
        );
        break;
      } catch (err) {
        if (attempt < 2 && /Address already in use|Can't start server: Bind/.test(err.message)) continue;
        throw err;
      }
    }
    await runAs(who, client, ['--no-defaults', `--socket=${socket}`, '-u', 'root', '-e', `CREATE DATABASE ${database}`], { what: 'CREATE DATABASE' });
    const host = '127.0.0.1';
    return {
      host,
      port,
      user,
      database,
      env: { MYSQL_HOST: host, MYSQL_PORT: String(port), MYSQL_USER: user, MYSQL_DATABASE: database },
      /** The server's general query log: every statement as the server received it. */
      queryLog: () => (existsSync(log) ? readFileSync(log, 'utf8') : ''),
      output: server.output,
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

// The users API's own data, its accounts: read from PostgreSQL when one is configured (PGHOST;
// `npm run demo` starts one when the server is installed, examples/demo-db.mjs), else kept in
// memory. The pg queries are traced by the preload like everything else: no code for it here.
import pg from 'pg';

const inMemory = new Map([
  ['1', { email: 'ada@example.com', since: '2019-03-04' }],
  ['2', { email: 'grace@example.com', since: '2021-11-30' }],
]);

export function openAccounts() {
  if (!process.env.PGHOST) return { source: 'memory', find: async (id) => inMemory.get(id) ?? null };
  const pool = new pg.Pool({ max: 4 });
  return {
    source: 'postgresql',
    async find(id) {
      const { rows } = await pool.query("SELECT email, to_char(since, 'YYYY-MM-DD') AS since FROM accounts WHERE id = $1", [Number(id) || 0]);
      return rows[0] ?? null;
    },
  };
}

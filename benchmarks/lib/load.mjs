// HTTP load from its own process, to 127.0.0.1 only: N keep-alive connections (undici Pool,
// one request in flight per connection), closed loop, for a ramp plus a fixed window; every
// request carries a W3C traceparent, as when the caller is traced. See load-loop.cjs for the
// window protocol. Usage (standalone prints the result as JSON):
//   node benchmarks/lib/load.mjs --port 3000 [--connections 32] [--ramp-ms 300]
//     [--duration-ms 2000] [--rate 0] [--path /hello/world]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { loadOptions, runLoadProcess } = require('./load-loop.cjs');
// undici from the repository root, not from whatever benchmarks/node_modules holds.
const repoRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const { Pool } = createRequire(join(repoRoot, 'package.json'))('undici');

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const options = loadOptions();
const path = typeof options.flags.path === 'string' ? options.flags.path : '/hello/world';
if (!path.startsWith('/')) throw new Error(`--path must start with /, got ${path}`);

const pool = new Pool(`http://127.0.0.1:${options.port}`, {
  connections: options.concurrency,
  pipelining: 1,
  headersTimeout: 10_000,
  bodyTimeout: 10_000,
  connectTimeout: 5_000,
});
const request = { path, method: 'GET', headers: { traceparent: TRACEPARENT } };

async function issue() {
  const res = await pool.request(request);
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
}

await runLoadProcess({ options, issue, close: () => pool.destroy() });

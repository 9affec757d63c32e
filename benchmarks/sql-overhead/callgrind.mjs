// Instructions per PostgreSQL select by key, counted by valgrind's callgrind (repeatable where
// CPU time is not: see ../lib/callgrind.mjs). The client (worker.cjs, one variant: a pg Pool
// of 2 connections) runs under callgrind against a real PostgreSQL started by the test
// harness; the agent sink runs in this process. Each query is its own trace, export included.
// With --per-parent N the queries run N at a time inside a parent span made with the tracer's
// API (a request doing N queries); the variant `tracewell-pg-off` makes the same parents with
// the pg integration off, so tracewell minus tracewell-pg-off is what tracing a query adds.
// --driver mysql2: the same select through a mysql2/promise pool of 2 against a real MariaDB.
// Usage: node benchmarks/sql-overhead/callgrind.mjs [--variants baseline,tracewell] [--driver pg|mysql2]
//   [--calls 4000] [--warmup 16000] [--inflight 1] [--per-parent 0] [--v8-flags='--single-threaded'] [--node 24] [--out DIR]
// TRACEWELL_REF=<checkout with a build> adds the variants tracewell-ref and tracewell-ref-aa.
// `callgrind_annotate <out>/pg-<variant>.<pid>.2` attributes the window to functions.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSink } from '../lib/sink.mjs';
import { countInstructions } from '../lib/callgrind.mjs';
import { tracerVariants, pickVariants } from '../lib/variants.mjs';
import { parseArgs, intArg } from '../lib/args.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';
import { startPostgres } from '../../test/helpers/servers/postgres.mjs';
import { startMariadb } from '../../test/helpers/servers/mariadb.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..');

const args = parseArgs(process.argv.slice(2), { variants: 'baseline,tracewell' });
const calls = intArg(args, 'calls', 4000, 1);
const warmup = intArg(args, 'warmup', 16000, 0);
const perParent = intArg(args, 'perParent', 0, 0, 1000);
const inflight = intArg(args, 'inflight', 1, 1);
const out = args.out ?? join('/tmp', `tracewell-sql-callgrind-${process.pid}`);
const execPath = nodeBinary(args.node);
const driver = args.driver ?? 'pg';
if (driver !== 'pg' && driver !== 'mysql2') throw new Error(`--driver ${driver}: pg or mysql2`);
const all = tracerVariants();
// (with --driver mysql2, its integration is the one turned off)
all['tracewell-pg-off'] = { ...all.tracewell, name: 'tracewell-pg-off', env: { [`DD_TRACE_${driver.toUpperCase()}_ENABLED`]: 'false' } };
// --single-threaded (default): V8 compiles and collects on the main thread, at points that
// depend only on the work done, so two runs of one build count nearly the same instructions;
// with helper threads, when a background compile lands moves the count by thousands per query.
const v8Flags = args.v8Flags === undefined ? ['--single-threaded'] : String(args.v8Flags).split(' ').filter(Boolean);
const variants = pickVariants(all, args.variants).map((v) => ({ ...v, execArgv: [...v8Flags, ...(v.execArgv ?? [])] }));
mkdirSync(out, { recursive: true });

const common = { worker: join(here, 'worker.cjs'), execPath, cwd: repoRoot, out, warmup, calls, inflight };
const db = driver === 'pg' ? await startPostgres() : await startMariadb();
const sink = await startSink(variants.map((v) => v.name));
const rows = [];
try {
  let base = NaN;
  let baseMain = NaN;
  for (const v of variants) {
    const r = await countInstructions({
      ...common,
      name: `${driver}-${v.name}`,
      variant: v,
      // The flush timer pushed out (valgrind's slowdown would multiply its share of the
      // window, docs/hot-path.md); the worker flushes at the end of each run instead.
      env: {
        ...db.env,
        DD_TRACE_AGENT_URL: sink.urls[v.name],
        TRACEWELL_DLQ_ENABLED: 'false',
        TRACEWELL_FLUSH_INTERVAL_MS: '600000',
        ...(driver === 'pg' ? { OTEL_BENCH_PG: '1' } : { OTEL_BENCH_MYSQL2: '1', BENCH_DRIVER: 'mysql2' }),
        BENCH_PER_PARENT: String(perParent),
        BENCH_TRACER: v.name.startsWith('tracewell') ? 'tracewell' : v.name,
        ...(v.name.startsWith('tracewell-ref') ? { BENCH_TRACEWELL_INDEX: join(process.env.TRACEWELL_REF, 'dist', 'cjs', 'index.js') } : {}),
      },
    });
    const per = r.ir / calls;
    const main = r.mainIr / calls;
    if (v === variants[0]) [base, baseMain] = [per, main];
    rows.push({ name: v.name, per, added: per - base, main, addedMain: main - baseMain, file: r.file });
    process.stderr.write(`${driver} ${v.name}: ${per.toFixed(0)} instructions/query (${r.file})\n`);
  }
} finally {
  await sink.close();
  await db.stop();
}
const node = execFileSync(execPath, ['--version']).toString().trim();
console.log(`\n${driver === 'pg' ? 'PostgreSQL select by key (pg Pool of 2)' : 'MariaDB select by key (mysql2/promise pool of 2)'}, Node ${node}, ${calls} queries after ${warmup} warm-up, ${inflight} in flight, ${perParent > 0 ? `${perParent} per parent span` : 'each its own trace'}; callgrind instructions per query (client process, export included):\n`);
console.log(`| variant | instructions/query | added vs ${variants[0].name} | main thread | added |`);
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) {
  const first = r.name === variants[0].name;
  console.log(`| ${r.name} | ${r.per.toFixed(0)} | ${first ? '' : r.added.toFixed(0)} | ${r.main.toFixed(0)} | ${first ? '' : r.addedMain.toFixed(0)} |`);
}

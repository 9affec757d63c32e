// Memory a tracer adds to a saturated web service, read after a fixed number of requests
// rather than a fixed time: how big V8 grows its young generation depends on how many bytes
// survived scavenges (a count of requests), much less on how fast they came, so this
// comparison holds up on a loaded machine where req/s does not.
//
// Every variant's server starts fresh (pinned to the server CPU) and gets its own load
// process (pinned to the load CPU); all load at the same time, each as fast as its server
// answers (32 keep-alive connections, one request in flight each, a `traceparent` on every
// request, as in run.mjs), until it has had --requests answers. Right then the server reports
// process.memoryUsage(), v8.getHeapSpaceStatistics() and, with --snapshot-dir, writes a heap
// snapshot. --rounds N repeats with fresh servers; the table shows medians [min, max].
//
//   node benchmarks/http-overhead/memory.mjs [--variants baseline,als-floor,tracewell,tracewell@DD_TRACE_SAMPLE_RATE=0]
//     [--requests 200000] [--rounds 3] [--connections 32] [--node 24] [--pin 0:1]
//     [--framework fastify] [--snapshot-dir DIR [--snapshot-during MS]] [--node-flags="--trace-gc-nvp"]
//     [--stdout-dir DIR] [--json out.json]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { forkChild, repoRoot, startVariantServers, waitMessage } from '../lib/server-process.mjs';
import { startSinkProcess } from '../lib/sink.mjs';
import { pickVariants, tracerVariants } from '../lib/variants.mjs';
import { nodeBinary } from '../lib/node-bin.mjs';

const MB = 1024 * 1024;
const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const flag = (name, dflt) => {
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  if (eq !== undefined) return eq.slice(name.length + 3);
  const i = argv.indexOf(`--${name}`);
  if (i === -1) return dflt;
  const v = argv[i + 1];
  return v === undefined || v.startsWith('--') ? true : v;
};

if (flag('load-child', false) === true) await loadChild();
else await main();

/** The load: exactly `--requests` answers over `--connections` loops, then one message. */
async function loadChild() {
  const { Pool } = createRequire(join(repoRoot, 'package.json'))('undici');
  const port = Number(flag('port'));
  const total = Number(flag('requests'));
  const connections = Number(flag('connections', 32));
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const request = { path: '/hello/world', method: 'GET', headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } };
  let issued = 0;
  let errors = 0;
  const t0 = process.hrtime.bigint();
  const loop = async () => {
    while (issued < total) {
      issued++;
      try {
        const res = await pool.request(request);
        await res.body.dump();
        if (res.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.send({ type: 'done', requests: total, errors, ms });
  await pool.destroy();
  process.exit(0);
}


function row(m) {
  const space = (name) => m.spaces.find((s) => s.space_name === name) ?? { space_size: 0, space_used_size: 0 };
  return {
    rss: m.usage.rss / MB,
    heapTotal: m.usage.heapTotal / MB,
    heapUsed: m.usage.heapUsed / MB,
    external: m.usage.external / MB,
    arrayBuffers: m.usage.arrayBuffers / MB,
    newSpace: space('new_space').space_size / MB,
    newSpaceUsed: space('new_space').space_used_size / MB,
    oldSpace: space('old_space').space_size / MB,
    oldSpaceUsed: space('old_space').space_used_size / MB,
    codeSpace: space('code_space').space_size / MB,
    largeObjects: (space('large_object_space').space_size + space('new_large_object_space').space_size) / MB,
  };
}

async function main() {
  // `name@KEY=VALUE+KEY2=VALUE2`: a known variant with more environment (an option's effect on memory).
  const variants = pickVariants(tracerVariants(), flag('variants', 'baseline,als-floor,tracewell'));
  const requests = Number(flag('requests', 200_000));
  const rounds = Number(flag('rounds', 1));
  const connections = Number(flag('connections', 32));
  const execPath = nodeBinary(flag('node', undefined));
  const pin = flag('pin', '0:1');
  const [serverCpu, loadCpu] = pin === 'off' ? [undefined, undefined] : String(pin === true ? '0:1' : pin).split(':');
  const snapshotDir = flag('snapshot-dir', undefined);
  const nodeFlags = flag('node-flags', '');
  const jsonOut = flag('json', undefined);
  const framework = flag('framework', 'fastify');
  // Each server's stdout to a file (with --node-flags "--trace-gc-nvp": every collection).
  const outDir = flag('stdout-dir', undefined);
  if (outDir) mkdirSync(outDir, { recursive: true });
  if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
  const log = (s) => process.stderr.write(`${s}\n`);
  const version = (await import('node:child_process')).execFileSync(execPath, ['--version']).toString().trim();
  log(`node ${version}, ${requests} requests per variant, ${rounds} round(s), servers on CPU ${serverCpu ?? 'any'}, load on CPU ${loadCpu ?? 'any'}`);

  const results = {};
  for (let round = 1; round <= rounds; round++) {
    const sink = await startSinkProcess(variants.map((v) => v.name));
    const withFlags = variants.map((v) => (nodeFlags ? { ...v, execArgv: [...String(nodeFlags).split(' ').filter(Boolean), ...(v.execArgv ?? [])] } : v));
    const { servers, failed } = await startVariantServers(withFlags, { script: join(here, 'server.mjs'), serverEnv: { FRAMEWORK: framework }, execPath, cpus: serverCpu, sink, log });
    if (Object.keys(failed).length > 0) throw new Error(`not started: ${JSON.stringify(failed)}`);
    if (outDir) for (const s of Object.values(servers)) s.child.stdout.pipe(createWriteStream(join(outDir, `${s.name}-r${round}.log`)));
    await Promise.all(
      Object.values(servers).map(async (s) => {
        // --snapshot-during MS: a heap snapshot while the load runs (what is alive at saturation).
        const during = Number(flag('snapshot-during', 0));
        if (snapshotDir && during > 0) {
          setTimeout(() => {
            const id = 1000 + round;
            const snap = waitMessage(s.child, (m) => m?.type === 'memory' && m.id === id, 120_000, `${s.name} snapshot`);
            s.child.send({ type: 'memory', id, snapshot: join(snapshotDir, `${s.name}-r${round}-during.heapsnapshot`) });
            snap.then(() => log(`${s.name}: snapshot during load written`), (e) => log(String(e)));
          }, during);
        }
        const load = forkChild(join(here, 'memory.mjs'), ['--load-child', '--port', String(s.port), '--requests', String(requests), '--connections', String(connections)], { cpus: loadCpu });
        const done = await waitMessage(load, (m) => m?.type === 'done', 30 * 60_000, `${s.name} load`);
        let nextId = 1;
        const snapshot = snapshotDir ? join(snapshotDir, `${s.name}-r${round}.heapsnapshot`) : undefined;
        const reply = waitMessage(s.child, (m) => m?.type === 'memory' && m.id < 1000, 120_000, `${s.name} memory`);
        s.child.send({ type: 'memory', id: nextId++, snapshot });
        const m = await reply;
        const r = { ...row(m), served: m.requests, errors: done.errors, rps: Math.round((done.requests / done.ms) * 1000), cpuPerReq: (m.cpu.user + m.cpu.system) / m.requests };
        (results[s.name] ??= []).push(r);
        log(`round ${round} ${s.name}: ${r.served} served in ${(done.ms / 1000).toFixed(1)} s (${r.rps} req/s, ${r.errors} errors), rss ${r.rss.toFixed(1)} MB, new space ${r.newSpace.toFixed(1)} MB, old ${r.oldSpace.toFixed(1)} MB, arrayBuffers ${r.arrayBuffers.toFixed(1)} MB`);
      }),
    );
    const stats = await sink.stats();
    for (const [name, st] of Object.entries(stats)) if (st.bytes > 0) log(`round ${round} ${name}: sink got ${st.requests} requests, ${(st.bytes / MB).toFixed(1)} MB`);
    for (const s of Object.values(servers)) await s.stop();
    await sink.close();
  }

  const fields = ['rss', 'heapTotal', 'heapUsed', 'newSpace', 'oldSpace', 'oldSpaceUsed', 'codeSpace', 'largeObjects', 'external', 'arrayBuffers', 'rps', 'cpuPerReq'];
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const fmt = (x, f) => (f === 'rps' ? String(Math.round(x)) : x.toFixed(1));
  const cell = (xs, f) => (xs.length === 1 ? fmt(xs[0], f) : `${fmt(med(xs), f)} [${fmt(Math.min(...xs), f)}, ${fmt(Math.max(...xs), f)}]`);
  console.log(`\nnode ${version}, ${framework}, ${requests} requests per variant at saturation, ${rounds} round(s); MB; req/s under whatever else ran; cpuPerReq: the server's CPU µs (start-up included) per request\n`);
  console.log(`| | ${Object.keys(results).join(' | ')} |`);
  console.log(`|---|${Object.keys(results).map(() => '---').join('|')}|`);
  for (const f of fields) console.log(`| ${f} | ${Object.values(results).map((rs) => cell(rs.map((r) => r[f]), f)).join(' | ')} |`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ node: version, requests, rounds, framework, results }, null, 2));
}

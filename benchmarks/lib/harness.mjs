// Interleaved benchmark rounds: every variant is its own long-lived server process; each
// round drives load at one variant at a time (A B C A B C ...), so drift of the machine hits
// all variants alike. Results are medians with min-max, and ratios to the baseline measured
// in the same run.
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
export const benchRoot = join(here, '..');
export const repoRoot = join(benchRoot, '..');
const require = createRequire(import.meta.url);
export const { startSink } = require('./sink.cjs');

function once(child, pred) {
  return new Promise((resolve, reject) => {
    const onMsg = (m) => {
      if (pred(m)) {
        child.off('message', onMsg);
        child.off('exit', onExit);
        resolve(m);
      }
    };
    const onExit = (code) => reject(new Error(`process exited with ${code}`));
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

/** Starts a variant's server; resolves with { port, child } or { error }. */
export async function startServer(variant, sinkUrl, framework, serverScript = join(here, 'server.cjs'), execPath = process.execPath) {
  const child = fork(serverScript, [], {
    execPath,
    cwd: repoRoot,
    execArgv: variant.execArgv ?? [],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FRAMEWORK: framework, DD_TRACE_AGENT_URL: sinkUrl, DD_SERVICE: 'bench', DD_ENV: 'bench', DD_VERSION: '1.0.0', ...(variant.env ?? {}) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    const { port } = await Promise.race([once(child, (m) => m && m.port), new Promise((_, rej) => setTimeout(() => rej(new Error('no port in 20 s')), 20_000))]);
    return { port, child };
  } catch (err) {
    child.kill('SIGKILL');
    return { error: `${err.message}: ${stderr.slice(0, 500)}` };
  }
}

async function drive(server, { durationMs, rate, connections, loadScript = join(here, 'load.cjs') }) {
  const load = fork(loadScript, [], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, PORT: String(server.port), DURATION: String(durationMs), RATE: String(rate), CONNECTIONS: String(connections) },
  });
  // Measure the server over the load's steady middle: skip its first 200 ms.
  await new Promise((r) => setTimeout(r, 200));
  server.child.send('start');
  const result = await once(load, (m) => m && m.done !== undefined);
  server.child.send('stop');
  const usage = await once(server.child, (m) => m && m.cpuMicros !== undefined);
  return {
    rps: result.done / (durationMs / 1000),
    errors: result.errors,
    p50: result.p50,
    p99: result.p99,
    cpuPerRequest: usage.requests > 0 ? usage.cpuMicros / usage.requests : NaN,
    rssMb: usage.rss / 1048576,
  };
}

export function summarize(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN };
  const mid = Math.floor(v.length / 2);
  return { median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, min: v[0], max: v[v.length - 1] };
}

/**
 * Runs `variants` ({ name, execArgv, env }) on `framework` in interleaved rounds, in two
 * modes: saturated (as fast as the server answers: throughput, p99) and paced at `rate`
 * requests per second (server CPU per request at equal load, which is what a tracer adds).
 */
export async function runInterleaved({ variants, framework, rounds, warmupMs, windowMs, rate, connections = 32, serverScript, loadScript, execPath, log = (s) => process.stderr.write(s + '\n') }) {
  const sink = await startSink();
  const servers = {};
  const failed = {};
  for (const v of variants) {
    const s = await startServer(v, sink.url, framework, serverScript, execPath);
    if (s.error) {
      failed[v.name] = s.error;
      log(`variant ${v.name} did not start: ${s.error}`);
    } else servers[v.name] = s;
  }
  const live = variants.filter((v) => servers[v.name]);
  for (const v of live) await drive(servers[v.name], { durationMs: warmupMs, rate: 0, connections, loadScript });
  const raw = Object.fromEntries(live.map((v) => [v.name, { saturated: [], paced: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const v of live) {
      raw[v.name].saturated.push(await drive(servers[v.name], { durationMs: windowMs, rate: 0, connections, loadScript }));
      raw[v.name].paced.push(await drive(servers[v.name], { durationMs: windowMs, rate, connections, loadScript }));
    }
    log(`round ${r + 1}/${rounds} done`);
  }
  for (const s of Object.values(servers)) s.child.send('exit');
  sink.close();
  const results = {};
  for (const v of live) {
    const { saturated, paced } = raw[v.name];
    results[v.name] = {
      rps: summarize(saturated.map((x) => x.rps)),
      p99: summarize(saturated.map((x) => x.p99)),
      cpuSaturated: summarize(saturated.map((x) => x.cpuPerRequest)),
      cpuPaced: summarize(paced.map((x) => x.cpuPerRequest)),
      rssMb: summarize(saturated.map((x) => x.rssMb)),
      errors: saturated.concat(paced).reduce((a, x) => a + x.errors, 0),
      // Ratios per round (same round = same machine state), then their median.
      rpsRatio: summarize(saturated.map((x, i) => x.rps / raw[live[0].name].saturated[i].rps)),
      cpuAddedPaced: summarize(paced.map((x, i) => x.cpuPerRequest - raw[live[0].name].paced[i].cpuPerRequest)),
    };
  }
  return { results, failed, raw, sinkBytes: sink.stats.bytes };
}

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const range = (s, d = 1) => `${fmt(s.median, d)} (${fmt(s.min, d)}-${fmt(s.max, d)})`;

export function markdownTable(results) {
  const lines = [
    '| variant | req/s saturated | ratio to baseline | p99 ms | CPU µs/req saturated | CPU µs/req at fixed rate | added µs/req at fixed rate | RSS MB |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, r] of Object.entries(results)) {
    lines.push(`| ${name} | ${range(r.rps, 0)} | ${range(r.rpsRatio, 2)} | ${range(r.p99, 2)} | ${range(r.cpuSaturated)} | ${range(r.cpuPaced)} | ${range(r.cpuAddedPaced)} | ${fmt(r.rssMb.median, 0)} |`);
  }
  return lines.join('\n');
}

export function machine(execPath = process.execPath) {
  const node = execPath === process.execPath ? process.version : execFileSync(execPath, ['-v'], { encoding: 'utf8' }).trim();
  return { node, cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', date: new Date().toISOString() };
}

export function saveJson(name, data) {
  const dir = join(benchRoot, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2));
  return file;
}

/** The variants named in a comma list, from a table of known ones. */
export function pickVariants(known, list) {
  return list.split(',').map((n) => {
    if (!known[n]) throw new Error(`unknown variant ${n}; known: ${Object.keys(known).join(', ')}`);
    return known[n];
  });
}

/** Every tracer a scenario can run, as node flags; peers come from benchmarks/node_modules. */
export function tracerVariants() {
  return {
    baseline: { name: 'baseline' },
    'als-floor': { name: 'als-floor', execArgv: ['--require', join(here, 'als-floor.cjs')] },
    tracewell: { name: 'tracewell', execArgv: ['--require', 'tracewell/register'] },
    'dd-trace': { name: 'dd-trace', execArgv: ['--require', join(benchRoot, 'node_modules', 'dd-trace', 'init.js')], env: { DD_TRACE_STARTUP_LOGS: 'false', DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false', DD_REMOTE_CONFIGURATION_ENABLED: 'false', DD_RUNTIME_METRICS_ENABLED: 'false' } },
    otel: { name: 'otel', execArgv: ['--require', join(here, 'otel-preload.cjs')] },
  };
}

/**
 * What every scenario's command line shares: `--quick`, `--variants a,b`, `--rounds N`,
 * `--node N`. Returns the parsed arguments and the common run options.
 */
export async function scenarioOptions(argv, defaults) {
  const { nodeBinary } = await import('./node-bin.mjs');
  const args = parseArgs(argv, defaults);
  const quick = Boolean(args.quick);
  return {
    args,
    options: {
      variants: pickVariants(tracerVariants(), args.variants),
      execPath: nodeBinary(args.node),
      rounds: Number(args.rounds ?? (quick ? 3 : 7)),
      warmupMs: quick ? 1500 : 3000,
      windowMs: quick ? 2000 : 4000,
    },
  };
}

export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') out.quick = true;
    else if (a.startsWith('--')) {
      const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
      out[key] = argv[++i];
    }
  }
  return out;
}

// The one place every tracer exports to during a benchmark: accepts Datadog (PUT/POST
// /v0.4/traces, /v0.5/traces) and OTLP (POST /v1/traces) payloads, reads every byte, answers
// 200 and counts requests and bytes per path. The same code for every variant keeps export
// costs real and comparable; one port per variant attributes the bytes to the variant.
//
// In-process: `await startSink(['baseline', 'tracewell'])`. In its own process (what the
// harness uses, so the parent's event loop stays free for IPC): `await startSinkProcess(names)`,
// or `node benchmarks/lib/sink.mjs --names a,b` which reports { type: 'listening', urls }
// over IPC and answers { type: 'stats', id }.
import { forkChild, waitMessage } from './server-process.mjs';
import http from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';

// A real agent answers trace payloads with sampling rates; 1 for everything keeps what every
// tracer does by default; `GET /info` with the endpoints a current agent lists (a tracer that
// reads it may pick /v0.5/traces, as it would with a real agent). Everything else gets `{}`.
export const DATADOG_ANSWER = '{"rate_by_service":{"service:,env:":1}}';
export const AGENT_INFO = JSON.stringify({ version: '7.60.0', endpoints: ['/v0.4/traces', '/v0.5/traces', '/v0.7/traces', '/profiling/v1/input', '/debugger/v1/input', '/debugger/v1/diagnostics', '/info'], client_drop_p0s: false, config: { max_request_bytes: 26214400 } });

function sinkServer(stats) {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const entry = (stats.byPath[`${req.method} ${path}`] ??= { requests: 0, bytes: 0 });
    req.on('data', (chunk) => {
      entry.bytes += chunk.length;
      stats.bytes += chunk.length;
    });
    req.on('end', () => {
      entry.requests++;
      stats.requests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(/^\/v0\.\d\/traces$/.test(path) ? DATADOG_ANSWER : path === '/info' ? AGENT_INFO : '{}');
    });
    req.on('error', () => {});
  });
}

/** Starts one listener per name on 127.0.0.1:0. Resolves with { urls, stats(), close() }. */
export async function startSink(names = ['default']) {
  const all = {};
  const servers = [];
  const urls = {};
  for (const name of names) {
    const stats = (all[name] = { requests: 0, bytes: 0, byPath: {} });
    const server = sinkServer(stats);
    server.keepAliveTimeout = 30_000;
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    servers.push(server);
    urls[name] = `http://127.0.0.1:${server.address().port}`;
  }
  return {
    urls,
    stats: async () => structuredClone(all),
    close: async () => {
      for (const s of servers) {
        s.closeAllConnections?.();
        s.close();
      }
    },
  };
}

/** The same sink in a child process; the same { urls, stats(), close() } shape. */
export async function startSinkProcess(names, { timeoutMs = 10_000 } = {}) {
  // forkChild keeps its output for error messages and kills it when we exit.
  const child = forkChild(fileURLToPath(import.meta.url), ['--names', names.join(',')]);
  const waitFor = (pred, what) => waitMessage(child, pred, timeoutMs, `sink: ${what}`);
  const { urls } = await waitFor((m) => m?.type === 'listening', 'listening message').catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  let nextId = 0;
  return {
    urls,
    child,
    stats: async () => {
      const id = ++nextId;
      const reply = waitFor((m) => m?.type === 'stats' && m.id === id, 'stats');
      child.send({ type: 'stats', id });
      return (await reply).stats;
    },
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'exit' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// Run as a child process.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--names');
  const names = i === -1 ? ['default'] : process.argv[i + 1].split(',').filter(Boolean);
  const sink = await startSink(names);
  if (!process.send) {
    console.log(JSON.stringify(sink.urls));
  } else {
    process.on('message', async (m) => {
      if (m?.type === 'stats') process.send({ type: 'stats', id: m.id, stats: await sink.stats() });
      else if (m?.type === 'exit') process.exit(0);
    });
    process.on('disconnect', () => process.exit(0));
    process.send({ type: 'listening', urls: sink.urls });
  }
}

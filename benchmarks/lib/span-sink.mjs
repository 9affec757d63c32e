// A trace sink that counts spans, not just bytes: Datadog v0.4/v0.5 msgpack payloads are
// decoded with @msgpack/msgpack, OTLP/HTTP protobuf with Tracewell's own decoder (dist/, so
// `npm run build` first). Used where a scenario must tell how many spans arrived (span
// pipeline, outage soak); the hello-world scenarios use the cheaper byte-counting sink.mjs.
//
// `trackIds: true` also keeps every span id seen, so duplicates (a span sent twice) are
// counted apart from spans received.
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from './server-process.mjs';

const require = createRequire(import.meta.url);
const { decode } = require(require.resolve('@msgpack/msgpack', { paths: [repoRoot] }));
let decodeOtlp = null;
function otlpDecoder() {
  decodeOtlp ??= require(join(repoRoot, 'dist', 'cjs', 'dev-agent', 'decode-otlp.js')).decodeOtlpTraces;
  return decodeOtlp;
}

import { AGENT_INFO, DATADOG_ANSWER } from './sink.mjs';

/** Span ids of a Datadog payload (v0.4: [[span...]...]; v0.5: [strings, [[[...12 fields]...]...]]). */
function datadogSpanIds(path, body) {
  const doc = decode(body, { useBigInt64: true });
  const ids = [];
  if (path === '/v0.5/traces') {
    for (const trace of doc[1]) for (const span of trace) ids.push(String(span[4]));
  } else {
    for (const trace of doc) for (const span of trace) ids.push(String(span.span_id));
  }
  return ids;
}

/**
 * Starts the sink on 127.0.0.1 (`port` 0 = any). `refuse()` closes the listener so that
 * connections are refused (an agent that is down), `accept()` opens it again on the same port.
 */
export async function startSpanSink({ port = 0, trackIds = false } = {}) {
  const stats = { requests: 0, bytes: 0, spans: 0, unique: 0, duplicates: 0, undecodable: 0, firstAt: 0, lastAt: 0 };
  const seen = trackIds ? new Set() : null;
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      stats.requests++;
      stats.bytes += body.length;
      try {
        const ids = path === '/v1/traces' ? otlpDecoder()(body).map((s) => s.spanId) : /^\/v0\.[45]\/traces$/.test(path) ? datadogSpanIds(path, body) : [];
        stats.spans += ids.length;
        if (ids.length > 0) {
          stats.lastAt = Date.now();
          if (stats.firstAt === 0) stats.firstAt = stats.lastAt;
        }
        if (seen !== null) {
          for (const id of ids) {
            if (seen.has(id)) stats.duplicates++;
            else seen.add(id);
          }
          stats.unique = seen.size;
        }
      } catch {
        stats.undecodable++;
      }
      res.writeHead(200, { 'content-type': path === '/v1/traces' ? 'application/x-protobuf' : 'application/json' });
      res.end(path === '/v1/traces' ? undefined : /^\/v0\.[45]\/traces$/.test(path) ? DATADOG_ANSWER : path === '/info' ? AGENT_INFO : '{}');
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = (p) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(server.address().port);
      });
    });
  const boundPort = await listen(port);
  const close = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${boundPort}`,
    port: boundPort,
    stats,
    refuse: close,
    accept: () => listen(boundPort),
    close,
  };
}

/** A port nothing listens on now (bound then released). */
export async function freePort() {
  const s = http.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// What a framework integration costs per request, in CPU, without sockets or a load generator:
// the measure a server-level run cannot resolve when other work shares the machine (CPU time
// spent per request barely moves with contention; req/s does). Each request is a real
// IncomingMessage and ServerResponse handed to a real `http.Server` (never listening) through
// `emit('request')`, which is where Tracewell's http integration starts the server span; the
// framework's own request listener answers it, and the span ends at `res.end()` as on a socket.
// Spans are exported to a sink in its own process, as in `run.mjs`.
//
// Frameworks: hono (Hono 4 on @hono/node-server's listener), koa (Koa 3, @koa/router),
// fastify (Fastify 5, its server's own listener), with the hello-world route of server.mjs.
// Variants, each its own process, alternated over rounds:
//   untraced       no preload
//   http-only      `--import tracewell/register`, the framework integrations off (the server
//                  span of the http integration alone)
//   tracewell      `--import tracewell/register` (route named, errors watched)
//   tracewell-aa   the same as tracewell, run again: the A/A control
//   tracewell-ref  another build's preload (TRACEWELL_REF=/path/to/checkout, built): before/after
// Prints CPU µs per request (median over rounds [min, max]) and the differences to the first
// variant listed and to http-only.
// Usage: node benchmarks/http-overhead/framework-cost.mjs [--frameworks hono,koa] [--rounds 5]
//        [--requests 20000] [--variants untraced,http-only,tracewell]   (`npm run build` first)
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const argv = process.argv.slice(2);
const arg = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? def : argv[i + 1];
};

if (argv[0] === '--child') await child(argv[1], Number(argv[2]));
else await driver();

async function child(framework, requests) {
  const fromRoot = createRequire(join(root, 'package.json'));
  const http = fromRoot('node:http');
  const net = fromRoot('node:net');
  let listener;
  if (framework === 'hono') {
    const { Hono } = fromRoot('hono');
    const { getRequestListener } = fromRoot('@hono/node-server');
    const app = new Hono();
    app.get('/hello/:name', (c) => c.json({ hello: c.req.param('name') }));
    listener = getRequestListener(app.fetch);
  } else if (framework === 'koa') {
    const Koa = fromRoot('koa');
    const Router = fromRoot('@koa/router');
    const app = new Koa();
    const router = new Router();
    router.get('/hello/:name', (ctx) => {
      ctx.body = { hello: ctx.params.name };
    });
    app.use(router.routes());
    listener = app.callback();
  } else if (framework !== 'fastify') {
    throw new Error(`--frameworks: hono, koa or fastify, not ${framework}`);
  }
  let server;
  if (framework === 'fastify') {
    const app = fromRoot('fastify')({ logger: false });
    app.get('/hello/:name', async (req) => ({ hello: req.params.name }));
    await app.ready();
    server = app.server;
  } else {
    server = new http.Server();
    server.on('request', listener);
  }
  // One connection for every request, as keep-alive clients have.
  const socket = new net.Socket();
  const headers = { host: '127.0.0.1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
  const rawHeaders = Object.entries(headers).flat();
  const one = () =>
    new Promise((resolve) => {
      const req = new http.IncomingMessage(socket);
      req.method = 'GET';
      req.url = '/hello/ada';
      req.headers = headers;
      req.rawHeaders = rawHeaders;
      req.httpVersion = '1.1';
      req.httpVersionMajor = 1;
      req.httpVersionMinor = 1;
      req.complete = true;
      req.push(null);
      const res = new http.ServerResponse(req);
      const end = res.end;
      res.end = function (...args) {
        const r = end.apply(this, args);
        resolve();
        return r;
      };
      server.emit('request', req, res);
    });
  for (let i = 0; i < 5000; i++) await one();
  const blocks = [];
  const per = Math.max(1000, Math.floor(requests / 5));
  for (let b = 0; b < 5; b++) {
    const t = process.cpuUsage();
    for (let i = 0; i < per; i++) await one();
    const d = process.cpuUsage(t);
    blocks.push((d.user + d.system) / per);
  }
  blocks.sort((a, b) => a - b);
  // The process exits on its own (the tracer's exit hook flushes, outside the measure).
  process.stdout.write(JSON.stringify({ usPerRequest: blocks[2] }));
}

async function driver() {
  const { startSinkProcess } = await import('../lib/sink.mjs');
  const frameworks = String(arg('frameworks', 'hono,koa')).split(',');
  const rounds = Number(arg('rounds', 5));
  const requests = Number(arg('requests', 20000));
  const variants = String(arg('variants', 'untraced,http-only,tracewell')).split(',');
  const preload = {
    untraced: [],
    'http-only': ['--import', 'tracewell/register'],
    tracewell: ['--import', 'tracewell/register'],
    // A second run of this build: the A/A control (what two runs of one build differ by).
    'tracewell-aa': ['--import', 'tracewell/register'],
    ...(process.env.TRACEWELL_REF ? { 'tracewell-ref': ['--import', pathToFileURL(join(process.env.TRACEWELL_REF, 'dist', 'esm', 'register.mjs')).href] } : {}),
  };
  for (const v of variants) if (!preload[v]) throw new Error(`unknown variant ${v}; known: ${Object.keys(preload).join(', ')}`);
  const sink = await startSinkProcess(variants);
  const results = {};
  try {
    for (let r = 0; r < rounds; r++) {
      for (const fw of frameworks) {
        for (const v of variants) {
          const env = { PATH: process.env.PATH, HOME: process.env.HOME, DD_SERVICE: 'bench', DD_ENV: 'bench', DD_TRACE_AGENT_URL: sink.urls[v], TRACEWELL_DLQ_ENABLED: 'false' };
          if (v === 'http-only') env.TRACEWELL_DISABLED_INSTRUMENTATIONS = 'hono,koa,fastify';
          const execArgv = preload[v];
          const out = execFileSync(process.execPath, [...execArgv, fileURLToPath(import.meta.url), '--child', fw, String(requests)], { cwd: root, env, encoding: 'utf8' });
          const { usPerRequest } = JSON.parse(out);
          (results[fw] ??= {})[v] ??= [];
          results[fw][v].push(usPerRequest);
          process.stderr.write(`round ${r + 1}/${rounds} ${fw} ${v}: ${usPerRequest.toFixed(2)} µs CPU/request\n`);
        }
      }
    }
  } finally {
    sink.child.kill();
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (xs) => `${med(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}, ${Math.max(...xs).toFixed(2)}]`;
  console.log(`\n## framework-cost: Node ${process.version}, ${rounds} rounds, ${requests} requests per process\n`);
  const first = variants[0];
  const diff = (a, b) => a.map((v, i) => v - b[i]);
  const cols = variants.slice(1).map((v) => `${v} − ${first}`);
  if (variants.includes('http-only') && variants.includes('tracewell')) cols.push('tracewell − http-only (the integration)');
  console.log(`| framework | ${variants.map((v) => `${v} µs/req`).join(' | ')} | ${cols.join(' | ')} |`);
  console.log(`| --- | ${variants.map(() => '---').join(' | ')} | ${cols.map(() => '---').join(' | ')} |`);
  for (const fw of frameworks) {
    const x = results[fw];
    const cells = variants.map((v) => fmt(x[v]));
    const diffs = variants.slice(1).map((v) => fmt(diff(x[v], x[first])));
    if (variants.includes('http-only') && variants.includes('tracewell')) diffs.push(fmt(diff(x.tracewell, x['http-only'])));
    console.log(`| ${fw} | ${cells.join(' | ')} | ${diffs.join(' | ')} |`);
  }
}

// The service under test: a hello-world `GET /hello/:name` answering a small JSON object, on
// 127.0.0.1 and a free port. FRAMEWORK=fastify (default, Fastify 5) | express | http | hono
// (Hono 4 on @hono/node-server) | koa (Koa 3 with @koa/router).
// Speaks the harness's IPC (../lib/serve-usage.cjs): reports its port, and on request its
// cumulative CPU time, RSS and requests served, counted in the handler.
//
// The framework is loaded with require() from the repository root: the way every tracer's
// CommonJS hook sees it, and the same copy whatever benchmarks/node_modules holds.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(import.meta.url);
const fromRoot = createRequire(join(here, '..', '..', 'package.json'));
const { serveUsage, announce } = require('../lib/serve-usage.cjs');

const framework = process.env.FRAMEWORK || 'fastify';
let served = 0;
let port;

if (framework === 'fastify') {
  const app = fromRoot('fastify')({ logger: false });
  app.get('/hello/:name', async (req) => {
    served++;
    return { hello: req.params.name };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = app.server.address().port;
} else if (framework === 'express') {
  const app = fromRoot('express')();
  app.get('/hello/:name', (req, res) => {
    served++;
    res.json({ hello: req.params.name });
  });
  port = await new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
} else if (framework === 'http') {
  const http = fromRoot('node:http');
  const server = http.createServer((req, res) => {
    if (!req.url.startsWith('/hello/')) {
      res.statusCode = 404;
      res.end();
      return;
    }
    served++;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify({ hello: req.url.slice(7) }));
  });
  port = await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
} else if (framework === 'hono') {
  const { Hono } = fromRoot('hono');
  const { serve } = fromRoot('@hono/node-server');
  const app = new Hono();
  app.get('/hello/:name', (c) => {
    served++;
    return c.json({ hello: c.req.param('name') });
  });
  port = await new Promise((resolve) => serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port)));
} else if (framework === 'koa') {
  const Koa = fromRoot('koa');
  const Router = fromRoot('@koa/router');
  const app = new Koa();
  const router = new Router();
  router.get('/hello/:name', (ctx) => {
    served++;
    ctx.body = { hello: ctx.params.name };
  });
  app.use(router.routes());
  port = await new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
} else {
  throw new Error(`FRAMEWORK must be fastify, express, http, hono or koa, not ${framework}`);
}

serveUsage(() => served);
announce(port);

// A hello-world service under test. FRAMEWORK=fastify|express|http. Reports its port over
// IPC; on 'start'/'stop' messages it reports CPU time and requests served in between.
'use strict';
const framework = process.env.FRAMEWORK || 'fastify';
let served = 0;
let listen;
if (framework === 'fastify') {
  const app = require('fastify')();
  app.get('/hello/:name', async (req) => {
    served++;
    return { hello: req.params.name };
  });
  listen = () => app.listen({ port: 0, host: '127.0.0.1' }).then(() => app.server.address().port);
} else if (framework === 'express') {
  const app = require('express')();
  app.get('/hello/:name', (req, res) => {
    served++;
    res.json({ hello: req.params.name });
  });
  listen = () => new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s.address().port)); });
} else {
  const http = require('node:http');
  const server = http.createServer((req, res) => {
    served++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ hello: req.url.slice(7) }));
  });
  listen = () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

listen().then((port) => process.send({ port }));
require('./pacer.cjs').reportUsage(() => served);

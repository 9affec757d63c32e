// The profiles service: plain node:http, CommonJS, started with
// `node --require tracewell/register examples/users-api/profiles.cjs`.
const http = require('node:http');

const profiles = { 1: { name: 'Ada', plan: 'pro' }, 2: { name: 'Grace', plan: 'free' } };

const server = http.createServer((req, res) => {
  // Callers present a service token (a real service would check it).
  const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  if (token === '') {
    res.writeHead(401, { 'content-type': 'application/json' });
    return res.end('{"error":"no token"}');
  }
  const match = /^\/profiles\/([^/?]+)/.exec(req.url);
  const profile = match && profiles[match[1]];
  setTimeout(() => {
    res.writeHead(profile ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(profile ?? { error: 'not found' }));
  }, 3);
});

server.listen(Number(process.env.PORT ?? 3001), '127.0.0.1', () => {
  const { port } = server.address();
  if (process.send) process.send({ service: 'profiles', port });
  else process.stdout.write(`profiles listening on http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

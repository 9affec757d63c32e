// The one place every tracer exports to during a benchmark: accepts Datadog and OTLP trace
// payloads, answers 200, counts bytes. The same sink for every variant keeps the comparison fair.
'use strict';
const http = require('node:http');

function startSink() {
  const stats = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    req.on('data', (c) => (stats.bytes += c.length));
    req.on('end', () => {
      stats.requests++;
      res.setHeader('content-type', 'application/json');
      res.end(req.url.startsWith('/v0.') ? '{"rate_by_service":{"service:,env:":1}}' : '{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, stats, close: () => server.close() })));
}

module.exports = { startSink };

// The server side of the harness's IPC protocol, for any server under test (CommonJS or ESM):
//   announce(port)            -> parent gets { type: 'listening', port }
//   parent { type: 'usage', id } -> { type: 'usage', id, cpu: process.cpuUsage(), rss, requests, hrMicros }
//   parent { type: 'exit' }   -> the process exits; so does losing the parent.
// The parent reads usage at a window's start and end and divides the CPU difference by the
// requests difference. Readings are raw and cumulative; no state lives here.
'use strict';

function serveUsage(requests) {
  process.on('message', (m) => {
    if (!m || typeof m !== 'object') return;
    if (m.type === 'usage') {
      process.send({
        type: 'usage',
        id: m.id,
        cpu: process.cpuUsage(),
        rss: process.memoryUsage.rss(),
        requests: requests(),
        hrMicros: Number(process.hrtime.bigint() / 1000n),
      });
    } else if (m.type === 'exit') {
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

function announce(port) {
  process.send({ type: 'listening', port });
}

module.exports = { serveUsage, announce };

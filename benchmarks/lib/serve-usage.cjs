// The server side of the harness's IPC protocol, for any server under test (CommonJS or ESM):
//   announce(port)            -> parent gets { type: 'listening', port }
//   parent { type: 'usage', id } -> { type: 'usage', id, cpu: process.cpuUsage(), mainCpuMicros, rss, requests, hrMicros }
//   (mainCpuMicros: the main thread's own CPU time, from /proc/thread-self/schedstat; NaN
//   where there is none. A Node server's throughput is bounded by its main thread as long as
//   its other threads (GC helpers, a profiler's sampling threads) find a core of their own.)
//   parent { type: 'memory', id, snapshot? } -> { type: 'memory', id, usage: process.memoryUsage(),
//                             spaces: v8.getHeapSpaceStatistics(), cpu, requests } (and a heap snapshot
//                             written to `snapshot` first, when given: benchmarks/http-overhead/memory.mjs)
//   parent { type: 'exit' }   -> the process exits; so does losing the parent.
// The parent reads usage at a window's start and end and divides the CPU difference by the
// requests difference. Readings are raw and cumulative; no state lives here.
'use strict';
const { readFileSync } = require('node:fs');

function mainThreadCpuMicros() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
  } catch {
    return NaN;
  }
}

function serveUsage(requests) {
  process.on('message', (m) => {
    if (!m || typeof m !== 'object') return;
    if (m.type === 'usage') {
      process.send({
        type: 'usage',
        id: m.id,
        cpu: process.cpuUsage(),
        mainCpuMicros: mainThreadCpuMicros(),
        rss: process.memoryUsage.rss(),
        requests: requests(),
        hrMicros: Number(process.hrtime.bigint() / 1000n),
      });
    } else if (m.type === 'memory') {
      // Read before a snapshot: writing one allocates, and may collect.
      const v8 = require('node:v8');
      const usage = process.memoryUsage();
      const spaces = v8.getHeapSpaceStatistics();
      const heap = v8.getHeapStatistics();
      if (typeof m.snapshot === 'string') v8.writeHeapSnapshot(m.snapshot);
      process.send({ type: 'memory', id: m.id, usage, spaces, heap, cpu: process.cpuUsage(), requests: requests() });
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

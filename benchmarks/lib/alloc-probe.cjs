// Preloaded into a server under test (`--require`): answers { type: 'alloc', id } over IPC
// with the bytes V8 has allocated on its heap since start (`total_allocated_bytes`, Node 26+;
// null before), so a harness can divide the difference over a window by the requests.
'use strict';
const v8 = require('node:v8');

process.on('message', (m) => {
  if (m === null || typeof m !== 'object' || m.type !== 'alloc') return;
  const bytes = v8.getHeapStatistics().total_allocated_bytes;
  process.send({ type: 'alloc', id: m.id, bytes: typeof bytes === 'number' ? bytes : null });
});

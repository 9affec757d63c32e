// One mode of resource-in-callback.mjs: `n` round trips of one byte over a loopback TCP
// connection in this process; each `data` event on the client's side (a native callback, as
// a database driver's socket reads are) runs `mode`, then writes the next byte.
'use strict';
const { AsyncResource, AsyncLocalStorage } = require('node:async_hooks');
const net = require('node:net');

const [mode, count] = process.argv.slice(2);
const res = new AsyncResource('bench');
const als = new AsyncLocalStorage();
const noop = () => 1;
let left = Number(count);
const one = Buffer.from('x');

const server = net.createServer((s) => s.on('data', (d) => s.write(d))).listen(0, '127.0.0.1', () => {
  const c = net.connect(server.address().port, '127.0.0.1', () => c.write(one));
  c.setNoDelay(true);
  c.on('data', () => {
    if (mode === 'resource') res.runInAsyncScope(noop, null);
    else if (mode === 'resource-twice') {
      res.runInAsyncScope(noop, null);
      res.runInAsyncScope(noop, null);
    } else if (mode === 'als-run') als.run(1, noop);
    if (--left > 0) c.write(one);
    else {
      c.destroy();
      server.close();
    }
  });
});

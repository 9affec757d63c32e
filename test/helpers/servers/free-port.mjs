// A free TCP port on 127.0.0.1, for servers that cannot be told to listen on port 0 and report
// the port (redis-server, RabbitMQ and its Erlang port mapper). The port is released before it
// is returned, so another process could take it first: `startWithRetry` starts again on a new
// one when a server fails for that reason.
import net from 'node:net';

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connection to 127.0.0.1:port is accepted, or rejects after `ms`. */
export async function waitForPort(port, ms, isDead = () => null) {
  const end = Date.now() + ms;
  for (;;) {
    const dead = isDead();
    if (dead) throw new Error(dead);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listened on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

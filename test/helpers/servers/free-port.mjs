// A free TCP port on 127.0.0.1, for servers that cannot be told to listen on port 0 and report
// the port (redis-server, PostgreSQL, MariaDB, RabbitMQ and its Erlang port mapper). The port
// is released before it is returned, so another process could take it before the server binds
// it: each server's start tries again on new ports when it fails for that reason.
//
// The port is drawn below the kernel's ephemeral range (ip_local_port_range): every listen(0)
// of the other test files running at the same time and every outgoing connection takes its
// port from that range, so a port from it is the likeliest to be taken during a server's boot
// (RabbitMQ's takes seconds, and CI once lost its distribution port that way).
import { readFileSync } from 'node:fs';
import net from 'node:net';

const EPHEMERAL_LOW = (() => {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 0;
  } catch {
    return 0;
  }
})();
const FIXED_LOW = 10_000;

function tryListen(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(0));
    srv.listen(port, '127.0.0.1', () => {
      const bound = srv.address().port;
      srv.close(() => resolve(bound));
    });
  });
}

export async function freePort() {
  if (EPHEMERAL_LOW - FIXED_LOW >= 1000) {
    for (let i = 0; i < 50; i++) {
      const port = await tryListen(FIXED_LOW + Math.floor(Math.random() * (EPHEMERAL_LOW - FIXED_LOW)));
      if (port) return port;
    }
  }
  const port = await tryListen(0);
  if (!port) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}

/** Whether `port` is below the ephemeral range (always true where that range is unknown). */
export function outsideEphemeralRange(port) {
  return EPHEMERAL_LOW === 0 || port < EPHEMERAL_LOW;
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

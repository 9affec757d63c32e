// The test harness's servers against the race that once turned CI red: RabbitMQ's distribution
// port, picked free, was taken by another test file's socket before the node bound it. Ports are
// now drawn below the kernel's ephemeral range, and a node whose port is taken starts again on
// new ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createRequire } from 'node:module';
import { freePort, outsideEphemeralRange } from '../helpers/servers/free-port.mjs';
import { startRabbit } from '../helpers/servers/rabbitmq.mjs';

const require = createRequire(import.meta.url);

function listen(port = 0) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => s.destroy());
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

test('free ports for the servers come from below the ephemeral range, and are free', async () => {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    assert.ok(outsideEphemeralRange(port), `port ${port} is in the ephemeral range`);
    const srv = await listen(port);
    await new Promise((r) => srv.close(r));
  }
});

test('a RabbitMQ node whose distribution port is taken starts again on new ports', async () => {
  const squatter = await listen(await freePort());
  const taken = squatter.address().port;
  let rabbit;
  try {
    rabbit = await startRabbit({ ports: { distPort: taken } });
    assert.equal(rabbit.attempts, 2, 'the first try (taken port) failed and the second started');
    assert.notEqual(rabbit.distPort, taken);
    const amqp = require('amqplib');
    const conn = await amqp.connect(rabbit.url);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(q.queue, Buffer.from('hello'));
    let msg = false;
    for (let i = 0; i < 50 && !msg; i++) {
      msg = await ch.get(q.queue, { noAck: true });
      if (!msg) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(msg && msg.content.toString(), 'hello');
    await conn.close();
  } finally {
    await rabbit?.stop();
    await new Promise((r) => squatter.close(r));
  }
});

// ioredis corners against real servers: a Redis Cluster of three masters (started with
// redis-cli --cluster create), and auto-pipelining (enableAutoPipelining) on a single server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';
import { startRedis, startRedisCluster } from '../helpers/servers/redis.mjs';

let cluster;
let redis;
let agent;
let svc;

before(async () => {
  [cluster, redis, agent] = await Promise.all([startRedisCluster(), startRedis(), devAgentModule().startDevAgent({ port: 0, dir: null })]);
  svc = await startService('redis/ioredis-corners.cjs', {
    agentUrl: agent.url,
    timeoutMs: 30_000,
    env: { REDIS_CLUSTER: cluster.nodes.map((n) => n.port).join(','), REDIS_PORT: String(redis.port), DD_SERVICE: 'ioredis-corners' },
  });
});

after(async () => {
  await svc?.stop();
  await agent?.close();
  await Promise.all([cluster?.stop(), redis?.stop()]);
});

const get = async (path) => {
  const r = await fetch(`${svc.url}${path}`, { signal: AbortSignal.timeout(20_000) });
  return { status: r.status, body: await r.json() };
};
const hex = (id) => id.toString(16).padStart(16, '0');
const commandsUnder = (requestSpan) => agent.allSpans().filter((s) => s.name === 'redis.command' && hex(s.parent_id) === requestSpan);
async function tree(requestSpan, n) {
  await agent.waitFor(() => commandsUnder(requestSpan).length >= n, 10_000);
  await svc.flush();
  return { web: agent.allSpans().find((s) => hex(s.span_id) === requestSpan), cmds: commandsUnder(requestSpan) };
}

test('ioredis Cluster: one span per command, under the request, with the node that answered; pipelines and CROSSSLOT errors too', async () => {
  const { status, body } = await get('/cluster?id=11');
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.afterSpan, body.requestSpan, 'results come back in the request context');
  assert.deepEqual(body.value.values, Array(6).fill('s3cr3t-value-11'));
  assert.deepEqual(body.value.piped, ['OK', 's3cr3t-value-11']);
  assert.match(body.value.crossSlot, /CROSSSLOT/);
  // 6 SET + 6 GET + the pipeline's SET and GET + MGET; once each, whatever the cluster did
  // with them (offline queue while it connected, handed on to a node).
  const { web, cmds } = await tree(body.requestSpan, 15);
  assert.equal(web.name, 'web.request');
  const raw = cmds.map((s) => s.meta['redis.raw_command']).sort();
  const expected = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((k) => [`GET ${k}:11`, `SET ${k}:11 ?`]).concat(['GET {t11}:x', 'SET {t11}:x ?', 'MGET a:11 b:11']).sort();
  assert.deepEqual(raw, expected, 'each command exactly once');
  const ports = new Set(cluster.nodes.map((n) => n.port));
  const used = new Set();
  for (const s of cmds) {
    assert.equal(s.trace_id, web.trace_id);
    assert.equal(s.meta.component, 'ioredis');
    if (s.resource === 'MGET') continue;
    assert.equal(s.error, 0, s.meta['redis.raw_command']);
    assert.equal(s.meta['out.host'], '127.0.0.1', `${s.meta['redis.raw_command']}: the node's host`);
    assert.ok(ports.has(s.metrics['network.destination.port']), `${s.meta['redis.raw_command']}: a node's port, got ${s.metrics['network.destination.port']}`);
    used.add(s.metrics['network.destination.port']);
  }
  assert.equal(used.size, 3, 'keys in different slots went to every node, and each span says which');
  const mget = cmds.find((s) => s.resource === 'MGET');
  assert.equal(mget.error, 1);
  assert.match(mget.meta['error.message'], /CROSSSLOT/);
  assert.ok(!JSON.stringify(cmds, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes('s3cr3t'), 'no value reached the agent');
});

test('ioredis auto-pipelining: every command of a batch gets its own span under the request, failures on their own', async () => {
  const { status, body } = await get('/autopipe?id=22');
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.afterSpan, body.requestSpan);
  assert.deepEqual(body.value, ['OK', 'OK', 's3cr3t-value-22', 1, 1, 'error: WRONGTYPE Operation against a key holding the wrong kind of value', 's3cr3t-value-22', 2]);
  const { cmds } = await tree(body.requestSpan, 9);
  assert.deepEqual(
    cmds.map((s) => s.meta['redis.raw_command']).sort(),
    ['SET str:22 ?', 'SET ap:22:1 ?', 'SET ap:22:2 ?', 'GET ap:22:1', 'INCR ap:22:n', 'HSET ap:22:h f ?', 'LPUSH str:22 ?', 'GET ap:22:2', 'INCR ap:22:n'].sort(),
  );
  for (const s of cmds) {
    assert.equal(s.metrics['network.destination.port'], redis.port);
    assert.equal(s.error, s.resource === 'LPUSH' ? 1 : 0, s.meta['redis.raw_command']);
  }
  assert.equal(cmds.find((s) => s.resource === 'LPUSH').meta['db.response.status_code'], 'WRONGTYPE');
  // The eight were sent together: their spans overlap (each starts before the first one ends).
  const batch = cmds.filter((s) => s.meta['redis.raw_command'] !== 'SET str:22 ?');
  const firstEnd = Math.min(...batch.map((s) => Number(s.start) + Number(s.duration)));
  assert.ok(batch.every((s) => Number(s.start) <= firstEnd), 'the batch was in flight at once');
});

test('obfuscated Redis commands are counted in stats().obfuscated.redisCommands', async () => {
  const before = (await svc.stats()).obfuscated;
  await get('/autopipe?id=33');
  const after = (await svc.stats()).obfuscated;
  // SET str ?, SET ?, SET ?, HSET f ?, LPUSH ?: five with a value hidden; GET and INCR have none.
  assert.equal(after.redisCommands - before.redisCommands, 5);
  assert.equal(after.sqlStatements, before.sqlStatements);
});

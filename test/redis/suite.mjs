// The tests every Redis client integration passes (ioredis, node-redis 5 and 4), against a
// real redis-server started for the file: a traced Fastify service (test/fixtures/redis) runs
// the scenarios, the dev agent decodes what it sends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startService, devAgentModule } from '../helpers/apps.mjs';
import { startRedis } from '../helpers/servers/redis.mjs';

export function redisSuite(kind, { component, errorType, callback = false }) {
  let redis;
  let agent;
  let cjs;
  const started = [];

  before(async () => {
    redis = await startRedis();
    agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
    cjs = await service('redis/app.cjs', `${kind}-cjs`);
  });

  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
    await agent?.close();
    await redis?.stop();
  });

  async function service(file, name, env = {}) {
    const s = await startService(file, { agentUrl: agent.url, timeoutMs: 30_000, env: { REDIS_PORT: String(redis.port), CLIENTS: kind, DD_SERVICE: name, ...env } });
    started.push(s);
    return s;
  }

  const run = async (svc, op, id) => {
    const r = await fetch(`${svc.url}/op/${kind}/${op}?id=${id}`, { signal: AbortSignal.timeout(15_000) });
    return { status: r.status, body: await r.json() };
  };
  /** A flush with a bound: a service that died fails the test instead of hanging it. */
  const flush = (svc) => Promise.race([svc.flush(), new Promise((_, reject) => setTimeout(() => reject(new Error(`flush timed out; stderr:\n${svc.stderr()}`)), 15_000).unref())]);
  const spansOf = (name) => agent.allSpans().filter((s) => s.service === name);
  const hex = (id) => id.toString(16).padStart(16, '0');
  /** The web.request span of a request (by its span id as the handler saw it) and the redis spans under it. */
  async function requestTree(svcName, requestSpan, n) {
    await agent.waitFor(() => spansOf(svcName).filter((s) => s.name === 'redis.command' && hex(s.parent_id) === requestSpan).length >= n, 8000);
    const web = spansOf(svcName).find((s) => hex(s.span_id) === requestSpan);
    const cmds = spansOf(svcName).filter((s) => s.name === 'redis.command' && hex(s.parent_id) === requestSpan);
    return { web, cmds };
  }

  test(`${kind}: SET and GET spans, Datadog tags, obfuscated raw command, children of the request span; results in the caller's context`, async () => {
    const { status, body } = await run(cjs, 'set-get', 101);
    assert.equal(status, 200);
    assert.equal(body.value, 's3cr3t-value-101');
    assert.equal(body.afterSpan, body.requestSpan, 'the awaited result runs in the request span');
    const { web, cmds } = await requestTree(`${kind}-cjs`, body.requestSpan, 2);
    assert.equal(web.name, 'web.request');
    const set = cmds.find((s) => s.resource === 'SET');
    const get = cmds.find((s) => s.resource === 'GET');
    assert.ok(set && get, `SET and GET spans: ${cmds.map((s) => s.resource)}`);
    assert.equal(set.meta['redis.raw_command'], 'SET user:101 ? EX 60');
    assert.equal(get.meta['redis.raw_command'], 'GET user:101');
    for (const s of [set, get]) {
      assert.equal(s.trace_id, web.trace_id);
      assert.equal(s.type, 'redis');
      assert.equal(s.error, 0);
      assert.equal(s.meta.component, component);
      assert.equal(s.meta['span.kind'], 'client');
      assert.equal(s.meta['db.type'], 'redis');
      assert.equal(s.meta['db.system'], 'redis');
      assert.equal(s.meta['out.host'], '127.0.0.1');
      assert.equal(s.meta['peer.service'], '127.0.0.1');
      assert.equal(s.metrics['network.destination.port'], redis.port);
      assert.ok(s.start >= web.start && s.start + s.duration <= web.start + web.duration, 'inside the request');
    }
  });

  test(`${kind}: no argument value reaches the agent (SET, HSET, AUTH, pipelines, transactions)`, async () => {
    const ids = [];
    for (const op of ['hset', 'auth', 'pipeline', 'multi']) {
      const { body } = await run(cjs, op, 202);
      ids.push([op, body.requestSpan]);
    }
    const hsetTree = await requestTree(`${kind}-cjs`, ids[0][1], 1);
    assert.equal(hsetTree.cmds[0].meta['redis.raw_command'], kind === 'ioredis' ? 'HSET profile:202 email ? token ?' : 'HSET profile:202 email ? token ?');
    const authTree = await requestTree(`${kind}-cjs`, ids[1][1], 1);
    assert.equal(authTree.cmds[0].meta['redis.raw_command'], 'AUTH ?');
    await flush(cjs);
    const everything = JSON.stringify(agent.allSpans(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    assert.ok(everything.includes('profile:202'), 'keys are kept');
    assert.ok(!everything.includes('s3cr3t-value-202'), 'no value in anything the agent received');
  });

  test(`${kind}: a server error marks the span with the error and its code`, async () => {
    const { status, body } = await run(cjs, 'error', 303);
    assert.equal(status, 500);
    assert.match(body.error, /WRONGTYPE/);
    const { cmds } = await requestTree(`${kind}-cjs`, body.requestSpan, 2);
    const push = cmds.find((s) => s.resource === 'LPUSH');
    assert.equal(push.error, 1);
    assert.equal(push.meta['error.type'], errorType);
    assert.match(push.meta['error.message'], /^WRONGTYPE/);
    assert.equal(push.meta['db.response.status_code'], 'WRONGTYPE');
    assert.equal(push.meta['redis.raw_command'], 'LPUSH str:303 ?');
    assert.equal(cmds.find((s) => s.resource === 'SET').error, 0);
  });

  test(`${kind}: pipeline and MULTI/EXEC: one finished span per command, each a child of the request span`, async () => {
    const pipe = await run(cjs, 'pipeline', 404);
    assert.equal(pipe.status, 200);
    assert.equal(pipe.body.afterSpan, pipe.body.requestSpan);
    const p = await requestTree(`${kind}-cjs`, pipe.body.requestSpan, 2);
    assert.deepEqual(p.cmds.map((s) => s.meta['redis.raw_command']).sort(), ['GET pipe:404', 'SET pipe:404 ?']);
    const multi = await run(cjs, 'multi', 405);
    assert.equal(multi.status, 200);
    assert.equal(multi.body.afterSpan, multi.body.requestSpan);
    const m = await requestTree(`${kind}-cjs`, multi.body.requestSpan, 4);
    assert.deepEqual(m.cmds.map((s) => s.resource).sort(), ['EXEC', 'INCR', 'MULTI', 'SET']);
    assert.ok(m.cmds.every((s) => s.error === 0));
  });

  if (callback) {
    test(`${kind}: a callback runs in the caller's context`, async () => {
      await run(cjs, 'set-get', 505);
      const { body } = await run(cjs, 'callback', 505);
      assert.equal(body.value.value, 's3cr3t-value-505');
      assert.equal(body.value.callbackSpan, body.requestSpan);
      const { cmds } = await requestTree(`${kind}-cjs`, body.requestSpan, 1);
      assert.equal(cmds[0].meta['redis.raw_command'], 'GET user:505');
    });
  }

  test(`${kind}: concurrent requests sharing one client never mix contexts`, async () => {
    const n = 24;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => run(cjs, 'set-get', 1000 + i)));
    for (const [i, { status, body }] of results.entries()) {
      assert.equal(status, 200);
      assert.equal(body.afterSpan, body.requestSpan, `request ${i}: result in its own context`);
      const { cmds } = await requestTree(`${kind}-cjs`, body.requestSpan, 2);
      assert.deepEqual(cmds.map((s) => s.meta['redis.raw_command']).sort(), [`GET user:${1000 + i}`, `SET user:${1000 + i} ? EX 60`], `request ${i} owns exactly its own commands`);
    }
  });

  test(`${kind}: an ES module app is traced the same way`, async () => {
    const esm = await service('redis/app.mjs', `${kind}-esm`);
    const { body } = await run(esm, 'set-get', 606);
    assert.equal(body.afterSpan, body.requestSpan);
    const { cmds } = await requestTree(`${kind}-esm`, body.requestSpan, 2);
    assert.deepEqual(cmds.map((s) => s.meta['redis.raw_command']).sort(), ['GET user:606', 'SET user:606 ? EX 60']);
    assert.ok(cmds.every((s) => s.meta.component === component));
  });

  test(`${kind}: a failure inside the integration turns it off with one message; commands keep working`, async () => {
    const svc = await service('redis/app.cjs', `${kind}-fault`);
    const before = await run(svc, 'set-get', 901);
    await requestTree(`${kind}-fault`, before.body.requestSpan, 2);
    const r = await fetch(`${svc.url}/fault/${kind}`, { signal: AbortSignal.timeout(15_000) });
    assert.equal(r.status, 200);
    const after = await run(svc, 'set-get', 902);
    assert.equal(after.status, 200);
    assert.equal(after.body.value, 's3cr3t-value-902', 'the command still works');
    await run(svc, 'set-get', 903);
    await agent.waitFor(() => spansOf(`${kind}-fault`).filter((s) => s.name === 'web.request').length >= 3, 8000);
    await flush(svc);
    const cmds = spansOf(`${kind}-fault`).filter((s) => s.name === 'redis.command');
    assert.deepEqual(cmds.map((s) => s.meta['redis.raw_command']).sort(), ['GET user:901', 'SET user:901 ? EX 60'], 'no command spans once off');
    const messages = svc.stderr().split('\n').filter((l) => l.includes('TW_INSTRUMENTATION_DISABLED'));
    assert.equal(messages.length, 1, `one message: ${svc.stderr()}`);
    assert.match(messages[0], kind === 'ioredis' ? /ioredis integration failed and is now off/ : /redis \(node-redis\) integration failed and is now off/);
  });

  test(`${kind}: DD_TRACE_${kind.replace(/\d+$/, '').toUpperCase()}_ENABLED=false turns the integration off; redisRawCommands turns values on`, async () => {
    const off = await service('redis/app.cjs', `${kind}-off`, { [`DD_TRACE_${kind.replace(/\d+$/, '').toUpperCase()}_ENABLED`]: 'false' });
    const raw = await service('redis/app.cjs', `${kind}-raw`, { TRACEWELL_REDIS_RAW_COMMANDS: 'true' });
    const a = await run(off, 'set-get', 707);
    assert.equal(a.body.value, 's3cr3t-value-707');
    const b = await run(raw, 'set-get', 708);
    await requestTree(`${kind}-raw`, b.body.requestSpan, 2);
    await agent.waitFor(() => spansOf(`${kind}-off`).some((s) => s.name === 'web.request'), 8000);
    await flush(off);
    assert.deepEqual(spansOf(`${kind}-off`).filter((s) => s.name === 'redis.command'), [], 'no command spans when disabled');
    const set = spansOf(`${kind}-raw`).find((s) => s.resource === 'SET');
    assert.equal(set.meta['redis.raw_command'], 'SET user:708 s3cr3t-value-708 EX 60');
  });
}

/** OTLP export of Redis command spans: OpenTelemetry's database attribute names. */
export function redisOtlpTest(kind) {
  test(`${kind}: exported over OTLP, command spans carry the OpenTelemetry database attributes`, async () => {
    const redis = await startRedis();
    const agent = await devAgentModule().startDevAgent({ port: 0, dir: null, otlpPort: 0 });
    const svc = await startService('redis/app.cjs', {
      timeoutMs: 30_000,
      env: { REDIS_PORT: String(redis.port), CLIENTS: kind, DD_SERVICE: `${kind}-otlp`, TRACEWELL_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpUrl },
    });
    try {
      const r = await fetch(`${svc.url}/op/${kind}/set-get?id=808`);
      assert.equal(r.status, 200);
      await svc.flush();
      await agent.waitFor(() => agent.otlpSpans.filter((s) => s.attributes['db.system'] === 'redis').length >= 2, 8000);
      const set = agent.otlpSpans.find((s) => s.attributes['db.operation.name'] === 'SET');
      assert.equal(set.name, 'redis.command');
      assert.equal(set.kind, 3);
      assert.equal(set.attributes['db.system.name'], 'redis');
      assert.equal(set.attributes['db.query.text'], 'SET user:808 ? EX 60');
      assert.equal(set.attributes['server.address'], '127.0.0.1');
      assert.equal(Number(set.attributes['server.port']), redis.port);
      assert.equal(set.attributes['redis.raw_command'], undefined, 'under its OTel name only');
    } finally {
      await svc.stop();
      await agent.close();
      await redis.stop();
    }
  });
}

// Runtime metrics (DD_RUNTIME_METRICS_ENABLED): a traced process started with --expose-gc sends
// them to a real UDP listener as DogStatsD lines, under Datadog's runtime.node.* names, tagged
// with service, env, version and runtime-id, with plausible values (a forced full GC among the
// pauses); and, with a MeterProvider registered through @opentelemetry/api, the same values
// reach it under OpenTelemetry's names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { launch, root, until } from '../helpers/common.mjs';

async function udpListener() {
  const udp = createSocket('udp4');
  const datagrams = [];
  udp.on('message', (m) => datagrams.push(m));
  await new Promise((r) => udp.bind(0, '127.0.0.1', r));
  return { udp, datagrams, lines: () => datagrams.flatMap((d) => d.toString('utf8').split('\n')), port: udp.address().port };
}

function start(env) {
  const p = launch(join(root, 'test', 'fixtures', 'apps', 'runtime-metrics.cjs'), {
    ipc: true,
    execArgv: ['--expose-gc', '--require', 'tracewell/register'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', TRACEWELL_DLQ_ENABLED: 'false', ...env },
  });
  const ask = (msg, match) => {
    const reply = p.nextMessage(match, 15_000, () => `no answer to ${msg}; stderr:\n${p.stderr()}`);
    p.child.send(msg);
    return reply;
  };
  return { ...p, ask, ready: p.nextMessage((m) => m?.ready === true, 15_000, () => `did not start; stderr:\n${p.stderr()}`) };
}

/** `name:value|type|#tags` -> { name, value, type, tags } */
function parse(line) {
  const m = /^([^:]+):([^|]+)\|(g|c)\|#(.*)$/.exec(line);
  assert.ok(m, `a DogStatsD line: ${line}`);
  return { name: m[1], value: Number(m[2]), type: m[3], tags: m[4].split(',') };
}

test('runtime metrics reach a DogStatsD listener: Datadog names, tags, plausible values, the forced GC among the pauses', async () => {
  const l = await udpListener();
  const app = start({ DD_SERVICE: 'rt-svc', DD_ENV: 'test', DD_VERSION: '3.1.4', DD_RUNTIME_METRICS_ENABLED: 'true', TRACEWELL_DOGSTATSD_URL: `udp://127.0.0.1:${l.port}` });
  try {
    await app.ready;
    await app.ask('work', (m) => m?.worked > 0);
    // shutdown() sends the interval so far at once (the interval is 10 s).
    app.child.send('close');
    await app.exited;
    await until(() => l.lines().some((x) => x.startsWith('runtime.node.gc.pause.count:')), 'the runtime metrics datagrams');
    for (const d of l.datagrams) assert.ok(d.length <= 1432, `a datagram of ${d.length} bytes`);
    const metrics = l.lines().filter((x) => x !== '').map(parse);
    const one = (name, tag) => {
      const found = metrics.filter((m) => m.name === name && (tag === undefined || m.tags.includes(tag)));
      assert.equal(found.length, 1, `${name} ${tag ?? ''}: ${found.length} lines`);
      return found[0];
    };
    const runtimeId = one('runtime.node.mem.rss').tags.find((t) => t.startsWith('runtime-id:'));
    assert.match(runtimeId, /^runtime-id:[0-9a-f-]{36}$/);
    for (const m of metrics) {
      for (const t of ['service:rt-svc', 'env:test', 'version:3.1.4', runtimeId]) assert.ok(m.tags.includes(t), `${m.name} tagged ${t}: ${m.tags}`);
      assert.ok(Number.isFinite(m.value) && m.value >= 0, `${m.name} = ${m.value}`);
    }
    const rss = one('runtime.node.mem.rss').value;
    const heapUsed = one('runtime.node.mem.heap_used').value;
    const heapTotal = one('runtime.node.mem.heap_total').value;
    assert.ok(heapUsed > 1e6 && heapUsed <= heapTotal && heapTotal < rss && rss < 4e9, `heap used ${heapUsed}, total ${heapTotal}, rss ${rss}`);
    const spaces = metrics.filter((m) => m.name === 'runtime.node.heap.used_size.by.space');
    assert.ok(spaces.some((m) => m.tags.includes('heap_space:old_space') && m.value > 0), 'old space used, by space');
    assert.ok(spaces.some((m) => m.tags.includes('heap_space:new_space')));
    for (const name of ['runtime.node.heap.size.by.space', 'runtime.node.heap.available_size.by.space', 'runtime.node.heap.physical_size.by.space']) assert.ok(metrics.some((m) => m.name === name));
    const user = one('runtime.node.cpu.user').value;
    const system = one('runtime.node.cpu.system').value;
    assert.ok(user > 0 && user <= 400 && system >= 0 && system <= 400, `cpu user ${user}%, system ${system}%`);
    const elu = one('runtime.node.event_loop.utilization').value;
    assert.ok(elu > 0 && elu <= 1, `utilisation ${elu}`);
    // The fixture blocked the loop for 60 ms: the worst delay shows it (ns).
    const delayMax = one('runtime.node.event_loop.delay.max').value;
    assert.ok(delayMax >= 30e6 && delayMax < 10e9, `event loop delay max ${delayMax} ns`);
    for (const q of ['min', 'avg', 'median', '95percentile', '99percentile', 'sum', 'count']) one(`runtime.node.event_loop.delay.${q}`);
    assert.ok(one('runtime.node.event_loop.delay.median').value <= one('runtime.node.event_loop.delay.99percentile').value);
    // The forced full GC: a mark-sweep-compact pause.
    const full = one('runtime.node.gc.pause.by.type.count', 'gc_type:mark_sweep_compact');
    assert.equal(full.type, 'c');
    assert.ok(full.value >= 1);
    const fullMax = one('runtime.node.gc.pause.by.type.max', 'gc_type:mark_sweep_compact').value;
    assert.ok(fullMax > 1e4 && fullMax < 5e9, `a full GC of ${fullMax} ns`);
    assert.ok(one('runtime.node.gc.pause.count').value >= full.value);
    assert.ok(one('runtime.node.handles.active').value >= 1, 'the IPC channel and the interval at least');
    assert.ok(metrics.some((m) => m.name === 'runtime.node.handles.active.by.type' && m.tags.includes('handle_type:Timeout')));
  } finally {
    await app.kill();
    l.udp.close();
  }
});

test('with a MeterProvider registered through @opentelemetry/api, the same values go to it under OpenTelemetry names', async () => {
  const l = await udpListener();
  const app = start({ DD_SERVICE: 'rt-otel', DD_RUNTIME_METRICS_ENABLED: 'true', TRACEWELL_DOGSTATSD_URL: `udp://127.0.0.1:${l.port}`, FAKE_METER: '1' });
  try {
    await app.ready;
    // The provider is looked for a second after start (and at every interval).
    await new Promise((r) => setTimeout(r, 1300));
    await app.ask('work', (m) => m?.worked > 0);
    const { observed, recorded } = await app.ask('collect', (m) => Array.isArray(m?.observed));
    const find = (name, attr) => observed.filter((o) => o.name === name && (attr === undefined || Object.entries(attr).every(([k, v]) => o.attributes?.[k] === v)));
    const elu = find('nodejs.eventloop.utilization')[0];
    assert.ok(elu && elu.value > 0 && elu.value <= 1, JSON.stringify(elu));
    assert.ok(find('v8js.memory.heap.used', { 'v8js.heap.space.name': 'old_space' })[0].value > 0);
    assert.ok(find('process.memory.usage')[0].value > 1e6);
    assert.equal(find('process.cpu.time', { 'cpu.mode': 'user' }).length, 1);
    const delayMax = find('nodejs.eventloop.delay.max')[0];
    assert.ok(delayMax && delayMax.value >= 0.03 && delayMax.value < 10, `delay max ${delayMax?.value} s`);
    for (const q of ['p50', 'p90', 'p95', 'p99', 'min', 'mean']) assert.equal(find(`nodejs.eventloop.delay.${q}`).length, 1, q);
    const major = recorded.filter((r) => r.name === 'v8js.gc.duration' && r.attributes['v8js.gc.type'] === 'major');
    assert.ok(major.length >= 1, JSON.stringify(recorded.slice(0, 5)));
    assert.ok(major.every((r) => r.value > 0 && r.value < 5), 'seconds');
    assert.ok(find('v8js.resource.active').length >= 1);
  } finally {
    await app.kill();
    l.udp.close();
  }
});

test('runtime metrics off (the default): nothing is sent', async () => {
  const l = await udpListener();
  const app = start({ DD_SERVICE: 'rt-off', TRACEWELL_DOGSTATSD_URL: `udp://127.0.0.1:${l.port}` });
  try {
    await app.ready;
    app.child.send('close');
    await app.exited;
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(l.lines(), []);
  } finally {
    await app.kill();
    l.udp.close();
  }
});

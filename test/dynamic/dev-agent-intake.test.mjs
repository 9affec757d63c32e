// The dev agent's debugger endpoints, as the Datadog Agent takes them: snapshots kept and
// printed, statuses read from the multipart `event` part, malformed bodies refused with 400.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { agentPool } from '../helpers/apps.mjs';

const pool = agentPool();
after(() => pool.closeAll());

const snapshot = (over = {}) => ({
  ddsource: 'dd_debugger',
  service: 'svc',
  message: 'member Ada',
  logger: { name: 'm.js', method: '', version: 2, thread_name: 'MainThread' },
  dd: { trace_id: '123', span_id: '456' },
  debugger: { snapshot: { id: 'a-b', timestamp: 1, probe: { id: 'p1', version: 0, location: { file: 'm.js', lines: ['3'] } } } },
  ...over,
});

test('the dev agent keeps and prints snapshots, reads probe statuses, and refuses malformed ones', async () => {
  const printed = [];
  const agent = await pool.newAgent({ print: (t) => printed.push(t), printDelayMs: 50 });
  const post = (path, body, type = 'application/json') => fetch(agent.url + path, { method: 'POST', headers: { 'content-type': type }, body }).then(async (r) => ({ status: r.status, body: await r.text() }));

  assert.equal((await post('/debugger/v1/input', JSON.stringify([snapshot()]))).status, 202);
  assert.equal(agent.snapshots.length, 1);
  assert.equal(agent.snapshots[0].message, 'member Ada');
  // Its trace never came: after a moment it is printed with the low half it carries (in hex,
  // as the trees print ids; the high half unknown).
  await agent.whenPrinted();
  assert.deepEqual(printed, ['probe p1: member Ada (trace ????????????????000000000000007b span 00000000000001c8)']);

  const bad = await post('/debugger/v1/input', JSON.stringify([snapshot({ message: 42 })]));
  assert.equal(bad.status, 400);
  assert.match(bad.body, /entry 0: \\"message\\" must be a string/);
  assert.equal((await post('/debugger/v1/input', '{not json')).status, 400);
  assert.equal(agent.snapshots.length, 1);

  const boundary = 'xyz';
  const event = [{ ddsource: 'dd_debugger', service: 'svc', debugger: { diagnostics: { probeId: 'p1', runtimeId: 'r', probeVersion: 0, status: 'ERROR', exception: { type: 'NoCode', message: 'line 3 has no code' } } } }];
  const multipart = `--${boundary}\r\nContent-Disposition: form-data; name="event"; filename="event.json"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(event)}\r\n--${boundary}--\r\n`;
  assert.equal((await post('/debugger/v1/diagnostics', multipart, `multipart/form-data; boundary=${boundary}`)).status, 202);
  assert.deepEqual(agent.probeDiagnostics.map((d) => [d.probeId, d.status, d.exception?.type]), [['p1', 'ERROR', 'NoCode']]);
  assert.equal(printed.at(-1), 'probe p1 ERROR: line 3 has no code');
  const noEvent = await post('/debugger/v1/diagnostics', `--${boundary}\r\nContent-Disposition: form-data; name="other"\r\n\r\n{}\r\n--${boundary}--\r\n`, `multipart/form-data; boundary=${boundary}`);
  assert.equal(noEvent.status, 400);
  assert.match(noEvent.body, /no \\"event\\" part/);
  const info = await fetch(agent.url + '/info').then((r) => r.json());
  assert.ok(info.endpoints.includes('/debugger/v1/input') && info.endpoints.includes('/debugger/v1/diagnostics'));
});

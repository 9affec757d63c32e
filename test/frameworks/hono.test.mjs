// Hono on @hono/node-server, ESM and CJS builds: route patterns (basePath, sub-apps) as
// resource and http.route, errors from handlers and middleware with type, message and stack.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { frameworkHarness } from './helpers.mjs';

const h = frameworkHarness();
after(() => h.close());

function exceptionOf(span) {
  const events = JSON.parse(span.meta.events ?? '[]').filter((e) => e.name === 'exception');
  assert.equal(events.length, 1, `one exception event on ${span.resource}: ${span.meta.events}`);
  return { type: events[0].attributes['exception.type'], message: events[0].attributes['exception.message'] };
}

const requests = ['/users/5', '/api/v1/items/9', '/boom', '/guarded/x', '/secret', '/sub/fail', '/nope'];

for (const entry of ['hono.mjs', 'hono.cjs']) {
  test(`Hono (${entry}): routes, errors`, async () => {
    const service = `hono-${entry.replace('.', '-')}`;
    const { byPath, responses } = await h.run(entry, { service, requests });
    assert.equal(responses.get('/users/5').status, 200);

    const user = byPath('/users/5');
    assert.equal(user.resource, 'GET /users/:id');
    assert.equal(user.meta['http.route'], '/users/:id');
    assert.equal(user.meta.component, 'hono');
    assert.equal(byPath('/api/v1/items/9').resource, 'GET /api/v1/items/:itemId');
    assert.equal(byPath('/api/v1/items/9').meta['http.route'], '/api/v1/items/:itemId');

    const boom = byPath('/boom');
    assert.equal(boom.resource, 'GET /boom');
    assert.equal(boom.meta['http.status_code'], '500');
    assert.equal(boom.error, 1);
    assert.equal(boom.meta['error.type'], 'TypeError');
    assert.equal(boom.meta['error.message'], 'hono exploded');
    assert.match(boom.meta['error.stack'], /hono exploded\n\s+at /);

    const guarded = byPath('/guarded/x');
    assert.equal(guarded.error, 1);
    assert.equal(guarded.meta['error.type'], 'RangeError');
    assert.equal(guarded.meta['error.message'], 'middleware refused');
    assert.match(guarded.meta['error.stack'], /middleware refused\n\s+at /);

    const secret = byPath('/secret');
    assert.equal(secret.meta['http.status_code'], '401');
    assert.equal(secret.error, 0, 'a 4xx is not a server error');
    assert.deepEqual(exceptionOf(secret), { type: 'Error', message: 'who are you' });

    const sub = byPath('/sub/fail');
    assert.equal(responses.get('/sub/fail').status, 502);
    assert.equal(sub.resource, 'GET /sub/fail');
    assert.equal(sub.error, 1);
    assert.equal(sub.meta['error.type'], 'SyntaxError');
    assert.equal(sub.meta['error.message'], 'sub failed');

    const nope = byPath('/nope');
    assert.equal(nope.meta['http.status_code'], '404');
    assert.equal(nope.resource, 'GET', 'no route matched: the method alone (not the middleware pattern)');
  });
}

test('Hono with DD_TRACE_HONO_ENABLED=false: no route, errors only as the status', async () => {
  const { byPath } = await h.run('hono.mjs', { service: 'hono-off', env: { DD_TRACE_HONO_ENABLED: 'false' }, requests: ['/users/5', '/boom'] });
  assert.equal(byPath('/users/5').resource, 'GET');
  assert.equal(byPath('/boom').meta['error.type'], undefined);
});

test('Hono: a failure inside the integration turns it off with one message; the app answers as before', async () => {
  const requests = ['/users/5', '/boom', '/users/6', '/users/7'];
  const { servers, responses, stderr, stats } = await h.run('hono.cjs', { service: 'hono-hostile', env: { HOSTILE_ENV: '1' }, requests });
  assert.deepEqual(requests.map((p) => responses.get(p).status), [200, 500, 200, 200]);
  assert.equal(servers.length, requests.length, 'every request still has its server span');
  const lines = stderr.split('\n').filter((l) => l.includes('TW_INSTRUMENTATION_DISABLED'));
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /the hono integration failed and is now off/);
  assert.equal(stats.instrumentationErrors, 1);
});

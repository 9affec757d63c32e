// Koa with @koa/router and koa-router, ESM and CJS: the matched route (router prefix, nested
// router) as resource and http.route; errors with type, message and stack, those an error
// middleware answers included.
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

const requests = ['/api/users/3', '/api/v1/items/8', '/api/boom', '/api/handled/fail', '/api/missing', '/nope'];

for (const router of ['@koa/router', 'koa-router']) {
  for (const entry of ['koa.mjs', 'koa.cjs']) {
    test(`Koa with ${router} (${entry}): routes, errors`, async () => {
      const service = `koa-${router.replace('@', 'at').replace(/\W/g, '')}-${entry.replace('.', '-')}`;
      const { byPath, responses, spans } = await h.run(entry, { service, env: { ROUTER: router }, requests });
      assert.equal(responses.get('/api/users/3').status, 200);

      const user = byPath('/api/users/3');
      assert.equal(user.resource, 'GET /api/users/:id');
      assert.equal(user.meta['http.route'], '/api/users/:id');
      assert.equal(user.meta.component, 'koa');
      assert.equal(user.error, 0);
      assert.equal(spans.filter((s) => s.trace_id === user.trace_id).length, 1, 'middleware makes no spans');
      assert.equal(byPath('/api/v1/items/8').resource, 'GET /api/v1/items/:itemId');

      const boom = byPath('/api/boom');
      assert.equal(boom.resource, 'GET /api/boom');
      assert.equal(boom.meta['http.status_code'], '500');
      assert.equal(boom.error, 1);
      assert.equal(boom.meta['error.type'], 'TypeError');
      assert.equal(boom.meta['error.message'], 'koa exploded');
      assert.match(boom.meta['error.stack'], /koa exploded\n\s+at /);

      const handled = byPath('/api/handled/fail');
      assert.equal(responses.get('/api/handled/fail').status, 503, 'the error middleware answered');
      assert.equal(handled.resource, 'GET /api/handled/fail');
      assert.equal(handled.error, 1);
      assert.equal(handled.meta['error.type'], 'RangeError');
      assert.equal(handled.meta['error.message'], 'handled by middleware');
      assert.match(handled.meta['error.stack'], /handled by middleware\n\s+at /);

      const missing = byPath('/api/missing');
      assert.equal(missing.meta['http.status_code'], '404');
      assert.equal(missing.error, 0);
      assert.deepEqual(exceptionOf(missing), { type: 'NotFoundError', message: 'no such thing' });

      assert.equal(byPath('/nope').resource, 'GET');
    });
  }
}

test('Koa with DD_TRACE_KOA_ENABLED=false: no route, errors only as the status', async () => {
  const { byPath } = await h.run('koa.cjs', { service: 'koa-off', env: { DD_TRACE_KOA_ENABLED: 'false' }, requests: ['/api/users/3', '/api/boom'] });
  assert.equal(byPath('/api/users/3').resource, 'GET');
  assert.equal(byPath('/api/boom').meta['error.type'], undefined);
});

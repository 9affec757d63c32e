// NestJS on Express and on Fastify, in ESM and CJS apps: exceptions Nest's exception layer
// answers reach the server span (type, message, stack), 4xx as the adapters' own 4xx are
// (recorded, not a server error), Nest's not-found route is named with its slash, and
// guards, interceptors and pipes make no spans.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { frameworkHarness } from './helpers.mjs';

const h = frameworkHarness();
after(() => h.close());

/** The exception event recorded on a span (a 4xx carries its exception there, not as error tags). */
function exceptionOf(span) {
  const events = JSON.parse(span.meta.events ?? '[]').filter((e) => e.name === 'exception');
  assert.equal(events.length, 1, `one exception event on ${span.resource}: ${span.meta.events}`);
  const a = events[0].attributes;
  return { type: a['exception.type'], message: a['exception.message'] };
}

const requests = ['/api/users/7', '/api/v1/items/42', '/api/users/boom', '/api/users/missing', '/api/users/forbidden', '/api/users/quota', '/api/nope'];

for (const adapter of ['express', 'fastify']) {
  for (const entry of ['nest.mjs', 'nest.cjs']) {
    test(`NestJS on ${adapter} (${entry}): routes, exceptions, not-found`, async () => {
      const service = `nest-${adapter}-${entry.replace('.', '-')}`;
      const { byPath, spans, responses } = await h.run(entry, { service, env: { ADAPTER: adapter }, requests });
      assert.equal(responses.get('/api/users/7').status, 200);

      const user = byPath('/api/users/7');
      assert.equal(user.resource, 'GET /api/users/:id');
      assert.equal(user.meta['http.route'], '/api/users/:id');
      assert.equal(user.error, 0);
      // A guard, an interceptor and a pipe ran: no spans of their own.
      assert.deepEqual(spans.filter((s) => s.trace_id === user.trace_id).map((s) => s.name), [user.name]);

      assert.equal(byPath('/api/v1/items/42').resource, 'GET /api/v1/items/:itemId');

      const boom = byPath('/api/users/boom');
      assert.equal(boom.meta['http.status_code'], '500');
      assert.equal(boom.error, 1);
      assert.equal(boom.meta['error.type'], 'TypeError');
      assert.equal(boom.meta['error.message'], 'nest exploded');
      assert.match(boom.meta['error.stack'], /nest exploded\n\s+at /);
      assert.equal(boom.resource, 'GET /api/users/boom');

      for (const [path, status, type, message] of [
        ['/api/users/missing', '404', 'NotFoundException', 'no such user'],
        ['/api/users/forbidden', '403', 'ForbiddenException', 'not yours'],
      ]) {
        const s = byPath(path);
        assert.equal(s.meta['http.status_code'], status, path);
        assert.equal(s.error, 0, `${path}: a 4xx is not a server error`);
        assert.deepEqual(exceptionOf(s), { type, message }, path);
      }

      const quota = byPath('/api/users/quota');
      assert.equal(responses.get('/api/users/quota').status, 503, 'the user filter answered');
      assert.equal(quota.error, 1);
      assert.equal(quota.meta['error.type'], 'QuotaError');
      assert.equal(quota.meta['error.message'], 'quota used up');
      assert.match(quota.meta['error.stack'], /quota used up\n\s+at /);

      const nope = byPath('/api/nope');
      assert.equal(nope.meta['http.status_code'], '404');
      assert.equal(nope.error, 0);
      assert.deepEqual(exceptionOf(nope), { type: 'NotFoundException', message: 'Cannot GET /api/nope' });
      if (adapter === 'express') assert.equal(nope.resource, 'GET /api/*path');
    });
  }
}

test('NestJS with DD_TRACE_NESTJS_ENABLED=false: the exception layer is left alone', async () => {
  const service = 'nest-off';
  const { byPath } = await h.run('nest.mjs', { service, env: { ADAPTER: 'express', DD_TRACE_NESTJS_ENABLED: 'false' }, requests: ['/api/users/boom'] });
  const boom = byPath('/api/users/boom');
  assert.equal(boom.error, 1);
  assert.equal(boom.meta['error.type'], undefined);
  assert.equal(boom.meta['error.message'], 'HTTP 500');
});

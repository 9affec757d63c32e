// The one internal logger: levels, the per-key rate limit (one line a minute, then a count of
// what was suppressed), and errors described in one line unless debugging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { logger, describeError } = require('../../dist/cjs/internal/logger.js');

let keyN = 0;
/** A rate-limit key no other test has used (the logger is one per process). */
const freshKey = (name) => `${name}-${process.pid}-${++keyN}`;

/** Captures the logger's lines at `level`, with Date under the test's control. */
function capture(t, level = 'warn') {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
  const lines = [];
  logger.setSink((l) => lines.push(l));
  logger.setLevel(level);
  t.after(() => {
    logger.setSink(null);
    logger.setLevel('warn');
  });
  return lines;
}

test('the same key twice in a minute writes one line; the next line after the window counts the rest', (t) => {
  const lines = capture(t);
  const key = freshKey('agent');
  logger.warn('agent unreachable at http://localhost:8126', key);
  logger.warn('agent unreachable at http://localhost:8126', key);
  assert.deepEqual(lines, ['tracewell warn: agent unreachable at http://localhost:8126']);
  for (let i = 0; i < 3; i++) logger.warn('agent unreachable at http://localhost:8126', key);
  t.mock.timers.tick(59_999);
  logger.warn('agent unreachable at http://localhost:8126', key);
  assert.equal(lines.length, 1, 'still inside the window');
  t.mock.timers.tick(1);
  logger.warn('agent unreachable at http://localhost:8126', key);
  assert.deepEqual(lines, [
    'tracewell warn: agent unreachable at http://localhost:8126',
    'tracewell warn: agent unreachable at http://localhost:8126 (and 5 similar messages suppressed in the last minute)',
  ]);
  // The count is reported once: the next window starts from zero.
  t.mock.timers.tick(60_000);
  logger.warn('agent unreachable at http://localhost:8126', key);
  assert.equal(lines[2], 'tracewell warn: agent unreachable at http://localhost:8126');
});

test('one suppressed line is counted in the singular; the message itself may change between lines', (t) => {
  const lines = capture(t);
  const key = freshKey('flush');
  logger.warn('flush failed: 429', key);
  logger.warn('flush failed: 503', key);
  t.mock.timers.tick(61_000);
  logger.warn('flush failed: timeout', key);
  assert.deepEqual(lines, ['tracewell warn: flush failed: 429', 'tracewell warn: flush failed: timeout (and 1 similar message suppressed in the last minute)']);
});

test('different keys are limited separately; the message is its own key by default', (t) => {
  const lines = capture(t);
  const a = freshKey('a');
  const b = freshKey('b');
  logger.warn('first', a);
  logger.warn('second', b);
  logger.warn('first', a);
  assert.equal(lines.length, 2);
  const msg = `repeated ${freshKey('m')}`;
  logger.warn(msg);
  logger.warn(msg);
  logger.warn(`${msg}!`);
  assert.deepEqual(lines.slice(2), [`tracewell warn: ${msg}`, `tracewell warn: ${msg}!`]);
});

test('errors are rate-limited the same way, and counted in suppressedTotal', (t) => {
  const lines = capture(t);
  const key = freshKey('err');
  const before = logger.suppressedTotal;
  const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8126'), { code: 'ECONNREFUSED' });
  for (let i = 0; i < 4; i++) logger.error('could not send traces', err, key);
  assert.deepEqual(lines, ['tracewell error: could not send traces: Error ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8126']);
  assert.equal(logger.suppressedTotal - before, 3);
  t.mock.timers.tick(60_000);
  logger.error('could not send traces', err, key);
  assert.equal(lines[1], 'tracewell error: could not send traces (and 3 similar messages suppressed in the last minute): Error ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8126');
});

test('levels: below the threshold nothing is written; off silences everything', (t) => {
  const lines = capture(t, 'error');
  logger.debug('d');
  logger.info('i');
  logger.warn('w', freshKey('w'));
  assert.deepEqual(lines, []);
  logger.error('e', undefined, freshKey('e'));
  assert.deepEqual(lines, ['tracewell error: e']);
  logger.setLevel('off');
  logger.error('e2', new Error('x'), freshKey('e'));
  assert.equal(lines.length, 1);
  logger.setLevel('debug');
  logger.debug('now shown');
  logger.info('and this');
  assert.deepEqual(lines.slice(1), ['tracewell debug: now shown', 'tracewell info: and this']);
  assert.equal(logger.enabled('debug'), true);
  logger.setLevel('warn');
  assert.equal(logger.enabled('info'), false);
  assert.equal(logger.enabled('warn'), true);
});

test('an error is one line without its stack at warn; the stack is shown at debug', (t) => {
  const lines = capture(t, 'warn');
  const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8126'), { code: 'ECONNREFUSED' });
  assert.equal(describeError(err), 'Error ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8126');
  assert.equal(describeError(new TypeError('bad')), 'TypeError: bad');
  assert.match(describeError(err, true), /^Error: connect ECONNREFUSED 127\.0\.0\.1:8126\n\s+at /);
  logger.error('export failed', err, freshKey('stack'));
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes('\n'), lines[0]);
  assert.ok(!/\bat .+:\d+:\d+/.test(lines[0]), 'no stack frame');
  logger.setLevel('debug');
  logger.error('export failed', err, freshKey('stack'));
  assert.match(lines[1], /^tracewell error: export failed: Error: connect ECONNREFUSED[^\n]*\n\s+at /);
});

test('describeError never throws, whatever was thrown', () => {
  assert.equal(describeError('plain string'), 'plain string');
  assert.equal(describeError(42), '42');
  assert.equal(describeError(null), 'null');
  assert.equal(describeError(undefined), 'undefined');
  assert.equal(describeError(Symbol('s')), 'Symbol(s)');
  assert.equal(describeError(Object.create(null)), '[object Object]');
  assert.equal(
    describeError({
      toString() {
        throw new Error('no');
      },
    }),
    '[object Object]',
  );
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
      getPrototypeOf() {
        throw new Error('trap');
      },
    },
  );
  assert.equal(typeof describeError(hostile), 'string');
  const badMessage = new Error('x');
  Object.defineProperty(badMessage, 'message', {
    get() {
      throw new Error('getter');
    },
  });
  assert.equal(typeof describeError(badMessage), 'string');
});

test('logging never throws into the host: a broken sink or a strange error value', (t) => {
  capture(t);
  logger.setSink(() => {
    throw new Error('sink is broken');
  });
  assert.doesNotThrow(() => logger.warn('x', freshKey('sink')));
  assert.doesNotThrow(() => logger.error('y', Object.create(null), freshKey('sink')));
  const lines = [];
  logger.setSink((l) => lines.push(l));
  logger.error('z', Object.create(null), freshKey('odd'));
  assert.deepEqual(lines, ['tracewell error: z: [object Object]']);
});

// The internal logger's rate limit and the container id parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { logger, describeError } = require('../../dist/cjs/internal/logger.js');
const { parseContainerId } = require('../../dist/cjs/internal/container.js');

test('a repeated warning is written once a minute, and the next line counts what was suppressed', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const lines = [];
  logger.setSink((l) => lines.push(l));
  logger.setLevel('warn');
  try {
    for (let i = 0; i < 5; i++) logger.warn('agent unreachable', 'rl-test');
    assert.equal(lines.length, 1);
    t.mock.timers.tick(61_000);
    logger.warn('agent unreachable', 'rl-test');
    assert.equal(lines.length, 2);
    assert.match(lines[1], /agent unreachable \(and 4 similar messages suppressed in the last minute\)/);
    logger.debug('not shown at warn');
    assert.equal(lines.length, 2);
  } finally {
    logger.setSink(null);
  }
});

test('expected errors are one line; stacks only at debug', () => {
  const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8126'), { code: 'ECONNREFUSED' });
  assert.equal(describeError(err), 'Error ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8126');
  assert.match(describeError(err, true), /\n\s+at /);
});

test('container ids from cgroup v1, v2, ECS and none', () => {
  const docker = '13:name=systemd:/docker/3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860\n12:pids:/docker/3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860';
  assert.equal(parseContainerId(docker), '3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860');
  const v2 = '0::/system.slice/docker-0b96db13a0b3e8c9a6b3e5f0c0e2d6b8c2d04f8e3a4f5b6c7d8e9f0a1b2c3d4e.scope';
  assert.equal(parseContainerId(v2), '0b96db13a0b3e8c9a6b3e5f0c0e2d6b8c2d04f8e3a4f5b6c7d8e9f0a1b2c3d4e');
  const ecs = '1:name=systemd:/ecs/34dc0b5e626f2c5c4c5170e34b10e765-1234567890';
  assert.equal(parseContainerId(ecs), '34dc0b5e626f2c5c4c5170e34b10e765-1234567890');
  const k8s = '1:cpu:/kubepods/besteffort/pod3d274242-8ee0-11e9-a8a6-1e68d864ef1a/3e74d3fd9db4c9dd921ae05c2502fb984d0cde1b36e581b13f79c639da4518a1';
  assert.equal(parseContainerId(k8s), '3e74d3fd9db4c9dd921ae05c2502fb984d0cde1b36e581b13f79c639da4518a1');
  assert.equal(parseContainerId('0::/\n'), undefined);
  assert.equal(parseContainerId('0::/user.slice/user-1000.slice/session-2.scope'), undefined);
});

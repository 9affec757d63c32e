// Redis argument obfuscation (what `redis.raw_command` carries): the Datadog Agent's rules per
// command, applied in the tracer, and our stricter default for commands it has no rule for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dist } from '../helpers/common.mjs';

const { redisRawCommand } = dist('tracer/instrumentations/redis-command.js');
const split = (s) => s.split(' ');
const obf = (cmd) => {
  const [name, ...args] = split(cmd);
  return redisRawCommand(name, args);
};

for (const [input, expected] of [
  ['AUTH my-secret-password', 'AUTH ?'],
  ['AUTH james my-secret-password', 'AUTH ?'],
  ['AUTH', 'AUTH'],
  ['HELLO 3 AUTH user pass SETNAME app', 'HELLO ?'],
  ['MIGRATE host 6379 key 0 5000', 'MIGRATE ?'],
  ['ACL SETUSER alice on >password ~* +@all', 'ACL SETUSER ?'],
  ['ACL LIST', 'ACL LIST'],
  ['APPEND key value', 'APPEND key ?'],
  ['GETSET key value', 'GETSET key ?'],
  ['SET key value', 'SET key ?'],
  ['SET key value EX 60 NX', 'SET key ? EX 60 NX'],
  ['set key value', 'SET key ?'],
  ['SETNX key value', 'SETNX key ?'],
  ['SISMEMBER key member', 'SISMEMBER key ?'],
  ['ZSCORE key member', 'ZSCORE key ?'],
  ['HSETNX key field value', 'HSETNX key field ?'],
  ['SETEX key 10 value', 'SETEX key 10 ?'],
  ['LSET key 0 value', 'LSET key 0 ?'],
  ['LINSERT key BEFORE pivot value', 'LINSERT key BEFORE pivot ?'],
  ['LPUSH key v1 v2 v3', 'LPUSH key ?'],
  ['SADD key m1 m2', 'SADD key ?'],
  ['GEOADD key 1.5 2.5 home 3.5 4.5 work', 'GEOADD key 1.5 2.5 ? 3.5 4.5 ?'],
  ['GEOADD key 1.5 2.5', 'GEOADD key 1.5 2.5'],
  ['HSET key f1 v1 f2 v2', 'HSET key f1 ? f2 ?'],
  ['HMSET key f1 v1', 'HMSET key f1 ?'],
  ['MSET k1 v1 k2 v2', 'MSET k1 ? k2 ?'],
  ['CONFIG SET requirepass hunter2', 'CONFIG SET requirepass ?'],
  ['CONFIG GET maxmemory', 'CONFIG GET maxmemory'],
  ['BITFIELD key GET u8 0 SET u8 8 255 INCRBY u8 16', 'BITFIELD key GET u8 0 SET u8 8 ? INCRBY u8 16'],
  ['ZADD key NX 1 alice 2 bob', 'ZADD key NX 1 ? 2 ?'],
  ['ZADD key 1 alice', 'ZADD key 1 ?'],
  ['GET key', 'GET key'],
  ['MGET k1 k2 k3', 'MGET k1 k2 k3'],
  ['EXPIRE key 60', 'EXPIRE key 60'],
  ['LRANGE key 0 -1', 'LRANGE key 0 -1'],
  ['MULTI', 'MULTI'],
  // No Datadog rule (the Agent would keep everything): the first argument, then `?`.
  ['PUBLISH channel secret-message', 'PUBLISH channel ?'],
  ['XADD stream * field secret', 'XADD stream ? ? ?'],
  ['EVAL script 1 key secret', 'EVAL script ? ? ?'],
]) {
  test(`${input} -> ${expected}`, () => assert.equal(obf(input), expected));
}

test('arguments after the name from an offset, Buffers and numbers, long values cut, raw mode keeps values', () => {
  assert.equal(redisRawCommand('set', ['SET', Buffer.from('bkey'), Buffer.from('secret')], 1), 'SET bkey ?');
  assert.equal(redisRawCommand('expire', ['k', 60]), 'EXPIRE k 60');
  const long = 'k'.repeat(150);
  assert.equal(redisRawCommand('get', [long]), `GET ${'k'.repeat(100)}...`);
  assert.equal(redisRawCommand('set', ['k', 'secret'], 0, true), 'SET k secret');
  const many = Array.from({ length: 500 }, (_, i) => `key${i}`);
  assert.ok(redisRawCommand('mget', many).length <= 1003, 'the whole command is bounded');
});

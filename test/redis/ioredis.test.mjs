// ioredis against a real redis-server: see suite.mjs.
import { redisOtlpTest, redisSuite } from './suite.mjs';

redisSuite('ioredis', { component: 'ioredis', errorType: 'ReplyError', callback: true });
redisOtlpTest('ioredis');

// node-redis 4 (`redis4`, an alias of redis@4) against a real redis-server: see suite.mjs.
import { redisSuite } from './suite.mjs';

redisSuite('redis4', { component: 'redis', errorType: 'Error' });

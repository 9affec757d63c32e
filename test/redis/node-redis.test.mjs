// node-redis 5 (`redis`) against a real redis-server: see suite.mjs.
import { redisSuite } from './suite.mjs';

redisSuite('redis', { component: 'redis', errorType: 'Error' });

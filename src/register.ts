/**
 * The preload: `node --import tracewell/register app.js` or `node --require tracewell/register app.js`
 * starts tracing from the environment alone, before the app's first line runs.
 */
import { isAppThread } from './internal/thread';
import { init } from './sdk';

// Not in Node's module-hooks thread (`module.register`, where `--require` preloads run too,
// on Node 20): it runs no app code, and a tracer there would be a second one.
if (isAppThread()) init();

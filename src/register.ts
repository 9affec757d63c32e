/**
 * The preload: `node --import tracewell/register app.js` or `node --require tracewell/register app.js`
 * starts tracing from the environment alone, before the app's first line runs.
 */
import { init } from './sdk';

init();

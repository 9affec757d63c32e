// Type tests (CommonJS): require() gets the same declarations.
import tracewell = require('tracewell');

const handle = tracewell.init({ env: 'staging' });
const shutdown: Promise<void> = handle.shutdown(1000);
void shutdown;
// @ts-expect-error init takes an options object
tracewell.init('svc');

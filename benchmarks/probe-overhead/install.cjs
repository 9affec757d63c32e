// What putting a probe in costs the process, one measurement per process (run.mjs starts
// them interleaved). Under `--require tracewell/register`; MODE says what is measured:
// - `load-time`: TRACEWELL_PROBES names a line of MODULE, which is then required: the
//   require's time, with the call placed in its source (and that text compiled aside first);
// - `baseline`: TRACEWELL_PROBES names a file that never loads (the hooks are in place, a
//   probe waits): the same require's time without placement;
// - `live-edit`: MODULE is required first, then the probe is written to TRACEWELL_PROBES_FILE:
//   the longest the event loop was blocked until the probe was INSTALLED (a timer every ms
//   sees it), which is the debugger session: scripts listed, source read, script recompiled.
// Prints one JSON line.
const { writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const fromRoot = createRequire(join(__dirname, '..', '..', 'package.json'));

async function main() {
  const handle = fromRoot('tracewell').getHandle();
  const mode = process.env.MODE;
  const t0 = performance.now();
  require(process.env.MODULE);
  const requireMs = performance.now() - t0;
  let blockMs = null;
  if (mode === 'live-edit') {
    // Let start-up settle first (the first re-check lists the scripts once).
    await new Promise((r) => setTimeout(r, 300));
    let last = performance.now();
    let max = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      max = Math.max(max, now - last);
      last = now;
    }, 1);
    writeFileSync(process.env.TRACEWELL_PROBES_FILE, process.env.PROBE + '\n');
    for (let i = 0; i < 2000; i++) {
      const st = handle.stats().probes.statuses[0];
      if (st && st.status !== 'RECEIVED') break;
      await new Promise((r) => setTimeout(r, 5));
    }
    // The poll's own timer can run before the tick that would have seen the block: count the gap up to now too.
    clearInterval(tick);
    blockMs = Math.max(max, performance.now() - last);
  }
  const st = handle.stats().probes.statuses[0];
  process.stdout.write(JSON.stringify({ mode, requireMs, blockMs, status: st?.status, technique: st?.technique, errorType: st?.errorType }) + '\n');
  await handle.shutdown(200);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});

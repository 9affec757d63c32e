// The protocol-independent half of a load generator: `concurrency` closed loops (each sends
// one request, waits for its answer, sends the next), optionally paced to a total rate, for
// a ramp and then a measurement window. Only answers completed inside the window are
// counted. The parent is told when the window starts and ends (so it can read the server's
// CPU at the same moments) and gets one result message. Everything is bounded: the loops stop
// at the end of the window and a hard deadline exits the process whatever happens.
//
// A scenario's load script supplies `issue()` (one request; rejects on error) and calls
// `runLoadProcess`. Command line: --port P [--connections 32] [--ramp-ms 300]
// [--duration-ms 2000] [--rate 0] plus its own flags; without IPC it prints the result.
'use strict';
const { Histogram } = require('./histogram.cjs');
const { pacer } = require('./pacer.cjs');

/** Parses `--key value` / `--key=value` / `--flag` into an object (kebab-case -> camelCase). */
function parseFlags(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    const raw = eq === -1 ? a.slice(2) : a.slice(2, eq);
    const key = raw.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (eq !== -1) out[key] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[key] = argv[++i];
    else out[key] = true;
  }
  return out;
}

function int(flags, key, dflt, min, max) {
  const v = flags[key] === undefined ? dflt : Number(flags[key]);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${key} must be an integer in [${min}, ${max}], got ${flags[key]}`);
  return v;
}

/** The flags every load generator takes, validated. */
function loadOptions(argv = process.argv.slice(2)) {
  const flags = parseFlags(argv);
  return {
    flags,
    port: int(flags, 'port', NaN, 1, 65535),
    concurrency: int(flags, 'connections', 32, 1, 4096),
    rampMs: int(flags, 'rampMs', 300, 0, 60_000),
    durationMs: int(flags, 'durationMs', 2000, 1, 600_000),
    rate: int(flags, 'rate', 0, 0, 10_000_000),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the loops. `issue()` sends one request and resolves when its answer is complete.
 * `notify(msg)` gets { type: 'window-start' } and { type: 'window-end' }.
 * Resolves with { requests, errors, seconds, rps, latencyMs, loadCpuPct, ... }.
 */
async function runLoad({ concurrency, rampMs, durationMs, rate = 0, issue, notify = () => {} }) {
  const hist = new Histogram();
  const pace = pacer(rate, concurrency);
  let measuring = false;
  let stop = false;
  let requests = 0;
  let errors = 0;
  let total = 0;
  let totalErrors = 0;
  const errorSamples = [];
  let t0 = 0n;
  let t1 = 0n;
  let cpu0;
  let cpu = { user: 0, system: 0 };

  const windowStarted = new Promise((resolve) =>
    setTimeout(() => {
      measuring = true;
      t0 = process.hrtime.bigint();
      cpu0 = process.cpuUsage();
      notify({ type: 'window-start' });
      resolve();
    }, rampMs),
  );
  const windowEnded = windowStarted.then(
    () =>
      new Promise((resolve) =>
        setTimeout(() => {
          measuring = false;
          stop = true;
          t1 = process.hrtime.bigint();
          cpu = process.cpuUsage(cpu0);
          pace.stop();
          notify({ type: 'window-end' });
          resolve();
        }, durationMs),
      ),
  );

  async function loop() {
    while (!stop) {
      const wait = pace.take();
      if (wait) await wait;
      if (stop) break;
      const start = process.hrtime.bigint();
      let failed = false;
      try {
        await issue();
      } catch (err) {
        failed = true;
        if (errorSamples.length < 5) errorSamples.push(String((err && (err.code || err.message)) || err));
      }
      total++;
      if (failed) totalErrors++;
      if (measuring) {
        if (failed) errors++;
        else {
          requests++;
          hist.record(Number(process.hrtime.bigint() - start) / 1000);
        }
      }
      if (failed) await sleep(10); // no hot spin against a server that refuses
    }
  }

  await Promise.all([windowEnded, ...Array.from({ length: concurrency }, loop)]);
  const seconds = Number(t1 - t0) / 1e9;
  return {
    requests,
    errors,
    seconds,
    rps: seconds > 0 ? requests / seconds : 0,
    latencyMs: hist.summary(),
    loadCpuPct: seconds > 0 ? ((cpu.user + cpu.system) / 1e6 / seconds) * 100 : 0,
    totalRequests: total,
    totalErrors,
    errorSamples,
  };
}

/**
 * The whole life of a load process: runs the loops with `issue`, sends (or prints) the
 * result, calls `close()` (bounded), exits. A hard deadline exits with code 3 if anything hangs.
 */
async function runLoadProcess({ options, issue, close = async () => {} }) {
  // process.send's callback runs once the message is handed to the channel, so exiting
  // after it cannot drop the result.
  const send = process.send
    ? (m) => new Promise((resolve) => process.send(m, () => resolve()))
    : async (m) => m.type === 'result' && console.log(JSON.stringify(m, null, 2));
  const deadline = setTimeout(() => {
    process.stderr.write('load generator: hard deadline reached, exiting\n');
    process.exit(3);
  }, options.rampMs + options.durationMs + 20_000);
  deadline.unref();
  process.on('disconnect', () => process.exit(0));
  const result = await runLoad({ ...options, issue, notify: send });
  await send({ type: 'result', ...result });
  await Promise.race([close().catch(() => {}), sleep(2000)]);
  process.exit(0);
}

module.exports = { parseFlags, loadOptions, runLoad, runLoadProcess };

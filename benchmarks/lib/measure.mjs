// One measurement window against one server: a fresh load process drives it for a ramp plus
// the window; when the load process says the window starts and ends, the server's cumulative
// CPU time and request count are read, so CPU µs per request = CPU difference / requests
// served in between. Throughput and latency are the load process's view of the same window.
// The whole machine's busy time is read at the same moments, so "other CPU %" (everything
// but the server and the load generator: the sink, the harness, and whatever else runs on
// the machine) shows which windows shared the cores with foreign work.
import { cpus } from 'node:os';
import { forkChild, waitMessage } from './server-process.mjs';

/** Busy and total CPU milliseconds over all cores since boot. */
function machineCpu() {
  let busy = 0;
  let total = 0;
  for (const { times: t } of cpus()) {
    const b = t.user + t.nice + t.sys + t.irq;
    busy += b;
    total += b + t.idle;
  }
  return { busy, total, cores: cpus().length };
}

/**
 * @param server a handle from startServer
 * @param opts { loadScript, loadArgs?, connections, rampMs, durationMs, rate? (0 = as fast as
 *   answered), cpus? (pin the load process, e.g. '1') }
 */
export async function measureWindow(server, { loadScript, loadArgs = [], connections, rampMs, durationMs, rate = 0, cpus }) {
  const load = forkChild(
    loadScript,
    ['--port', String(server.port), '--connections', String(connections), '--ramp-ms', String(rampMs), '--duration-ms', String(durationMs), '--rate', String(rate), ...loadArgs],
    { env: { PATH: process.env.PATH }, cpus },
  );
  let before;
  let after;
  let sys0;
  let sys1;
  const read = () => {
    const p = server.usage();
    p.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
    return p;
  };
  load.on('message', (m) => {
    if (m?.type === 'window-start') {
      before = read();
      sys0 = machineCpu();
    } else if (m?.type === 'window-end') {
      after = read();
      sys1 = machineCpu();
    }
  });
  try {
    const result = await waitMessage(load, (m) => m?.type === 'result', rampMs + durationMs + 30_000, `load generator against ${server.name}`);
    if (!before || !after) throw new Error(`load generator against ${server.name} reported no window`);
    const [u0, u1] = await Promise.all([before, after]);
    await new Promise((resolve) => (load.alive() ? load.once('exit', resolve) : resolve()));
    const served = u1.requests - u0.requests;
    const cpuMicros = u1.cpuMicros - u0.cpuMicros;
    const serverCpuPct = u1.hrMicros > u0.hrMicros ? (cpuMicros / (u1.hrMicros - u0.hrMicros)) * 100 : NaN;
    // % of one core, like serverCpuPct and loadCpuPct.
    const machineCpuPct = sys1.total > sys0.total ? ((sys1.busy - sys0.busy) / (sys1.total - sys0.total)) * sys1.cores * 100 : NaN;
    const windowS = (u1.hrMicros - u0.hrMicros) / 1e6;
    return {
      // A load generator that does not count per window (load-wrk.mjs): the server's count.
      rps: result.rps ?? (windowS > 0 ? served / windowS : NaN),
      requests: result.requests,
      errors: result.errors,
      errorSamples: result.errorSamples,
      seconds: result.seconds,
      latencyMs: result.latencyMs,
      loadCpuPct: result.loadCpuPct,
      machineCpuPct,
      otherCpuPct: Math.max(0, machineCpuPct - serverCpuPct - result.loadCpuPct),
      server: {
        requests: served,
        cpuMicros,
        cpuPerRequest: served > 0 ? cpuMicros / served : NaN,
        mainCpuPerRequest: served > 0 ? (u1.mainCpuMicros - u0.mainCpuMicros) / served : NaN,
        cpuPct: serverCpuPct,
        rssMb: u1.rss / 1048576,
        totalRequests: u1.requests,
      },
    };
  } finally {
    if (load.alive()) load.kill('SIGKILL');
  }
}

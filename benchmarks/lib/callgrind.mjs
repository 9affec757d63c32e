// Instructions per call, counted by valgrind's callgrind: repeatable whatever else runs on the
// machine (CPU time per call on this VM moves by half from one minute to the next). A client
// worker (one variant's preload) runs under callgrind; after `warmup` calls and their export
// the counters are zeroed (`callgrind_control -z`), `calls` more are made (`inflight` at a
// time), and after a pause for their export (the 1 s flush) the counts are dumped (`-d`):
// every instruction of the client in that window, export included. The worker answers
// { type: 'ready' } once set up, { type: 'ran' } to { type: 'run', calls, inflight }, and ends
// on { type: 'stop' }. Used by redis-overhead/callgrind.mjs and sql-overhead/callgrind.mjs.
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function totalIr(file) {
  const m = /^(?:totals|summary): (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no totals in ${file}`);
  return Number(m[1]);
}

/**
 * The main thread's share (everything under `main`): the JS, the event loop and the GC pauses,
 * without the helper threads (background compilation, concurrent marking), whose work in a
 * window is mostly the tail of warming up. NaN when callgrind_annotate is missing.
 */
function mainThreadIr(file) {
  try {
    const out = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const m = /^\s*([\d,]+) \([^)]*\)\s+\S*:__libc_start_main/m.exec(out);
    return m ? Number(m[1].replace(/,/g, '')) : NaN;
  } catch {
    return NaN;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function ask(child, message, answer) {
  return new Promise((resolve, reject) => {
    const on = (m) => {
      if (m?.type !== answer) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
    if (message) child.send(message);
  });
}

/**
 * Runs `worker` under callgrind as `variant`; resolves with { ir, mainIr, file }: the
 * instructions of the counted window (every thread, and the main thread's alone) and the dump
 * they were read from (`callgrind_annotate <file>`).
 */
export async function countInstructions({ name, worker, variant, env, execPath, cwd, out, warmup, calls, inflight }) {
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${join(out, name)}.%p`, '--dump-line=no', execPath, ...(variant.execArgv ?? []), worker], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: {
      ...process.env,
      ...(variant.env ?? {}),
      ...env,
      DD_SERVICE: 'bench',
      DD_TRACE_STARTUP_LOGS: 'false',
      DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
      DD_REMOTE_CONFIGURATION_ENABLED: 'false',
    },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    await ask(child, null, 'ready');
    await ask(child, { type: 'run', calls: warmup, inflight }, 'ran');
    await sleep(1500); // the warm-up's export, outside the window
    execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
    await ask(child, { type: 'run', calls, inflight }, 'ran');
    await sleep(1500); // their export, inside the window
    execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`${name}: ${err.message}\n${stderr.slice(-2000)}`);
  }
  child.send({ type: 'stop' });
  await new Promise((r) => child.once('exit', r));
  const dumps = readdirSync(out)
    .filter((f) => f.startsWith(`${name}.${child.pid}.`))
    .sort();
  const file = join(out, dumps[dumps.length - 1]);
  return { ir: totalIr(file), mainIr: mainThreadIr(file), file };
}

// Start-up time of `node -e 0` with each variant's flags (its preload), runs interleaved
// (A B C A B C ...), the first round left out (it warms the file cache). Wall time of the child
// process, spawned without a shell.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { repoRoot } from './server-process.mjs';
import { summarize } from './stats.mjs';

// GNU time, when installed, also gives the child's CPU time (user + system), which other work
// on the machine inflates far less than wall time.
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/**
 * `{ [name]: [ms, ...] }` over `runs` interleaved rounds (wall time); `cpu` alongside: `{ [name]:
 * [ms, ...] }` of CPU time when /usr/bin/time is there. Throws when a variant's process fails.
 */
export function startupTimes(variants, { execPath = process.execPath, runs = 15 } = {}) {
  const times = Object.fromEntries(variants.map((v) => [v.name, []]));
  const cpu = Object.fromEntries(variants.map((v) => [v.name, []]));
  Object.defineProperty(times, 'cpu', { value: cpu, enumerable: false });
  for (let r = 0; r < runs + 1; r++) {
    for (const v of variants) {
      const argv = [...(v.execArgv ?? []), '-e', '0'];
      const start = process.hrtime.bigint();
      const run = spawnSync(GNU_TIME ?? execPath, GNU_TIME ? ['-f', 'tw-cpu %U %S', execPath, ...argv] : argv, {
        cwd: repoRoot,
        env: { PATH: process.env.PATH, DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', DD_ENV: 'bench', DD_SERVICE: 'bench', TRACEWELL_LOG_LEVEL: 'off', ...(v.env ?? {}) },
        stdio: ['ignore', 'ignore', GNU_TIME ? 'pipe' : 'ignore'],
        encoding: 'utf8',
      });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (run.status !== 0) throw new Error(`${v.name}: \`node -e 0\` exited with ${run.status}`);
      if (r > 0) {
        times[v.name].push(ms);
        const m = GNU_TIME ? /tw-cpu ([\d.]+) ([\d.]+)/.exec(run.stderr ?? '') : null;
        if (m) cpu[v.name].push((Number(m[1]) + Number(m[2])) * 1000);
      }
    }
  }
  return times;
}

/**
 * Per variant: median [min, max] ms, and the median added to the baseline's (per round: variant
 * - baseline of that round); `cpuMs`, `cpuAdded` the same of CPU time (n = 0 without it).
 */
export function startupSummary(times, baseline = 'baseline') {
  const out = {};
  const base = times[baseline];
  const cpu = times.cpu ?? {};
  const added = (t, b) => (b && b.length === t.length ? summarize(t.map((x, i) => x - b[i])) : summarize([]));
  for (const [name, t] of Object.entries(times)) {
    const c = cpu[name] ?? [];
    out[name] = { ms: summarize(t), added: added(t, base), cpuMs: summarize(c), cpuAdded: added(c, cpu[baseline]) };
  }
  return out;
}

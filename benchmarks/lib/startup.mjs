// Start-up time of `node -e 0` with each variant's flags (its preload), runs interleaved
// (A B C A B C ...), the first round left out (it warms the file cache). Wall time of the child
// process, spawned without a shell.
import { spawnSync } from 'node:child_process';
import { repoRoot } from './server-process.mjs';
import { summarize } from './stats.mjs';

/** `{ [name]: [ms, ...] }` over `runs` interleaved rounds. Throws when a variant's process fails. */
export function startupTimes(variants, { execPath = process.execPath, runs = 15 } = {}) {
  const times = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let r = 0; r < runs + 1; r++) {
    for (const v of variants) {
      const start = process.hrtime.bigint();
      const run = spawnSync(execPath, [...(v.execArgv ?? []), '-e', '0'], {
        cwd: repoRoot,
        env: { PATH: process.env.PATH, DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', DD_ENV: 'bench', DD_SERVICE: 'bench', TRACEWELL_LOG_LEVEL: 'off', ...(v.env ?? {}) },
        stdio: 'ignore',
      });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (run.status !== 0) throw new Error(`${v.name}: \`node -e 0\` exited with ${run.status}`);
      if (r > 0) times[v.name].push(ms);
    }
  }
  return times;
}

/** Per variant: median [min, max] ms, and the median added to the baseline's (per round: variant - baseline of that round). */
export function startupSummary(times, baseline = 'baseline') {
  const out = {};
  const base = times[baseline];
  for (const [name, t] of Object.entries(times)) {
    out[name] = { ms: summarize(t), added: base ? summarize(t.map((x, i) => x - base[i])) : summarize([]) };
  }
  return out;
}

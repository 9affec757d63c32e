// The command line every scenario shares:
//   --quick                 3 rounds, 2 s windows, 1 s warm-up (default: 5 rounds, 5 s, 2 s);
//                           paired server scenarios: 5 pairs of 3 s and 20 s for RSS (default:
//                           7 pairs of 4 s, 60 s; lib/paired-scenario.mjs)
//   --variants a,b,c        which variants, in the order each round runs them
//   --rounds N  --window-ms MS  --warmup-ms MS  --ramp-ms MS  --connections N
//   --max-other-pct P --noisy-retries N   remeasure a window when other processes took more
//                           than P% of a core during it (default 25, up to 2 more times)
//   --node N                servers on another Node major line (see node-bin.mjs)
import { createRequire } from 'node:module';
import { nodeBinary } from './node-bin.mjs';
import { pickVariants, tracerVariants } from './variants.mjs';

const { parseFlags } = createRequire(import.meta.url)('./load-loop.cjs');

/** `--key value`, `--key=value`, `--flag` over `defaults` (kebab-case keys become camelCase). */
export function parseArgs(argv, defaults = {}) {
  return { ...defaults, ...parseFlags(argv) };
}

export function intArg(args, key, dflt, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const v = args[key] === undefined ? dflt : Number(args[key]);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be an integer in [${min}, ${max}], got ${args[key]}`);
  return v;
}

/** `--pin` -> server on CPU 0, load on CPU 1; `--pin S:L` explicit CPU lists; absent -> null. */
function pinArg(v) {
  if (v === undefined || v === false || v === 'false') return null;
  if (v === true) return { server: '0', load: '1' };
  const m = /^([\d,-]+):([\d,-]+)$/.exec(String(v));
  if (!m) throw new Error(`--pin takes no value or SERVER_CPUS:LOAD_CPUS like 0:1, not ${v}`);
  return { server: m[1], load: m[2] };
}

/** Parsed arguments and the common run options, validated. */
export function scenarioOptions(argv, defaults) {
  const args = parseArgs(argv, defaults);
  const quick = Boolean(args.quick);
  return {
    args,
    options: {
      quick,
      variants: pickVariants(tracerVariants(), args.variants),
      execPath: nodeBinary(args.node),
      rounds: intArg(args, 'rounds', quick ? 3 : 5, 1, 100),
      warmupMs: intArg(args, 'warmupMs', quick ? 1000 : 2000, 0, 60_000),
      windowMs: intArg(args, 'windowMs', quick ? 2000 : 5000, 200, 120_000),
      rampMs: intArg(args, 'rampMs', 300, 0, 10_000),
      connections: intArg(args, 'connections', 32, 1, 1024),
      maxOtherPct: intArg(args, 'maxOtherPct', 25, 0, 10_000),
      noisyRetries: intArg(args, 'noisyRetries', 2, 0, 10),
      pin: pinArg(args.pin),
    },
  };
}

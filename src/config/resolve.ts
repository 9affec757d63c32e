/**
 * Resolves options + environment into one frozen ResolvedConfig, driven by the option table
 * (`table.ts`). This is the only module that reads `process.env` (the `tracewell` commands read
 * theirs through `cliSettings()` below). A value that is not accepted, from a variable or given
 * in code, gets one message naming it, the value, what is accepted and what is used instead; it
 * is skipped like an unset one, so the next source in precedence is used, then the default.
 * Start-up carries on.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { logger } from '../internal/logger';
import { Codes } from '../internal/errors';
import { int, parseOtelResource, showCodeValue, showDefault, type Kind } from './kinds';
import { FIELDS, OPTIONS, defaultOf, type Ctx, type Field, type Value } from './table';
import type { ResolvedConfig, TracewellOptions } from './options';


type Env = Record<string, string | undefined>;

interface ConfigProblem {
  /** The variable, or the option as it was given in code (`init({ sampleRate })`). */
  variable: string;
  /** A variable's text; for a value given in code, that value written as JavaScript. */
  value: string;
  accepted: string;
  defaultUsed: string;
  /** `value` is written out already (a value given in code): it is not quoted again. */
  literal?: boolean;
  /** Nothing is used in its place (an unknown option). */
  ignored?: boolean;
}

/** How a resolution names what it was given, and who watches it read. */
interface ResolveHow {
  /** How a message names an option given in code; default `init({ <field> })`. */
  optionName?: (field: string) => string;
  /** Called for each variable read, with the field being resolved (the tests check the table names every one). */
  onRead?: (field: string, variable: string) => void;
}

/** The one message for a value that is not accepted, wherever it came from. */
export function describeProblem(p: ConfigProblem): string {
  return `${p.variable}=${p.literal ? p.value : JSON.stringify(p.value)} is not accepted (expected ${p.accepted}); ${p.ignored ? 'ignored' : `using ${p.defaultUsed}`}`;
}

/** What a message says is used when a field falls to its default. */
function defaultText(field: Field): string {
  const t = OPTIONS[field].defaultText;
  if (typeof t === 'function') return t();
  return t ?? showDefault(defaultOf(field));
}

class Reader implements Ctx {
  readonly problems: ConfigProblem[] = [];
  readonly sources: Record<string, string> = {};
  /** The field each problem left to a fallback: when a later source set it, the message says so. */
  readonly fieldOf = new Map<ConfigProblem, Field>();
  readonly values: Partial<Record<Field, unknown>> = {};
  options: Partial<TracewellOptions> = {};
  /** The field being resolved (for `onRead`). */
  field = '';
  private resourceAttributes: Record<string, string> | undefined;
  private appPkg: { name?: string; version?: string } | undefined;

  constructor(
    private readonly env: Env,
    private readonly how: ResolveHow,
  ) {}

  /** A variable's text, untrimmed; `undefined` when unset or blank. */
  private read(name: string): string | undefined {
    this.how.onRead?.(this.field, name);
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  }

  raw(names: readonly string[]): [string, string] | undefined {
    for (const name of names) {
      const v = this.read(name);
      if (v !== undefined) return [name, v.trim()];
    }
    return undefined;
  }

  bad(variable: string, value: string, accepted: string, defaultUsed: string, field?: Field, extra?: Partial<ConfigProblem>): void {
    const problem: ConfigProblem = { variable, value, accepted, defaultUsed, ...extra };
    this.problems.push(problem);
    if (field !== undefined) this.fieldOf.set(problem, field);
  }

  pick<K extends Field>(field: K, names: readonly string[]): Value<K> | undefined {
    const option = this.options[field];
    if (option !== undefined) {
      this.sources[field] = 'option';
      return option as Value<K>;
    }
    const kind = OPTIONS[field].kind as Kind<Value<K>>;
    for (const name of names) {
      const v = this.read(name);
      if (v === undefined) continue;
      const parsed = kind.parse(v.trim());
      if (parsed === undefined) {
        this.bad(name, v, kind.accepted, defaultText(field), field);
        continue;
      }
      this.sources[field] = name;
      return parsed;
    }
    return undefined;
  }

  variable<T>(name: string, kind: Kind<T>, defaultUsed: string, field?: Field): T | undefined {
    const v = this.read(name);
    if (v === undefined) return undefined;
    const parsed = kind.parse(v.trim());
    if (parsed === undefined) this.bad(name, v, kind.accepted, defaultUsed, field);
    return parsed;
  }

  get<K extends Field>(field: K): ResolvedConfig[K] {
    return this.values[field] as ResolvedConfig[K];
  }

  resource(): Record<string, string> {
    if (this.resourceAttributes === undefined) {
      this.resourceAttributes = {};
      const hit = this.raw(['OTEL_RESOURCE_ATTRIBUTES']);
      if (hit) {
        const parsed = parseOtelResource(hit[1]);
        if (parsed) this.resourceAttributes = parsed;
        else this.bad('OTEL_RESOURCE_ATTRIBUTES', hit[1], 'comma-separated key=value pairs', 'no resource attributes');
      }
    }
    return this.resourceAttributes;
  }

  pkg(): { name?: string; version?: string } {
    return (this.appPkg ??= appPackage());
  }
}

/** The app's own package.json: nearest to the main script, else the working directory. */
function appPackage(): { name?: string; version?: string } {
  const starts: string[] = [];
  if (process.argv[1]) starts.push(dirname(process.argv[1]));
  starts.push(process.cwd());
  for (const start of starts) {
    let dir = start;
    for (let i = 0; i < 20; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        return {
          name: typeof pkg.name === 'string' ? pkg.name : undefined,
          version: typeof pkg.version === 'string' ? pkg.version : undefined,
        };
      } catch {
        /* keep walking up */
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return {};
}

/** Edit distance, for "did you mean" (only run for an unknown option). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

function closestField(key: string): Field | undefined {
  let best: Field | undefined;
  let bestD = Infinity;
  for (const f of FIELDS) {
    const d = f.toLowerCase() === key.toLowerCase() ? 0 : distance(key, f);
    if (d < bestD) [best, bestD] = [f, d];
  }
  return bestD <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

/**
 * The options given in code, each checked by its field's kind (the bounds a variable has):
 * the accepted ones are returned; each refused one, and each unknown key, is reported once.
 * `undefined`, and a blank string, count as not given (as an unset or blank variable does).
 */
function acceptOptions(options: unknown, r: Reader, optionName: (field: string) => string): Partial<TracewellOptions> {
  const accepted: Record<string, unknown> = {};
  if (options === undefined) return accepted;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    r.bad('init(options)', showCodeValue(options), 'an options object', 'no options', undefined, { literal: true });
    return accepted;
  }
  for (const key of Object.keys(options)) {
    let v = (options as Record<string, unknown>)[key];
    if (!Object.prototype.hasOwnProperty.call(OPTIONS, key)) {
      const near = closestField(key);
      r.bad(optionName(key), showCodeValue(v), `an option name${near !== undefined ? `; did you mean ${near}?` : ''}`, '', undefined, { literal: true, ignored: true });
      continue;
    }
    if (v === undefined) continue;
    if (typeof v === 'string') {
      v = v.trim();
      if (v === '') continue;
    }
    const field = key as Field;
    const kind = OPTIONS[field].kind as Kind<unknown>;
    const checked = kind.check(v);
    if (checked === undefined) {
      r.bad(optionName(key), showCodeValue((options as Record<string, unknown>)[key]), kind.acceptedInCode, defaultText(field), field, { literal: true });
      continue;
    }
    accepted[key] = checked;
  }
  return accepted as Partial<TracewellOptions>;
}

/** A copy that cannot be changed: arrays and plain records frozen (span processors themselves are left as they are). */
function frozen(v: unknown): unknown {
  if (Array.isArray(v)) return Object.freeze([...v]);
  if (typeof v === 'object' && v !== null) return Object.freeze({ ...v });
  return v;
}

/**
 * The resolved configuration and the values that were not accepted. Precedence, highest
 * first: the option given in code, then the field's variables in the table's order
 * (`TRACEWELL_*`, `DD_*`, `OTEL_*`), then the default; a value not accepted is skipped.
 */
export function resolveConfig(options: TracewellOptions = {}, env: Env = process.env, how: ResolveHow = {}): { config: ResolvedConfig; problems: ConfigProblem[] } {
  const r = new Reader(env, how);
  r.options = acceptOptions(options, r, how.optionName ?? ((field) => `init({ ${field} })`));
  for (const field of FIELDS) {
    r.field = field;
    const spec = OPTIONS[field];
    const value = spec.resolve !== undefined ? spec.resolve(r) : (r.pick(field, spec.env) ?? defaultOf(field));
    r.sources[field] ??= 'default';
    r.values[field] = value;
  }
  r.field = '';
  const out: Record<string, unknown> = {};
  for (const field of FIELDS) out[field] = frozen(r.values[field]);
  out.sources = Object.freeze({ ...r.sources });
  const config = Object.freeze(out) as unknown as ResolvedConfig;

  // A bad value whose field a lower-precedence source then set: say what is used instead of the default.
  for (const [problem, field] of r.fieldOf) {
    const source = r.sources[field];
    if (source === undefined || source === 'default' || source === 'option') continue;
    const used = r.values[field];
    if (used === undefined || used === null || (typeof used === 'object' && !Array.isArray(used))) continue;
    problem.defaultUsed = `${Array.isArray(used) ? used.join(',') || 'none' : String(used)} from ${source}`;
  }
  // A value read for two fields (DD_TRACE_PROPAGATION_STYLE, OTEL_PROPAGATORS) is reported once.
  const seen = new Set<string>();
  const problems = r.problems.filter((p) => {
    const k = p.variable + '\0' + p.value;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { config, problems };
}

/** Writes one warning per problem, and the missing-env warning. */
export function reportConfig(config: ResolvedConfig, problems: ConfigProblem[]): void {
  reportProblems(problems);
  if (config.enabled && config.env === '') {
    logger.warn(`[${Codes.CONFIG_NO_ENV}] no environment set for service "${config.service}": set DD_ENV (or the env option, or deployment.environment.name in OTEL_RESOURCE_ATTRIBUTES) so its traces are not filed under env:none`);
  }
}

/** One `TW_CONFIG_INVALID` warning per problem. */
export function reportProblems(problems: readonly ConfigProblem[]): void {
  for (const p of problems) logger.warn(`[${Codes.CONFIG_INVALID}] ${describeProblem(p)}`);
}

// ---------------------------------------------------------------------------------------------
// The `tracewell` commands' own variables (not SDK options): read here, like every other.

/** Variables of the `tracewell` commands, with their kind and default. */
const CLI_VARIABLES = {
  /** `tracewell agent`'s port when `--port` is not given. */
  TRACEWELL_AGENT_PORT: { kind: int(0, 65535, undefined, 'a port number from 0 to 65535'), default: 8126 },
} as const;

interface CliSettings {
  /** `tracewell agent`'s default port (`TRACEWELL_AGENT_PORT`, else 8126). */
  agentPort: number;
  problems: ConfigProblem[];
}

export function cliSettings(env: Env = process.env): CliSettings {
  const r = new Reader(env, {});
  const { kind, default: fallback } = CLI_VARIABLES.TRACEWELL_AGENT_PORT;
  const agentPort = r.variable('TRACEWELL_AGENT_PORT', kind, String(fallback)) ?? fallback;
  return { agentPort, problems: r.problems };
}

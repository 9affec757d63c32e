/**
 * The ONE place that uses modules of `@datadog/pprof` other than its public entry point (the
 * package has no `exports` map, so they can be required, but nothing promises they stay). That
 * is why package.json pins the binding to exactly `PINNED_PPROF_VERSION`, and why
 * test/profiler/binding-internals.test.mjs checks, on every Node line, that what is used here
 * still behaves as read from the 5.20.0 sources (`ts/src/time-profiler.ts`,
 * `bindings/profilers/wall.cc`); it fails loudly when a new version changes it.
 *
 * What is used:
 * - `out/src/async-context-frame`: whether AsyncLocalStorage runs on async context frames here
 *   (the binding asks its addon what a `run` put in V8's continuation-preserved embedder data).
 * - `out/src/time-profiler-bindings` (`TimeProfiler`, the addon's wall profiler) and
 *   `out/src/profile-serializer` (`serializeTimeProfile`): the public `time.start` makes its own
 *   AsyncLocalStorage as the key under which the profiler finds the sample context in each
 *   async context frame, and offers only `setContext` (a new context holder per call: a JS
 *   object plus a native record with a weak and a strong handle). Constructed here, the profiler
 *   takes the tracer's own AsyncLocalStorage as that key (`CPEDKey`): the tracer's store value,
 *   when it is a holder made by `createContextHolder` (an object with one internal field),
 *   labels every sample taken under it, and any other store value (a plain object) labels
 *   nothing. So a holder is made once per span and entering the span's context is the
 *   tracer's own `run`, with nothing more set or allocated per activation.
 */
import { isMainThread } from 'node:worker_threads';
import type { PprofBinding } from './binding';
import type { RawTimeProfile } from './serialize';

export const PINNED_PPROF_VERSION = '5.20.0';

type Profile = ReturnType<PprofBinding['time']['stop']>;
type SourceMapper = Awaited<ReturnType<PprofBinding['SourceMapper']['create']>>;
type LabelsFn = NonNullable<Parameters<PprofBinding['time']['stop']>[1]>;

/** The addon's wall profiler, as `time-profiler.ts` drives it (the members used here). */
interface NativeWallProfiler {
  start(): void;
  stop(restart: boolean): unknown;
  dispose(): void;
  createContextHolder(value: object): object;
  v8ProfilerStuckEventLoopDetected(): number;
  context: unknown;
  readonly metrics: { usedAsyncContextCount: number };
}

interface Internals {
  TimeProfiler: new (options: Record<string, unknown>) => NativeWallProfiler;
  serializeTimeProfile(profile: unknown, intervalMicros: number, mapper: SourceMapper | undefined, recompute: boolean, labels?: LabelsFn, lowCardinality?: string[]): Profile;
}

let internals: Internals | { error: string } | undefined;
interface KeyProfiler {
  native: NativeWallProfiler;
  intervalMicros: number;
  workaroundV8Bug: boolean;
  /** The FrameWallProfiler running it, if one is. */
  owner: object | null;
}
const natives = new WeakMap<object, KeyProfiler>();

function load(): Internals | { error: string } {
  if (internals === undefined) {
    try {
      const version = (require('@datadog/pprof/package.json') as { version: string }).version;
      if (version !== PINNED_PPROF_VERSION) {
        internals = { error: `@datadog/pprof ${version} is installed; span contexts in async context frames are built against ${PINNED_PPROF_VERSION} only` };
      } else {
        const { TimeProfiler } = require('@datadog/pprof/out/src/time-profiler-bindings') as { TimeProfiler: Internals['TimeProfiler'] };
        const { serializeTimeProfile } = require('@datadog/pprof/out/src/profile-serializer') as { serializeTimeProfile: Internals['serializeTimeProfile'] };
        if (typeof TimeProfiler !== 'function' || typeof TimeProfiler.prototype.createContextHolder !== 'function' || typeof serializeTimeProfile !== 'function') {
          internals = { error: `@datadog/pprof ${version} lacks TimeProfiler.createContextHolder or serializeTimeProfile` };
        } else if (typeof TimeProfiler.prototype.dispose !== 'function') {
          internals = { error: `@datadog/pprof ${version} lacks TimeProfiler.dispose` };
        } else internals = { TimeProfiler, serializeTimeProfile };
      }
    } catch (err) {
      internals = { error: String((err as Error)?.message ?? err) };
    }
  }
  return internals;
}

/**
 * Whether AsyncLocalStorage runs on async context frames here (Node 24 by default, Node 22.7+
 * with --experimental-async-context-frame).
 */
export function asyncContextFrameActive(): boolean {
  try {
    return (require('@datadog/pprof/out/src/async-context-frame') as { isAsyncContextFrameActive(): boolean }).isAsyncContextFrameActive();
  } catch {
    return false;
  }
}

interface FrameWallOptions {
  intervalMicros: number;
  sourceMapper: SourceMapper | undefined;
  workaroundV8Bug: boolean;
}

/**
 * A span-linked wall profile (contexts and CPU time, no line numbers) whose sample context is
 * read from `key`'s store in each async context frame. Throws when it cannot start.
 */
export class FrameWallProfiler {
  private native: NativeWallProfiler | null;
  private readonly entry: KeyProfiler;
  private readonly serialize: Internals['serializeTimeProfile'];
  private stuck = 0;

  constructor(
    key: object,
    private readonly options: FrameWallOptions,
  ) {
    const i = load();
    if ('error' in i) throw new Error(i.error);
    this.serialize = i.serializeTimeProfile;
    // Disposing the addon's profiler frees the native records of its holders, and holders still
    // in frames (requests in flight) keep pointing at them: a new profiler reading the same key
    // would follow those pointers. So the profiler made for a key is never disposed: stopped,
    // and started again by the next `FrameWallProfiler` on that key (its holders' records are
    // still its own, freed as V8 collects each holder).
    const known = natives.get(key);
    if (known !== undefined) {
      if (known.owner !== null) throw new Error('another span-linked profiler reads this store now');
      if (known.intervalMicros !== options.intervalMicros || known.workaroundV8Bug !== options.workaroundV8Bug) {
        throw new Error(`a span-linked profiler with other settings (every ${known.intervalMicros} µs) already read this store in this process`);
      }
      this.native = known.native;
      this.entry = known;
    } else {
      this.native = new i.TimeProfiler({
        intervalMicros: options.intervalMicros,
        durationMillis: 60_000,
        lineNumbers: false,
        withContexts: true,
        workaroundV8Bug: options.workaroundV8Bug,
        collectCpuTime: true,
        collectAsyncId: false,
        useCPED: true,
        CPEDKey: key,
        isMainThread,
      });
      this.entry = { native: this.native, intervalMicros: options.intervalMicros, workaroundV8Bug: options.workaroundV8Bug, owner: null };
      natives.set(key, this.entry);
    }
    this.entry.owner = this;
    this.native.start();
  }

  /**
   * What to keep as `key`'s store so that samples under it carry `value` (one per span). Once
   * stopped: a plain object (which labels nothing), never an error into the caller's `run`.
   */
  holder(value: object): object {
    const native = this.native;
    return native === null ? {} : native.createContextHolder(value);
  }

  /** The sample context the profiler reads here and now (undefined: none). */
  current(): unknown {
    return this.native?.context;
  }

  /** Holders the profiler still has a record for (freed when V8 collects the holder). */
  liveHolders(): number {
    return this.native?.metrics.usedAsyncContextCount ?? 0;
  }

  isStarted(): boolean {
    return this.native !== null;
  }

  /** The profile since the last cut; `restart`: go on profiling (as `time.stop(restart)`). */
  stop(restart: boolean, labels: LabelsFn | undefined, lowCardinality: string[]): Profile {
    return this.cut(restart)(labels, lowCardinality);
  }

  /**
   * The native half of `stop`: the profile since the last cut, taken now; the returned function
   * serializes it (the longer half), which the caller may run in a later tick so that the two
   * pauses do not add up.
   */
  cut(restart: boolean): (labels: LabelsFn | undefined, lowCardinality: string[]) => Profile {
    const raw = this.cutRaw(restart);
    const { intervalMicros, sourceMapper } = this.options;
    return (labels, lowCardinality) => this.serialize(raw, intervalMicros, sourceMapper, true, labels, lowCardinality);
  }

  /**
   * The native half alone: the profile since the last cut, as the addon's tree of nodes (with
   * their sample contexts and CPU times), for `TimeProfileWriter` to write in slices.
   */
  cutRaw(restart: boolean): RawTimeProfile {
    const native = this.native;
    if (native === null) throw new Error('the wall profiler is not started');
    const raw = native.stop(restart) as RawTimeProfile;
    if (restart) this.stuck = restartIfStuck(native);
    if (!restart) {
      this.native = null;
      this.entry.owner = null;
    }
    return raw;
  }

  /** 0: fine; 1: possibly, 2: certainly stuck at the last cut (and restarted). */
  v8ProfilerStuckEventLoopDetected(): number {
    return this.stuck;
  }

  /** Stops profiling (the addon's profiler is kept for the next one on this key: see the constructor). */
  dispose(): void {
    const native = this.native;
    this.native = null;
    if (native !== null) {
      this.entry.owner = null;
      native.stop(false);
    }
  }
}

/** As the binding does after a cut: a profiler found stuck (an empty profile) is restarted afresh. */
function restartIfStuck(native: NativeWallProfiler): number {
  const stuck = native.v8ProfilerStuckEventLoopDetected();
  if (stuck > 0) {
    native.stop(false);
    native.start();
  }
  return stuck;
}

interface PlainWallOptions {
  intervalMicros: number;
  /** Line mode: every sample names its line (no contexts then: the addon refuses both). */
  lineNumbers: boolean;
  /** Linked mode without frames: one current sample context, set by `setContext`, and CPU time. */
  withContexts: boolean;
  workaroundV8Bug: boolean;
}

/**
 * The addon's wall profiler driven as the binding's public `time.start` / `time.stop` drive it
 * (line mode, or linked mode with one current context), except that a cut returns the raw tree:
 * the public `time.stop` serializes it in the same synchronous call, which we write in slices
 * (`TimeProfileWriter`). Unlike `FrameWallProfiler`, it reads no store, so disposing it at the
 * end is safe (what the binding does). Throws when it cannot start.
 */
export class PlainWallProfiler {
  private native: NativeWallProfiler | null;
  private stuck = 0;

  constructor(options: PlainWallOptions) {
    const i = load();
    if ('error' in i) throw new Error(i.error);
    const native = new i.TimeProfiler({
      intervalMicros: options.intervalMicros,
      durationMillis: 60_000,
      lineNumbers: options.lineNumbers,
      withContexts: options.withContexts,
      workaroundV8Bug: options.workaroundV8Bug,
      collectCpuTime: options.withContexts,
      collectAsyncId: false,
      useCPED: false,
      isMainThread,
    });
    native.start();
    // As `time.start` does with contexts and no frames: an empty context to begin with.
    if (options.withContexts) native.context = {};
    this.native = native;
  }

  /** The one current sample context (linked mode on Node 20 and 22); ignored once stopped. */
  setContext(ctx: object): void {
    const native = this.native;
    if (native !== null) native.context = ctx;
  }

  isStarted(): boolean {
    return this.native !== null;
  }

  /** The profile since the last cut, raw; `restart`: go on profiling, else the profiler is disposed. */
  cutRaw(restart: boolean): RawTimeProfile {
    const native = this.native;
    if (native === null) throw new Error('the wall profiler is not started');
    const raw = native.stop(restart) as RawTimeProfile;
    if (restart) this.stuck = restartIfStuck(native);
    else {
      this.native = null;
      this.stuck = 0;
      native.dispose();
    }
    return raw;
  }

  /** 0: fine; 1: possibly, 2: certainly stuck at the last cut (and restarted). */
  v8ProfilerStuckEventLoopDetected(): number {
    return this.stuck;
  }

  dispose(): void {
    const native = this.native;
    this.native = null;
    if (native !== null) {
      native.stop(false);
      native.dispose();
    }
  }
}

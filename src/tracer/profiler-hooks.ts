/**
 * The places the tracer tells the profiler something, both owned here and both off while
 * profiling is off:
 * - a local root span ended (the upload's endpoint counts): one null check in the span-end path;
 * - a span became active (linked and span-lines modes label samples with it): `setActivationHook`,
 *   or, where the profiler reads its sample context from the tracer's own store in async context
 *   frames (linked mode, Node 24+), `setFrameHolders`. With neither the tracer's context store
 *   runs as it is, at no cost; with one, every `run` of the store (server requests, gRPC
 *   handlers, `startActiveSpan`, `context.with`, our own suppressed I/O) goes through one
 *   wrapper, and without async context frames an async hook reports each continuation too.
 * The profiler sees spans as `ProfiledSpan`, never the tracer's span class.
 */
import { AsyncLocalStorage, createHook, type AsyncHook } from 'node:async_hooks';
import type { Context, SpanKind } from '@opentelemetry/api';
import { SPAN_KEY, storage } from './context';
import { TwSpan } from './span';

/** What the profiler reads of a span, and the one slot it writes. */
export interface ProfiledSpan {
  readonly spanHi: number;
  readonly spanLo: number;
  readonly kind: SpanKind;
  readonly name: string;
  readonly resource: string;
  /** The first span of its trace in this process (itself for a local root). */
  localRoot(): ProfiledSpan;
  /** The profiler's own value for this span (null until it sets one). */
  profCtx: object | null;
}

/** The tracer's AsyncLocalStorage: the key under which the profiler may read holders in async context frames. */
export const contextStore: object = storage;

export const profilerHooks: { onLocalRootEnd: ((span: ProfiledSpan) => void) | null } = { onLocalRootEnd: null };

/** Told which span becomes active (`null`: none). */
export interface ActivationHook {
  /**
   * `span` becomes the active span. With frames: called inside the new async context frame
   * each `run` opens (what is set there follows the frame across async hops), return value
   * unused. Without: called before each synchronous `run` and at each async continuation;
   * what it returns is handed to `restore` when that `run` returns or throws.
   */
  activate(span: ProfiledSpan | null): unknown;
  /** Without frames: the `run` whose `activate` returned `token` is over. */
  restore(token: unknown): void;
}

let installed: { run: typeof storage.run; asyncHook: AsyncHook | null } | null = null;

/**
 * What the tracer's store holds in place of a context with a span in it while the profiler reads
 * its sample context from that store (`setFrameHolders`): an object the profiler made (it has an
 * internal field the profiler reads in its signal handler), with the context it stands for
 * under this symbol. `storage.getStore()` hands out that context, never the holder.
 */
export const HOLDS: unique symbol = Symbol('tracewell.holds');
interface FrameHolder {
  [HOLDS]: Context;
}

/** Makes the holder standing for `ctx`, whose active span is `span` (with `[HOLDS]` set to `ctx`). */
type HolderMaker = (span: ProfiledSpan, ctx: Context) => FrameHolder;

const rawGetStore = AsyncLocalStorage.prototype.getStore as (this: typeof storage) => Context | FrameHolder | undefined;

function spanIn(ctx: Context | undefined): TwSpan | null {
  if (ctx === undefined) return null;
  const s = ctx.getValue(SPAN_KEY);
  return s instanceof TwSpan ? s : null;
}

/**
 * Installs `hook` (replacing any other), or with `null` takes it away. `frames`: the profiler
 * keeps its value in async context frames (Node 24+, or 22 with
 * `--experimental-async-context-frame`), so activations are reported inside each new frame and
 * async hops need nothing; otherwise an async hook reports every continuation.
 */
export function setActivationHook(hook: ActivationHook | null, frames: boolean): void {
  uninstall();
  if (hook === null) return;
  const original = storage.run;
  if (frames) {
    // Runs inside the frame `run` opens.
    const enter = (store: Context, fn: (...a: unknown[]) => unknown, args: unknown[]): unknown => {
      hook.activate(spanIn(store));
      return fn(...args);
    };
    storage.run = function run<R, A extends unknown[]>(this: typeof storage, store: Context, fn: (...args: A) => R, ...args: A): R {
      return original.call(this, store, enter, store, fn, args) as R;
    } as typeof storage.run;
    installed = { run: original, asyncHook: null };
    return;
  }
  // Where a span becomes active synchronously: reported for the call, restored after.
  storage.run = function run<R, A extends unknown[]>(this: typeof storage, store: Context, fn: (...args: A) => R, ...args: A): R {
    const token = hook.activate(spanIn(store));
    try {
      return original.call(this, store, fn, ...args) as R;
    } finally {
      hook.restore(token);
    }
  } as typeof storage.run;
  // Where an async continuation resumes: the store is already the continuation's.
  const asyncHook = createHook({
    before() {
      hook.activate(spanIn(storage.getStore()));
    },
  });
  installed = { run: original, asyncHook };
  asyncHook.enable();
  hook.activate(spanIn(storage.getStore()));
}

function uninstall(): void {
  if (installed !== null) {
    installed.asyncHook?.disable();
    storage.run = installed.run;
    installed = null;
  }
}

/**
 * With async context frames, where the profiler reads the tracer's own store (replacing any
 * activation hook; `null` takes it away): a context with a span in it is kept in the frame as a
 * holder from `make`, made once per span (kept in `span.profCtx`, as long as the span) when the
 * context is the span itself, as the tracer's instrumentations and `startActiveSpan` enter it;
 * per `run` for another context that carries a span (`context.with(trace.setSpan(...))`).
 * Async hops carry the frame and with it the holder: nothing runs per hop. `storage.run` is the
 * runtime's own (`enterWith` the value, run, `enterWith` the previous value back), on the
 * holder; `storage.getStore()` returns the context a holder stands for (from then on, for the
 * life of the process).
 */
export function setFrameHolders(make: HolderMaker | null): void {
  uninstall();
  if (make === null) return;
  const original = storage.run;
  storage.run = function run<R, A extends unknown[]>(this: typeof storage, store: Context, fn: (...args: A) => R, ...args: A): R {
    let data: Context | FrameHolder | undefined = store;
    if (store instanceof TwSpan) {
      const known = store.profCtx as Partial<FrameHolder> | null;
      data = known !== null && known[HOLDS] !== undefined ? (known as FrameHolder) : make(store, store);
    } else if (store !== undefined) {
      const span = spanIn(store);
      if (span !== null) data = make(span, store);
    }
    const prior = rawGetStore.call(this);
    if (prior === data) return fn(...args);
    this.enterWith(data as Context);
    try {
      return fn(...args);
    } finally {
      this.enterWith(prior as Context);
    }
  } as typeof storage.run;
  // Kept for the life of the process once set: holders may stay in frames (requests in flight)
  // after the profiler stopped, and must never reach the tracer or the user as contexts.
  if (!Object.prototype.hasOwnProperty.call(storage, 'getStore')) {
    storage.getStore = function getStore(this: typeof storage): Context | undefined {
      const s = rawGetStore.call(this);
      return s === undefined ? s : ((s as Partial<FrameHolder>)[HOLDS] ?? (s as Context));
    };
  }
  installed = { run: original, asyncHook: null };
}

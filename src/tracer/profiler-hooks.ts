/**
 * The places the tracer tells the profiler something, both owned here and both off while
 * profiling is off:
 * - a local root span ended (the upload's endpoint counts): one null check in the span-end path;
 * - a span became active (linked and span-lines modes label samples with it): `setActivationHook`.
 *   With no hook the tracer's context store runs as it is, at no cost; with one, every `run` of
 *   the store (server requests, gRPC handlers, `startActiveSpan`, `context.with`, our own
 *   suppressed I/O) goes through one wrapper, and without async context frames an async hook
 *   reports each continuation too.
 * The profiler sees spans as `ProfiledSpan`, never the tracer's span class.
 */
import { createHook, type AsyncHook } from 'node:async_hooks';
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
  if (installed !== null) {
    installed.asyncHook?.disable();
    storage.run = installed.run;
    installed = null;
  }
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

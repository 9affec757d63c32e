/**
 * `@datadog/pprof` is required here, when the profiler starts, never when the SDK loads: it
 * holds a native addon, and where no prebuild fits (another platform, libc or Node ABI) the
 * require throws. That leaves profiling off with one message; tracing is untouched.
 */
export type PprofBinding = typeof import('@datadog/pprof');

let cached: { binding: PprofBinding } | { error: unknown } | undefined;

export function loadBinding(): { binding: PprofBinding } | { error: unknown } {
  if (cached === undefined) {
    try {
      cached = { binding: require('@datadog/pprof') as PprofBinding };
    } catch (error) {
      cached = { error };
    }
  }
  return cached;
}

/**
 * Whether AsyncLocalStorage runs on async context frames here (Node 24 by default, Node 22.7+
 * with --experimental-async-context-frame): then the binding can keep the sampled context in
 * the frame itself, and no async hook is needed to follow it across awaits.
 */
export function asyncContextFrameActive(): boolean {
  try {
    return (require('@datadog/pprof/out/src/async-context-frame') as { isAsyncContextFrameActive(): boolean }).isAsyncContextFrameActive();
  } catch {
    return false;
  }
}

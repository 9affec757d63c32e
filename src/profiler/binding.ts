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

/**
 * Stable error and warning codes. Start-up misuse is reported with one of these codes; at
 * runtime nothing is thrown into the host. Documented in docs/errors.md.
 */
export const Codes = {
  /** A configuration value was not accepted; the default was used. */
  CONFIG_INVALID: 'TW_CONFIG_INVALID',
  /** No `env` was configured; spans are tagged without an environment. */
  CONFIG_NO_ENV: 'TW_CONFIG_NO_ENV',
  /** `init()` was called a second time; the first tracer stays in place. */
  ALREADY_INITIALIZED: 'TW_ALREADY_INITIALIZED',
  /** An instrumentation failed and turned itself off. */
  INSTRUMENTATION_DISABLED: 'TW_INSTRUMENTATION_DISABLED',
  /** The agent could not be reached or refused payloads. */
  EXPORT_FAILED: 'TW_EXPORT_FAILED',
  /** Spans were dropped because the pending buffer was full. */
  BUFFER_FULL: 'TW_BUFFER_FULL',
  /** The profiler could not start (no prebuilt binding for this platform...); tracing is unaffected. */
  PROFILER_UNAVAILABLE: 'TW_PROFILER_UNAVAILABLE',
  /** A profile could not be collected, written or sent; counted in `stats().profiler.dropped`. */
  PROFILE_FAILED: 'TW_PROFILE_FAILED',
  /** A dynamic probe could not be accepted, installed or run; its status says why. */
  PROBE_ERROR: 'TW_PROBE_ERROR',
} as const;

export type Code = (typeof Codes)[keyof typeof Codes];

export class TracewellError extends Error {
  readonly code: Code;
  constructor(code: Code, message: string) {
    super(message);
    this.name = 'TracewellError';
    this.code = code;
  }
}

/**
 * The one place the tracer tells the profiler something: a local root span ended (for the
 * upload's endpoint counts). `null` while profiling is off, so the tracer pays one check.
 */
import type { TwSpan } from './span';

export const profilerHooks: { onLocalRootEnd: ((span: TwSpan) => void) | null } = { onLocalRootEnd: null };

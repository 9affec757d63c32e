/**
 * Tracewell's public API. Everything a user imports is named here.
 */
export { init, getHandle, type TracewellHandle } from './sdk';
export type { TracewellOptions, ResolvedConfig, PropagationStyle, InstrumentationName, SpanProcessor } from './config/options';
export type { ProfilingMode, SamplingRule, ResolvedSamplingRule } from './config/options';
export type { TracewellStats, DroppedCounts, IgnoredCounts, ObfuscatedCounts, DeadLetterCounts, ProfilerCounts, ProbeCounts, ProbeStatusReport, ProbeStatusName } from './internal/counters';
export type { LogLevel } from './internal/logger';
export { Codes, TracewellError, type Code } from './internal/errors';
export { currentLogIds, type LogIds } from './tracer/logs/correlation';

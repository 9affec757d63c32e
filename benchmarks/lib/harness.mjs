// The benchmark harness in one import. Each piece lives in its own file:
//   args.mjs            the shared command line (--quick, --variants, --rounds, --node ...)
//   variants.mjs        tracers as node flags + environment
//   server-process.mjs  a variant's server as a child with IPC; generic child helpers
//   serve-usage.cjs     the server side of that IPC (port, CPU, RSS, request count)
//   sink.mjs            the trace endpoint every variant exports to
//   load.mjs            HTTP load generator (undici), on load-loop.cjs (+ pacer, histogram)
//   measure.mjs         one measurement window: load + server CPU at its start and end
//   interleave.mjs      rounds A B C A B C over long-lived servers; summaries and ratios
//   stats.mjs           median / min / max, per-round ratios and differences
//   report.mjs          markdown tables, headline lines, machine info, raw JSON
export { parseArgs, intArg, scenarioOptions } from './args.mjs';
export { tracerVariants, pickVariants } from './variants.mjs';
export { repoRoot, startServer, forkChild, waitMessage, stopChild } from './server-process.mjs';
export { startSink, startSinkProcess } from './sink.mjs';
export { measureWindow } from './measure.mjs';
export { runInterleaved } from './interleave.mjs';
export { summarize, perRound } from './stats.mjs';
export { benchRoot, markdownTables, headlines, noiseNote, machine, saveJson, fmt, range } from './report.mjs';

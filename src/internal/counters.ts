/**
 * Process-wide counters: nothing is dropped or retried without being counted here.
 * Plain number fields, so counting on the hot path is one increment. `stats()` returns a copy.
 */
export interface DroppedCounts {
  /** Finished spans refused because the pending buffer was full. */
  bufferFull: number;
  /** Spans in payloads the agent could not be reached with (connection refused, timeout...). */
  sendFailed: number;
  /** Spans in payloads the agent rejected (4xx other than 429/408). */
  rejected: number;
  /** Spans that could not be encoded. */
  encodeFailed: number;
  /** Spans still pending when shutdown's deadline passed (only when they could not be dead-lettered). */
  shutdown: number;
  /** Spans that could be neither sent nor written to the dead-letter file (folder not writable, disk full, a payload bigger than the size limit). */
  deadLetterFailed: number;
  /** Spans evicted from the dead-letter folder, oldest first, to stay under its size limit. */
  evicted: number;
  /** Spans of traces the sampler dropped, not sent by an exporter that takes sampled traces only (OTLP). */
  unsampled: number;
}

/** The dead-letter file: payloads kept while the agent could not take them, and their replay. */
export interface DeadLetterCounts {
  /** Spans (and payloads) written to the dead-letter file to be sent later. */
  spansWritten: number;
  payloadsWritten: number;
  /** Spans (and payloads) sent from the dead-letter file and accepted by the agent. */
  spansReplayed: number;
  payloadsReplayed: number;
  /** Spans (and payloads) the agent rejected as malformed, kept in the rejected file and never sent again automatically. */
  spansRejected: number;
  payloadsRejected: number;
  /** Damaged records skipped when reading a dead-letter file (a write torn by a crash). */
  recordsSkipped: number;
  /** Bytes of this service's dead-letter files on disk (as last seen). */
  bytesOnDisk: number;
  /** Files in the dead-letter folder that are not ours (another user's, a link, writable by others): never read or sent. */
  filesRefused: number;
}

/** The continuous profiler (src/profiler): what it collected, sent, wrote, and lost. */
export interface ProfilerCounts {
  /** Profile periods collected (each one upload of wall + heap). */
  profilesCollected: number;
  /** Uploads the agent accepted. */
  profilesSent: number;
  /** `.pb.gz` files written into the profiling folder. */
  filesWritten: number;
  /** Uploads retried (their second attempt and later). */
  retries: number;
  /** Uploads written to the profiles' dead-letter folder, and later sent from it. */
  deadLettered: number;
  replayed: number;
  /** Dropped uploads, by reason. */
  dropped: { tooLarge: number; sendFailed: number; rejected: number; collectFailed: number; fileFailed: number; evicted: number };
  /** Profiles in which the binding found V8's profiler stuck (empty) and restarted it. */
  v8BugRecoveries: number;
  /** Longest and last main-thread stall of stopping and serializing one profile, in ms. */
  maxStallMs: number;
  lastStallMs: number;
  /** The longest stall of the process's first profile (its cold serializer), in ms. */
  firstProfileMaxStallMs: number;
  /**
   * The last 20 stalls, oldest first, in ms: each profile's wall step (in linked mode on Node
   * 24+ two: the cut, then serializing it a tick later), then its heap step.
   */
  stallsMs: number[];
}

/** A dynamic probe's status (src/dynamic reports them here). */
export type ProbeStatusName = 'RECEIVED' | 'INSTALLED' | 'EMITTING' | 'ERROR';

/** One probe's status, as `stats().probes.statuses` shows it. */
export interface ProbeStatusReport {
  id: string;
  version: number;
  type: string;
  status: ProbeStatusName;
  /** Why it is in this status (waiting for a file, where it was installed, the error). */
  message: string;
  /** For ERROR: a short error type (`BadDefinition`, `UnknownFile`, `NoCode`, `BadExpression`, `Overrun`...). */
  errorType?: string;
  /** The probe's location as defined (`file:line`). */
  location: string;
  /** The generated script and line it was installed in (differs from `location` through a source map). */
  installedAt?: string;
  /**
   * How its call was put in the code: `load-time` (in the module's source before V8 compiled
   * it) or `live-edit` (the running script edited through the inspector). Both cost the same per hit.
   */
  technique?: 'load-time' | 'live-edit';
  hits: number;
  emitted: number;
  evaluationErrors: number;
  lastEvaluationError?: string;
  /** Hits skipped by the per-probe or global rate limit. */
  rateLimited: number;
}

/** The `probes` field of `stats()`. */
export interface ProbeCounts {
  /** Probes defined (good or bad). */
  defined: number;
  installed: number;
  errors: number;
  hits: number;
  /** Snapshots, tags or metric values produced. */
  emitted: number;
  evaluationErrors: number;
  rateLimited: number;
  /** Values replaced by `[redacted]` (by name). */
  redacted: number;
  /** Snapshots dropped: the send buffer was full, the agent refused them, or they could be neither sent nor kept. */
  snapshotsDropped: number;
  /** Snapshots the agent accepted (replayed ones included). */
  snapshotsSent: number;
  /** Snapshots written to the dead-letter file while the agent could not take them, and later sent from it. */
  snapshotsDeadLettered: number;
  snapshotsReplayed: number;
  /** Probe statuses the agent accepted, and those lost. */
  statusesSent: number;
  statusesDropped: number;
  /** Attempts to send probe output after the first. */
  deliveryRetries: number;
  metricsSent: number;
  statuses: ProbeStatusReport[];
}

/** Requests left out by `httpIgnorePaths` and `httpClientIgnoreUrls`: no span was made for them. */
export interface IgnoredCounts {
  /** Inbound requests whose path is in `httpIgnorePaths`. */
  inbound: number;
  /** Outbound requests whose URL is in `httpClientIgnoreUrls`. */
  outbound: number;
}

/** Spans whose statement or command had something hidden before it was encoded (values replaced by `?`, comments removed). */
export interface ObfuscatedCounts {
  /** SQL spans (pg, mysql2) whose resource had a literal replaced by `?` or a comment removed. */
  sqlStatements: number;
  /** Redis command spans whose `redis.raw_command` had an argument value replaced by `?`. */
  redisCommands: number;
}

export interface TracewellStats {
  spansStarted: number;
  spansFinished: number;
  /** Spans the agent accepted. */
  spansSent: number;
  tracesSent: number;
  /** Payloads (HTTP requests) the agent accepted. */
  payloadsSent: number;
  bytesSent: number;
  /** Finished spans waiting to be sent right now. */
  spansPending: number;
  dropped: DroppedCounts;
  /** Requests left out on purpose (`httpIgnorePaths`, `httpClientIgnoreUrls`). */
  ignored: IgnoredCounts;
  /** Internal log lines suppressed by the rate limit. */
  logLinesSuppressed: number;
  /** Errors inside instrumentations, caught before they reached the app. */
  instrumentationErrors: number;
  /** New attribute keys not kept because their span already had the most it keeps (128). */
  attributesDropped: number;
  /** Statements and commands whose values were hidden by obfuscation, one per span. */
  obfuscated: ObfuscatedCounts;
  /** Obfuscated SQL statements evicted from the per-text cache (2000 per driver) to make room: a count that keeps growing means statements with values written into their text. */
  statementCacheEvictions: number;
  /** Export attempts that were a retry of a payload (its second attempt and later). */
  retries: number;
  /** Dead-letter file: written, replayed, rejected, bytes on disk. */
  deadLetter: DeadLetterCounts;
  /** The export circuit: `closed` (sending), `open` (agent unreachable, probing), `half-open` (probe in flight). */
  circuit: 'closed' | 'open' | 'half-open';
  /** The continuous profiler; all zero when it is off. */
  profiler: ProfilerCounts;
  /** Dynamic probes: each probe's status (RECEIVED, INSTALLED, EMITTING, ERROR) and what they did. */
  probes: ProbeCounts;
}

export const counters: TracewellStats = {
  spansStarted: 0,
  spansFinished: 0,
  spansSent: 0,
  tracesSent: 0,
  payloadsSent: 0,
  bytesSent: 0,
  spansPending: 0,
  dropped: { bufferFull: 0, sendFailed: 0, rejected: 0, encodeFailed: 0, shutdown: 0, deadLetterFailed: 0, evicted: 0, unsampled: 0 },
  ignored: { inbound: 0, outbound: 0 },
  logLinesSuppressed: 0,
  instrumentationErrors: 0,
  attributesDropped: 0,
  obfuscated: { sqlStatements: 0, redisCommands: 0 },
  statementCacheEvictions: 0,
  retries: 0,
  deadLetter: { spansWritten: 0, payloadsWritten: 0, spansReplayed: 0, payloadsReplayed: 0, spansRejected: 0, payloadsRejected: 0, recordsSkipped: 0, bytesOnDisk: 0, filesRefused: 0 },
  circuit: 'closed',
  profiler: {
    profilesCollected: 0,
    profilesSent: 0,
    filesWritten: 0,
    retries: 0,
    deadLettered: 0,
    replayed: 0,
    dropped: { tooLarge: 0, sendFailed: 0, rejected: 0, collectFailed: 0, fileFailed: 0, evicted: 0 },
    v8BugRecoveries: 0,
    maxStallMs: 0,
    firstProfileMaxStallMs: 0,
    lastStallMs: 0,
    stallsMs: [],
  },
  probes: { defined: 0, installed: 0, errors: 0, hits: 0, emitted: 0, evaluationErrors: 0, rateLimited: 0, redacted: 0, snapshotsDropped: 0, snapshotsSent: 0, snapshotsDeadLettered: 0, snapshotsReplayed: 0, statusesSent: 0, statusesDropped: 0, deliveryRetries: 0, metricsSent: 0, statuses: [] },
};

export function snapshot(): TracewellStats {
  return {
    ...counters,
    dropped: { ...counters.dropped },
    ignored: { ...counters.ignored },
    obfuscated: { ...counters.obfuscated },
    deadLetter: { ...counters.deadLetter },
    profiler: { ...counters.profiler, dropped: { ...counters.profiler.dropped }, stallsMs: [...counters.profiler.stallsMs] },
    probes: { ...counters.probes, statuses: counters.probes.statuses.map((r) => ({ ...r })) },
  };
}

/**
 * Probe definitions in Datadog's shape (what its UI and remote configuration send), as
 * accepted from `TRACEWELL_PROBES` / `TRACEWELL_PROBES_FILE`, and the validated form the rest
 * of `src/dynamic` works with.
 */

/** An expression: Datadog's JSON tree (`{ref}`, `{getmember}`, `{eq}`...) or a literal. */
export type ExprNode = string | number | boolean | null | { [op: string]: unknown };

export interface CaptureLimits {
  /** Levels of objects followed. Default 3. */
  maxReferenceDepth: number;
  /** Elements of an array, Map or Set. Default 100. */
  maxCollectionSize: number;
  /** Characters of a string. Default 255. */
  maxLength: number;
  /** Fields of an object. Default 20. */
  maxFieldCount: number;
}

export const DEFAULT_LIMITS: Readonly<CaptureLimits> = Object.freeze({ maxReferenceDepth: 3, maxCollectionSize: 100, maxLength: 255, maxFieldCount: 20 });

export type ProbeType = 'LOG_PROBE' | 'SPAN_DECORATION_PROBE' | 'METRIC_PROBE';
export type MetricKind = 'COUNT' | 'GAUGE' | 'HISTOGRAM' | 'DISTRIBUTION';

/** A validated expression: its tree and the text shown in errors and tags. */
export interface Expr {
  json: ExprNode;
  dsl: string;
}

/** A template part: literal text or an expression whose value is printed. */
export type TemplatePart = string | Expr;

/**
 * Where a probe runs: a line of a file (1-based, as the user sees it in that file), or the
 * entry of a method or function (`methodName`, with `typeName` for a class method; `line` 0).
 */
export interface ProbeWhere {
  sourceFile: string;
  line: number;
  typeName?: string;
  methodName?: string;
}

/** A validated probe. Expressions are still trees here; they are compiled when installed. */
export interface ProbeSpec {
  id: string;
  version: number;
  type: ProbeType;
  where: ProbeWhere;
  when: Expr | null;
  limits: CaptureLimits;
  /** Where the definition came from (`TRACEWELL_PROBES`, the file path...). */
  origin: string;
  /** A stable text of the whole definition: a probe whose text is unchanged is left alone on reload. */
  fingerprint: string;
  log?: {
    template: TemplatePart[];
    captureSnapshot: boolean;
    captureExpressions: { name: string; expr: Expr }[];
    snapshotsPerSecond: number;
  };
  decoration?: {
    targetSpan: 'ACTIVE' | 'ROOT';
    decorations: { when: Expr | null; tags: { name: string; value: TemplatePart[] }[] }[];
  };
  metric?: {
    kind: MetricKind;
    metricName: string;
    /** null: 1 per hit (COUNT only). */
    value: Expr | null;
  };
}

/** A definition that could not be accepted: reported with its own ERROR status. */
export interface BadDefinition {
  id: string;
  version: number;
  origin: string;
  errorType: string;
  message: string;
}

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

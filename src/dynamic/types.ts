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

type ProbeType = 'LOG_PROBE' | 'SPAN_DECORATION_PROBE' | 'METRIC_PROBE';
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
interface ProbeWhere {
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

/** Probe statuses are counters' shapes (`stats().probes`), defined with them. */
export type { ProbeStatusReport } from '../internal/counters';

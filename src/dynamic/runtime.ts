/**
 * What runs when a probe line is hit. The inserted call is
 * `__tracewell$probe(id, name1, name2, ...)`: a table lookup, the values copied into the
 * probe's own frame (no allocation), then the probe's work under a time budget. Nothing
 * thrown here reaches the app; a probe that overruns its budget is turned off with ERROR.
 */
import { performance } from 'node:perf_hooks';
import type { TwSpan } from '../tracer/span';
import { activeContext, SPAN_KEY } from '../tracer/context';
import { dec64, hex32 } from '../tracer/ids';
import { counters } from '../internal/counters';
import { CaptureContext, render, type CapturedValue } from './capture';
import { compile, refsOf, ProbeEvalError, type Evaluator, type NameTable } from './expr';
import { Intake } from './intake';
import type { Redactor } from '../internal/redact';
import type { CaptureLimits, ExprNode, ProbeSpec, ProbeStatusReport, TemplatePart } from './types';

/** Operators that loop over a value (its keys or elements). */
const HEAVY_OPS = /"(any|all|filter|len|count|isEmpty|contains|matches)"/;

/** Slow hits (net of the ones in budget, see `hook`) after which a probe is turned off. */
const OVERRUN_LIMIT = 3;

/** A template part compiled: literal text, or an evaluator (with `redacted` when its last name is sensitive). */
type CompiledPart = string | { fn: Evaluator; redacted: boolean; dsl: string };

export interface ActiveProbe {
  num: number;
  spec: ProbeSpec;
  report: ProbeStatusReport;
  /** Names passed by the inserted call, in order. */
  names: string[];
  /** The values of `names` (then `@it` slots), filled per hit. */
  frame: unknown[];
  argc: number;
  packed: boolean;
  off: boolean;
  /** EMITTING was scheduled. */
  emitting: boolean;
  /** Hits that went over the time budget. */
  overruns: number;
  /** Timed on every hit: a log probe, or expressions that loop (any, all, filter, len...). */
  heavy: boolean;
  when: Evaluator | null;
  decorations: { when: Evaluator | null; tags: { name: string; parts: CompiledPart[]; probeIdTag: string; errorTag: string }[] }[];
  template: CompiledPart[];
  captureExpressions: { name: string; fn: Evaluator; redacted: boolean }[];
  /** For snapshots: which names are arguments, which locals. */
  params: string[];
  locals: string[];
  metricValue: Evaluator | null;
  metric: ReturnType<Intake['metric']> | null;
  /** Token bucket of the per-probe rate limit. */
  tokens: number;
  perSecond: number;
  lastRefill: number;
  location: { file: string; line: number };
  /** Called when the probe must be turned off (budget overrun). */
  onOverrun: (p: ActiveProbe, ms: number) => void;
  /** Called when a passed name cannot be read at the line (not declared, or not yet initialised). */
  onNotInScope: (p: ActiveProbe, message: string) => void;
  /** Called on the first output. */
  onFirstEmit: (p: ActiveProbe) => void;
}

/** A name is redacted when the last variable or member name of the expression is. */
function lastName(node: ExprNode): string | null {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return null;
  if (typeof node.ref === 'string') return node.ref;
  if (Array.isArray(node.getmember) && typeof node.getmember[1] === 'string') return node.getmember[1];
  if (Array.isArray(node.index) && typeof node.index[1] === 'string') return node.index[1];
  return null;
}

/** Names the probe's expressions read, plus what a snapshot needs: these are passed at the line. */
export function namesFor(spec: ProbeSpec, scope: { params: string[]; locals: string[] }): string[] {
  const refs = new Set<string>();
  const add = (json: ExprNode): void => void refsOf(json, refs);
  if (spec.when) add(spec.when.json);
  const addParts = (parts: TemplatePart[]): void => {
    for (const p of parts) if (typeof p !== 'string') add(p.json);
  };
  if (spec.log) {
    addParts(spec.log.template);
    for (const c of spec.log.captureExpressions) add(c.expr.json);
    if (spec.log.captureSnapshot) for (const n of [...scope.params, ...scope.locals]) refs.add(n);
  }
  if (spec.decoration) {
    for (const d of spec.decoration.decorations) {
      if (d.when) add(d.when.json);
      for (const t of d.tags) addParts(t.value);
    }
  }
  if (spec.metric?.value) add(spec.metric.value.json);
  return [...refs].filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && !RESERVED.has(n));
}

const RESERVED = new Set(['null', 'true', 'false', 'undefined', 'arguments', 'eval', 'new', 'typeof', 'void', 'delete', 'await', 'yield', 'import', 'super', 'class', 'function', 'return', 'var', 'let', 'const', 'if', 'else', 'for', 'while', 'do', 'switch', 'case', 'default', 'break', 'continue', 'throw', 'try', 'catch', 'finally', 'in', 'of', 'instanceof', 'with', 'export', 'enum', 'debugger']);

export class ProbeRuntime {
  /** Installed probes by number (the first argument of the inserted call). */
  readonly table: (ActiveProbe | undefined)[] = [];
  private readonly capture: CaptureContext;
  /** The global snapshot limit, a token bucket shared by all log probes. */
  private globalTokens: number;
  private globalLast = performance.now();

  constructor(
    private readonly redactor: Redactor,
    readonly intake: Intake,
    private readonly budgetMs: number,
    private readonly globalPerSecond: number,
    private readonly service: string,
  ) {
    this.capture = new CaptureContext(redactor);
    this.globalTokens = globalPerSecond;
  }

  /** The function the inserted calls reach. Its shape is fixed so it stays monomorphic. */
  readonly hook = (id: number, a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown, a5?: unknown, a6?: unknown, a7?: unknown): void => {
    const p = this.table[id];
    if (p === undefined || p.off) return;
    p.report.hits++;
    counters.probes.hits++;
    const f = p.frame;
    if (p.packed) {
      const arr = a0 as unknown[];
      for (let i = 0; i < p.argc; i++) f[i] = arr[i];
    } else {
      const n = p.argc;
      if (n > 0) f[0] = a0;
      if (n > 1) f[1] = a1;
      if (n > 2) f[2] = a2;
      if (n > 3) f[3] = a3;
      if (n > 4) f[4] = a4;
      if (n > 5) f[5] = a5;
      if (n > 6) f[6] = a6;
      if (n > 7) f[7] = a7;
    }
    // Reading the clock costs about as much as a light probe's work; light probes (no loops
    // in their expressions, no snapshot) are timed on one hit in 16, heavy ones on every hit.
    // A hit that captured an object is timed from the capture's start.
    const timed = p.heavy || (p.report.hits & 15) === 0;
    let t0 = timed ? performance.now() : 0;
    this.capture.used = false;
    try {
      this.run(p, f, t0);
    } catch (err) {
      this.evalError(p, err);
    } finally {
      // The frame must not keep app objects alive between hits.
      for (let i = 0; i < f.length; i++) f[i] = undefined;
    }
    if (!timed) {
      if (!this.capture.used) return;
      t0 = this.capture.startedAt;
    }
    const ms = performance.now() - t0;
    // One slow hit may be the code warming up, a GC pause or the process being descheduled;
    // a probe is turned off when slow hits keep coming: each adds 1, each hit in budget takes
    // 1/20 off, and at OVERRUN_LIMIT it is off.
    if (ms > this.budgetMs) {
      if (++p.overruns >= OVERRUN_LIMIT) p.onOverrun(p, ms);
    } else if (p.overruns > 0) p.overruns = Math.max(0, p.overruns - 0.05);
  };

  /** A name in the inserted call could not be read (a `let` not yet initialised, a name not in scope). */
  readonly hookError = (id: number, err: unknown): void => {
    const p = this.table[id];
    if (p === undefined || p.off) return;
    p.report.hits++;
    counters.probes.hits++;
    this.evalError(p, err);
    // A name not declared at the line, or declared after it, fails on every hit (and a throw
    // costs microseconds): the probe is taken out and says which name.
    if (err instanceof ReferenceError) {
      p.off = true;
      setImmediate(p.onNotInScope, p, err.message).unref();
    }
  };

  private evalError(p: ActiveProbe, err: unknown): void {
    p.report.evaluationErrors++;
    counters.probes.evaluationErrors++;
    let msg: string;
    try {
      msg = err instanceof Error ? `${err instanceof ProbeEvalError ? '' : err.name + ': '}${err.message}` : String(err);
    } catch {
      msg = 'an error that cannot be described';
    }
    p.report.lastEvaluationError = msg;
  }

  private run(p: ActiveProbe, f: unknown[], t0: number): void {
    const spec = p.spec;
    if (p.when !== null && !p.when(f)) return;
    if (spec.type === 'SPAN_DECORATION_PROBE') this.decorate(p, f);
    else if (spec.type === 'LOG_PROBE') this.log(p, f, t0);
    else this.measure(p, f);
  }

  private decorate(p: ActiveProbe, f: unknown[]): void {
    let span = activeContext().getValue(SPAN_KEY) as TwSpan | undefined;
    if (span === undefined || typeof (span as { setAttribute?: unknown }).setAttribute !== 'function') {
      p.report.lastEvaluationError = 'no active span at the probe line';
      return;
    }
    if (p.spec.decoration!.targetSpan === 'ROOT' && span.trace !== undefined && span.trace.spans.length > 0) span = span.trace.spans[0];
    let emitted = false;
    for (const d of p.decorations) {
      if (d.when !== null && !d.when(f)) continue;
      for (const tag of d.tags) {
        try {
          span.setAttribute(tag.name, this.renderParts(tag.parts, f, p.spec.limits));
          span.setAttribute(tag.probeIdTag, p.spec.id);
          emitted = true;
        } catch (err) {
          this.evalError(p, err);
          span.setAttribute(tag.errorTag, p.report.lastEvaluationError ?? 'evaluation error');
        }
      }
    }
    if (emitted) this.emitted(p);
  }

  private renderParts(parts: CompiledPart[], f: unknown[], limits: CaptureLimits): string {
    if (parts.length === 1 && typeof parts[0] !== 'string') return this.renderOne(parts[0], f, limits);
    let out = '';
    for (const part of parts) out += typeof part === 'string' ? part : this.renderOne(part, f, limits);
    return out;
  }

  private renderOne(part: { fn: Evaluator; redacted: boolean }, f: unknown[], limits: CaptureLimits): string {
    const v = part.fn(f);
    if (part.redacted) {
      this.redactor.count++;
      counters.probes.redacted++;
      return '[redacted]';
    }
    // Primitives print as themselves: no capture needed.
    if (typeof v === 'string' && v.length <= limits.maxLength) return v;
    if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
    const before = this.redactor.count;
    const c = this.capture.begin(limits, this.budgetMs).value(v, 0);
    counters.probes.redacted += this.redactor.count - before;
    return render(c);
  }

  private refill(p: ActiveProbe, now: number): boolean {
    const elapsed = now - p.lastRefill;
    if (elapsed > 0) {
      p.tokens = Math.min(p.perSecond, p.tokens + (elapsed * p.perSecond) / 1000);
      p.lastRefill = now;
    }
    if (p.tokens < 1) return false;
    const g = now - this.globalLast;
    if (g > 0) {
      this.globalTokens = Math.min(this.globalPerSecond, this.globalTokens + (g * this.globalPerSecond) / 1000);
      this.globalLast = now;
    }
    if (p.spec.log!.captureSnapshot && this.globalTokens < 1) return false;
    p.tokens -= 1;
    if (p.spec.log!.captureSnapshot) this.globalTokens -= 1;
    return true;
  }

  private log(p: ActiveProbe, f: unknown[], now: number): void {
    if (!this.refill(p, now)) {
      p.report.rateLimited++;
      counters.probes.rateLimited++;
      return;
    }
    const spec = p.spec;
    const log = spec.log!;
    const evaluationErrors: { expr: string; message: string }[] = [];
    let message = '';
    for (const part of p.template) {
      if (typeof part === 'string') message += part;
      else {
        try {
          message += this.renderOne(part, f, spec.limits);
        } catch (err) {
          const m = err instanceof Error ? err.message : String(err);
          evaluationErrors.push({ expr: part.dsl, message: m });
          message += `{${m}}`;
        }
      }
    }
    if (message.length > 8192) message = message.slice(0, 8191) + '…';
    const captures: Record<string, unknown> = {};
    const before = this.redactor.count;
    if (log.captureSnapshot) {
      const args: Record<string, CapturedValue> = {};
      const locals: Record<string, CapturedValue> = {};
      const ctx = this.capture.begin(spec.limits, this.budgetMs);
      for (let i = 0; i < p.argc; i++) {
        const name = p.names[i];
        const isParam = p.params.includes(name);
        if (!isParam && !p.locals.includes(name)) continue;
        (isParam ? args : locals)[name] = ctx.named(name, f[i]);
      }
      if (spec.where.methodName !== undefined) captures.entry = { arguments: args, locals };
      else captures.lines = { [String(spec.where.line)]: { arguments: args, locals } };
    }
    if (p.captureExpressions.length > 0) {
      const out: Record<string, CapturedValue> = {};
      for (const c of p.captureExpressions) {
        try {
          const v = c.fn(f);
          out[c.name] = c.redacted ? this.capture.redacted(v) : this.capture.begin(spec.limits, this.budgetMs).value(v, 0);
        } catch (err) {
          evaluationErrors.push({ expr: c.name, message: err instanceof Error ? err.message : String(err) });
        }
      }
      captures.captureExpressions = out;
    }
    counters.probes.redacted += this.redactor.count - before;
    if (evaluationErrors.length > 0) {
      p.report.evaluationErrors += evaluationErrors.length;
      counters.probes.evaluationErrors += evaluationErrors.length;
      p.report.lastEvaluationError = evaluationErrors[evaluationErrors.length - 1].message;
    }
    const ids = currentIds();
    const ts = Date.now();
    this.intake.addSnapshot({
      ddsource: 'dd_debugger',
      service: this.service,
      message,
      logger: { name: p.location.file, method: '', version: 2, thread_name: 'MainThread' },
      dd: ids ?? undefined,
      debugger: {
        snapshot: {
          id: randomId(),
          timestamp: ts,
          probe: { id: spec.id, version: spec.version, location: { file: p.location.file, lines: [String(p.location.line)] } },
          language: 'javascript',
          captures: log.captureSnapshot || p.captureExpressions.length > 0 ? captures : undefined,
          evaluationErrors: evaluationErrors.length > 0 ? evaluationErrors : undefined,
        },
      },
    });
    this.emitted(p);
  }

  private measure(p: ActiveProbe, f: unknown[]): void {
    let v: unknown = 1;
    if (p.metricValue !== null) v = p.metricValue(f);
    if (typeof v === 'boolean') v = v ? 1 : 0;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProbeEvalError(`the metric value must be a finite number, got ${typeof v === 'number' ? String(v) : typeof v}`);
    Intake.record(p.metric!, v);
    this.emitted(p);
  }

  private emitted(p: ActiveProbe): void {
    p.report.emitted++;
    counters.probes.emitted++;
    if (p.report.status === 'INSTALLED' && !p.emitting) {
      // The status change (a log line, a diagnostics event) is done after the hit, not in it.
      p.emitting = true;
      setImmediate(p.onFirstEmit, p).unref();
    }
  }

  /** Compiles a probe's expressions against its passed names. */
  prepare(p: Omit<ActiveProbe, 'heavy' | 'frame' | 'when' | 'decorations' | 'template' | 'captureExpressions' | 'metricValue'>): ActiveProbe {
    const slots = new Map<string, number>();
    p.names.forEach((n, i) => slots.set(n, i));
    const names: NameTable = {
      slot(name: string): number {
        let s = slots.get(name);
        if (s === undefined) {
          s = slots.size;
          slots.set(name, s);
        }
        return s;
      },
    };
    const part = (x: TemplatePart): CompiledPart => {
      if (typeof x === 'string') return x;
      const last = lastName(x.json);
      return { fn: compile(x.json, names), redacted: last !== null && this.redactor.isRedacted(last), dsl: x.dsl };
    };
    const spec = p.spec;
    const out: ActiveProbe = {
      ...p,
      heavy: true,
      frame: [],
      when: spec.when ? compile(spec.when.json, names) : null,
      decorations: (spec.decoration?.decorations ?? []).map((d) => ({
        when: d.when ? compile(d.when.json, names) : null,
        tags: d.tags.map((t) => ({ name: t.name, parts: t.value.map(part), probeIdTag: `_dd.di.${t.name}.probe_id`, errorTag: `_dd.di.${t.name}.evaluation_error` })),
      })),
      template: (spec.log?.template ?? []).map(part),
      captureExpressions: (spec.log?.captureExpressions ?? []).map((c) => {
        const last = lastName(c.expr.json);
        return { name: c.name, fn: compile(c.expr.json, names), redacted: this.redactor.isRedacted(c.name) || (last !== null && this.redactor.isRedacted(last)) };
      }),
      metricValue: spec.metric?.value ? compile(spec.metric.value.json, names) : null,
    };
    out.frame = new Array(slots.size).fill(undefined);
    out.heavy = spec.type === 'LOG_PROBE' || HEAVY_OPS.test(JSON.stringify([spec.when, spec.decoration, spec.metric]));
    return out;
  }
}

function currentIds(): { trace_id: string; span_id: string } | null {
  const span = activeContext().getValue(SPAN_KEY) as TwSpan | undefined;
  if (span === undefined || span.trace === undefined) return null;
  const t = span.trace;
  return { trace_id: dec64(t.t2, t.t3), span_id: dec64(span.spanHi, span.spanLo) };
}

function randomId(): string {
  const r = (): string => hex32((Math.random() * 0x100000000) >>> 0);
  return `${r()}-${r().slice(0, 4)}-4${r().slice(0, 3)}-${r().slice(0, 4)}-${r()}${r().slice(0, 4)}`;
}

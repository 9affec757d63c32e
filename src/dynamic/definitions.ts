/**
 * Probe definitions: Datadog's JSON (one probe, an array, or `{"probes": [...]}`) and the
 * compact form for an environment variable, one probe per `;` (or per line in a file):
 *
 *   member.ts:42 request                  span decoration: tag `request` = the value of `request`
 *   member.ts:42 request.member_no, body  several tags
 *   member.ts:42 request=call.request     a tag named `request` with the value of `call.request`
 *   log member.ts:42 got {request.member_no}   log probe with a snapshot of arguments and locals
 *   count member.ts:42 members.lookups    metric probe (count, gauge, histogram, distribution)
 *   gauge member.ts:42 queue.size len(queue)
 *
 * A definition that cannot be accepted becomes a BadDefinition with its own message; the
 * others are kept.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_LIMITS, type BadDefinition, type CaptureLimits, type Expr, type MetricKind, type ProbeSpec, type TemplatePart } from './types';
import { BadExpression, toExpr } from './expr';

interface ParsedDefinitions {
  probes: ProbeSpec[];
  bad: BadDefinition[];
}

const TYPES = new Set(['LOG_PROBE', 'SPAN_DECORATION_PROBE', 'METRIC_PROBE']);
const KINDS = new Set(['COUNT', 'GAUGE', 'HISTOGRAM', 'DISTRIBUTION']);

class DefinitionError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

function fingerprint(x: unknown): string {
  return createHash('sha1').update(JSON.stringify(x) ?? '').digest('hex').slice(0, 16);
}

/** Reads a whole `TRACEWELL_PROBES` value or probe file: JSON when it starts with `[` or `{`, else compact lines. */
export function parseDefinitions(text: string, origin: string): ParsedDefinitions {
  const trimmed = text.trim();
  if (trimmed === '') return { probes: [], bad: [] };
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return parseJson(trimmed, origin);
  return parseCompact(trimmed, origin);
}

function parseJson(text: string, origin: string): ParsedDefinitions {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { probes: [], bad: [{ id: `(${origin})`, version: 0, origin, errorType: 'BadJson', message: `not valid JSON: ${(err as Error).message}` }] };
  }
  const list: unknown[] = Array.isArray(doc) ? doc : doc !== null && typeof doc === 'object' && Array.isArray((doc as { probes?: unknown }).probes) ? (doc as { probes: unknown[] }).probes : [doc];
  const out: ParsedDefinitions = { probes: [], bad: [] };
  const ids = new Set<string>();
  list.forEach((raw, i) => {
    const id = raw !== null && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' && (raw as { id: string }).id !== '' ? (raw as { id: string }).id : `${origin}#${i}`;
    const version = raw !== null && typeof raw === 'object' && Number.isInteger((raw as { version?: unknown }).version) ? (raw as { version: number }).version : 0;
    try {
      if (ids.has(id)) throw new DefinitionError('BadDefinition', 'an earlier probe has the same id');
      ids.add(id);
      out.probes.push(fromJson(raw, id, version, origin));
    } catch (err) {
      out.bad.push(badOf(err, id, version, origin));
    }
  });
  return out;
}

/** A definition that cannot be used. The message says why only: the status, the log line and the diagnostics name the probe. */
function badOf(err: unknown, id: string, version: number, origin: string): BadDefinition {
  if (err instanceof DefinitionError) return { id, version, origin, errorType: err.errorType, message: err.message };
  if (err instanceof BadExpression) return { id, version, origin, errorType: 'BadExpression', message: `bad expression: ${err.message}` };
  return { id, version, origin, errorType: 'BadDefinition', message: (err as Error)?.message ?? String(err) };
}

function expr(def: unknown, what: string): Expr {
  try {
    return toExpr(def, what);
  } catch (err) {
    if (err instanceof BadExpression) throw new BadExpression(`${what}: ${err.message}`);
    throw err;
  }
}

function limitsOf(raw: unknown): CaptureLimits {
  const l = { ...DEFAULT_LIMITS };
  if (raw === undefined || raw === null) return l;
  if (typeof raw !== 'object') throw new DefinitionError('BadDefinition', '"capture" must be an object');
  const r = raw as Record<string, unknown>;
  for (const k of ['maxReferenceDepth', 'maxCollectionSize', 'maxLength', 'maxFieldCount'] as const) {
    if (r[k] === undefined) continue;
    const v = r[k];
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 10_000) throw new DefinitionError('BadDefinition', `capture.${k} must be a whole number from 0 to 10000, not ${JSON.stringify(v)}`);
    l[k] = v as number;
  }
  return l;
}

/** A template: `{template, segments}` (Datadog), or a string with `{expr}` parts. */
function templateOf(raw: { template?: unknown; segments?: unknown } | string | undefined, what: string): TemplatePart[] {
  if (raw === undefined) return [];
  if (typeof raw === 'string') return parseTemplateText(raw, what);
  if (Array.isArray(raw.segments)) {
    return raw.segments.map((s: unknown, i: number) => {
      if (s !== null && typeof s === 'object' && typeof (s as { str?: unknown }).str === 'string') return (s as { str: string }).str;
      const dsl = s !== null && typeof s === 'object' && typeof (s as { dsl?: unknown }).dsl === 'string' ? ` "${(s as { dsl: string }).dsl}"` : '';
      return expr(s, `${what} segment ${i}${dsl}`);
    });
  }
  if (typeof raw.template === 'string') return parseTemplateText(raw.template, what);
  throw new DefinitionError('BadDefinition', `${what} needs "template" or "segments"`);
}

function parseTemplateText(text: string, what: string): TemplatePart[] {
  const out: TemplatePart[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{', i);
    if (open < 0) {
      out.push(text.slice(i));
      break;
    }
    if (open > i) out.push(text.slice(i, open));
    const close = text.indexOf('}', open);
    if (close < 0) throw new DefinitionError('BadDefinition', `${what}: "{" at ${open} is not closed`);
    out.push(expr(text.slice(open + 1, close).trim(), `${what} {${text.slice(open + 1, close)}}`));
    i = close + 1;
  }
  return out;
}

function whereOf(raw: unknown): { sourceFile: string; line: number; typeName?: string; methodName?: string } {
  if (raw === null || typeof raw !== 'object') throw new DefinitionError('BadDefinition', '"where" is missing');
  const w = raw as { sourceFile?: unknown; lines?: unknown; typeName?: unknown; methodName?: unknown };
  if (w.methodName !== undefined || w.typeName !== undefined) {
    if (typeof w.methodName !== 'string' || !/^[A-Za-z_$#][\w$]*$/.test(w.methodName)) throw new DefinitionError('BadDefinition', `"where.methodName" must be a method or function name, not ${JSON.stringify(w.methodName)}`);
    if (w.typeName !== undefined && (typeof w.typeName !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(w.typeName))) throw new DefinitionError('BadDefinition', `"where.typeName" must be a class name, not ${JSON.stringify(w.typeName)}`);
    if (typeof w.sourceFile !== 'string' || w.sourceFile === '') throw new DefinitionError('Unsupported', 'method probes need "where.sourceFile" too (JavaScript has no global type names to search by)');
    return { sourceFile: w.sourceFile.replace(/\\/g, '/'), line: 0, typeName: w.typeName as string | undefined, methodName: w.methodName };
  }
  if (typeof w.sourceFile !== 'string' || w.sourceFile === '') throw new DefinitionError('BadDefinition', '"where.sourceFile" must be a file path');
  const lines = Array.isArray(w.lines) ? w.lines : w.lines === undefined ? [] : [w.lines];
  if (lines.length !== 1) throw new DefinitionError('BadDefinition', `"where.lines" must hold exactly one line, got ${JSON.stringify(w.lines)}`);
  const line = Number(lines[0]);
  if (!Number.isInteger(line) || line < 1) throw new DefinitionError('BadDefinition', `"where.lines" must be a line number from 1, got ${JSON.stringify(lines[0])}`);
  return { sourceFile: w.sourceFile.replace(/\\/g, '/'), line };
}

function fromJson(raw: unknown, id: string, version: number, origin: string): ProbeSpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new DefinitionError('BadDefinition', 'a probe must be a JSON object');
  const r = raw as Record<string, unknown>;
  if (typeof r.type !== 'string' || !TYPES.has(r.type)) throw new DefinitionError('BadDefinition', `"type" must be LOG_PROBE, SPAN_DECORATION_PROBE or METRIC_PROBE, not ${JSON.stringify(r.type)}`);
  const spec: ProbeSpec = {
    id,
    version,
    type: r.type as ProbeSpec['type'],
    where: whereOf(r.where),
    when: r.when === undefined || r.when === null ? null : expr(r.when, '"when"'),
    limits: limitsOf(r.capture),
    origin,
    fingerprint: fingerprint(raw),
  };
  if (spec.type === 'LOG_PROBE') {
    const sampling = r.sampling as { snapshotsPerSecond?: unknown } | undefined;
    const captureSnapshot = r.captureSnapshot === true;
    let perSecond = captureSnapshot ? 1 : 5000;
    if (sampling?.snapshotsPerSecond !== undefined) {
      const v = Number(sampling.snapshotsPerSecond);
      if (!(v > 0 && v <= 10_000)) throw new DefinitionError('BadDefinition', `sampling.snapshotsPerSecond must be a number from 0 (excluded) to 10000, not ${JSON.stringify(sampling.snapshotsPerSecond)}`);
      perSecond = v;
    }
    const ce = r.captureExpressions;
    if (ce !== undefined && !Array.isArray(ce)) throw new DefinitionError('BadDefinition', '"captureExpressions" must be an array');
    spec.log = {
      template: templateOf(r.segments !== undefined || r.template !== undefined ? (r as { template?: unknown; segments?: unknown }) : undefined, '"template"'),
      captureSnapshot,
      captureExpressions: (ce ?? []).map((c: unknown, i: number) => {
        const x = c as { name?: unknown; expr?: unknown };
        if (typeof x?.name !== 'string') throw new DefinitionError('BadDefinition', `captureExpressions[${i}] needs a "name"`);
        return { name: x.name, expr: expr(x.expr, `captureExpressions[${i}]`) };
      }),
      snapshotsPerSecond: perSecond,
    };
  } else if (spec.type === 'SPAN_DECORATION_PROBE') {
    const target = r.targetSpan ?? 'ACTIVE';
    if (target !== 'ACTIVE' && target !== 'ROOT') throw new DefinitionError('BadDefinition', `"targetSpan" must be ACTIVE or ROOT, not ${JSON.stringify(target)}`);
    if (!Array.isArray(r.decorations) || r.decorations.length === 0) throw new DefinitionError('BadDefinition', '"decorations" must be a non-empty array');
    spec.decoration = {
      targetSpan: target,
      decorations: r.decorations.map((d: unknown, i: number) => {
        const x = d as { when?: unknown; tags?: unknown };
        if (x === null || typeof x !== 'object' || !Array.isArray(x.tags) || x.tags.length === 0) throw new DefinitionError('BadDefinition', `decorations[${i}].tags must be a non-empty array`);
        return {
          when: x.when === undefined || x.when === null ? null : expr(x.when, `decorations[${i}].when`),
          tags: x.tags.map((t: unknown, j: number) => {
            const tag = t as { name?: unknown; value?: unknown };
            if (typeof tag?.name !== 'string' || tag.name === '') throw new DefinitionError('BadDefinition', `decorations[${i}].tags[${j}] needs a "name"`);
            return { name: tag.name, value: templateOf(tag.value as { template?: unknown } | string, `decorations[${i}].tags[${j}].value`) };
          }),
        };
      }),
    };
  } else {
    const kind = r.kind ?? 'COUNT';
    if (typeof kind !== 'string' || !KINDS.has(kind)) throw new DefinitionError('BadDefinition', `"kind" must be COUNT, GAUGE, HISTOGRAM or DISTRIBUTION, not ${JSON.stringify(kind)}`);
    if (typeof r.metricName !== 'string' || !/^[A-Za-z][\w.]{0,199}$/.test(r.metricName)) throw new DefinitionError('BadDefinition', `"metricName" must be a metric name (letters, digits, _ and .), not ${JSON.stringify(r.metricName)}`);
    const value = r.value === undefined || r.value === null ? null : expr(r.value, '"value"');
    if (value === null && kind !== 'COUNT') throw new DefinitionError('BadDefinition', `a ${kind} metric needs a "value" expression`);
    spec.metric = { kind: kind as MetricKind, metricName: r.metricName, value };
  }
  return spec;
}

const LOCATION = /^(\S+?):(\d+)$/;

/** The compact form: `[kind] file:line rest`, probes separated by `;` or new lines, `#` starts a comment line. */
function parseCompact(text: string, origin: string): ParsedDefinitions {
  const out: ParsedDefinitions = { probes: [], bad: [] };
  const entries = text
    .split(/[;\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'));
  for (const entry of entries) {
    const id = entry;
    try {
      out.probes.push(fromCompact(entry, origin));
    } catch (err) {
      out.bad.push(badOf(err, id, 0, origin));
    }
  }
  return out;
}

function fromCompact(entry: string, origin: string): ProbeSpec {
  const words = entry.split(/\s+/);
  let kind = 'decorate';
  if (['log', 'count', 'gauge', 'histogram', 'distribution', 'decorate'].includes(words[0].toLowerCase())) kind = words.shift()!.toLowerCase();
  const loc = LOCATION.exec(words.shift() ?? '');
  if (loc === null) throw new DefinitionError('BadDefinition', 'expected "[log|count|gauge|histogram] file:line ..." (e.g. "src/member.ts:42 request")');
  const where = { sourceFile: loc[1].replace(/\\/g, '/'), line: Number(loc[2]) };
  if (where.line < 1) throw new DefinitionError('BadDefinition', `line numbers start at 1, got ${where.line}`);
  const rest = words.join(' ');
  const base = { id: entry, version: 0, where, when: null, limits: { ...DEFAULT_LIMITS }, origin, fingerprint: fingerprint(entry) };
  if (kind === 'decorate') {
    const exprs = rest.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (exprs.length === 0) throw new DefinitionError('BadDefinition', `name what to put on the span, e.g. "${loc[0]} request"`);
    const tags = exprs.map((e) => {
      // `name=expr` names the tag; a bare expression is its own tag name.
      const m = /^([A-Za-z_$][\w$.-]*)\s*=(?!=)\s*(.+)$/.exec(e);
      const [name, text] = m === null ? [e, e] : [m[1], m[2]];
      return { name, value: [expr(text, `"${text}"`)] };
    });
    return { ...base, type: 'SPAN_DECORATION_PROBE', decoration: { targetSpan: 'ACTIVE', decorations: [{ when: null, tags }] } };
  }
  if (kind === 'log') {
    return { ...base, type: 'LOG_PROBE', log: { template: parseTemplateText(rest, 'the message'), captureSnapshot: true, captureExpressions: [], snapshotsPerSecond: 1 } };
  }
  const name = words.shift();
  if (name === undefined || !/^[A-Za-z][\w.]{0,199}$/.test(name)) throw new DefinitionError('BadDefinition', 'a metric probe needs a metric name after the location');
  const valueText = words.join(' ');
  if (valueText === '' && kind !== 'count') throw new DefinitionError('BadDefinition', `a ${kind} needs a value expression after the metric name`);
  return { ...base, type: 'METRIC_PROBE', metric: { kind: kind.toUpperCase() as MetricKind, metricName: name, value: valueText === '' ? null : expr(valueText, 'the value') } };
}

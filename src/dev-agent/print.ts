/**
 * A trace as a readable tree for a terminal, with the tags dynamic probes put on its spans, and
 * the printer of the dev agent: it waits a moment after a trace's last chunk so the parts every
 * service sends are printed as one tree, and prints probe log lines with the trace's 128-bit id.
 */
import type { DecodedSpan } from './decode-traces';
import { hex64, probeTags, traceIdOf, type AgentStore, type StoredSnapshot, type StoredTrace } from './store';

/** The spans in tree order (parents before children, siblings by start), with their depth. */
export function spanTree<S extends DecodedSpan>(spans: readonly S[]): { span: S; depth: number; children: number; last: boolean; ancestorsLast: boolean[] }[] {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<bigint, S[]>();
  const roots: S[] = [];
  for (const s of [...spans].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))) {
    if (s.parent_id !== 0n && s.parent_id !== s.span_id && ids.has(s.parent_id)) {
      const list = children.get(s.parent_id) ?? [];
      list.push(s);
      children.set(s.parent_id, list);
    } else roots.push(s);
  }
  const out: { span: S; depth: number; children: number; last: boolean; ancestorsLast: boolean[] }[] = [];
  const seen = new Set<bigint>();
  const walk = (s: S, depth: number, last: boolean, ancestorsLast: boolean[]): void => {
    if (seen.has(s.span_id)) return; // a cycle of parent ids: each span once
    seen.add(s.span_id);
    const kids = children.get(s.span_id) ?? [];
    out.push({ span: s, depth, children: kids.length, last, ancestorsLast });
    kids.forEach((k, i) => walk(k, depth + 1, i === kids.length - 1, [...ancestorsLast, last]));
  };
  roots.forEach((r, i) => walk(r, 0, i === roots.length - 1, []));
  return out;
}

/** The trace's 128-bit id in hex: `_dd.p.tid` (the high half) and the low half. */
export function traceIdHex(spans: readonly DecodedSpan[]): string {
  const head = spans.find((s) => /^[0-9a-f]{16}$/.test(s.meta['_dd.p.tid'] ?? ''));
  return traceIdOf({ high: head?.meta['_dd.p.tid'] ?? '', low: hex64(spans[0].trace_id) });
}

/** Longest probe-captured value printed whole in a terminal; the page shows all of it. */
const MAX_PRINTED_VALUE = 300;

export function formatTrace(spans: DecodedSpan[], color = false, note = ''): string {
  const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const services = new Set(spans.map((s) => s.service)).size;
  const counts = `${spans.length} span${spans.length === 1 ? '' : 's'}${services > 1 ? `, ${services} services` : ''}${note ? `; ${note}` : ''}`;
  const lines = [paint('1', `trace ${traceIdHex(spans)}`) + ` (${counts})`];
  for (const { span: s, depth, children, last, ancestorsLast } of spanTree(spans)) {
    // The root of each tree is flush left; below it, one column per level.
    const prefix = ancestorsLast.slice(1).map((l) => (l ? '   ' : '│  ')).join('');
    const branch = depth === 0 ? '' : last ? '└─ ' : '├─ ';
    const ms = (Number(s.duration) / 1e6).toFixed(1);
    const status = s.meta['http.status_code'] ? ` [${s.meta['http.status_code']}]` : s.metrics['grpc.status.code'] !== undefined ? ` [grpc ${s.metrics['grpc.status.code']}]` : '';
    let line = `${prefix}${branch}${paint('36', s.service)}  ${s.name}  ${paint('1', s.resource)}  ${ms} ms${status}`;
    if (s.error === 1) {
      const what = [s.meta['error.type'], s.meta['error.message']].filter(Boolean).join(': ');
      line += '  ' + paint('31', what ? `ERROR ${what}` : 'ERROR');
    }
    lines.push(line);
    // What probes captured on this span, under it.
    const under = (depth === 0 ? '' : prefix + (last ? '   ' : '│  ')) + (children > 0 ? '│  ' : '   ');
    for (const p of probeTags(s)) {
      const value = p.value.length > MAX_PRINTED_VALUE ? `${p.value.slice(0, MAX_PRINTED_VALUE)}… (${p.value.length} characters)` : p.value;
      lines.push(`${under}${paint('35', `probe ${p.tag}${p.error ? ' evaluation error:' : ' ='} ${value}`)}${p.probeId ? `  (${p.probeId})` : ''}`);
    }
  }
  return lines.join('\n');
}

/** A probe log line: the probe, its message, and the trace's 128-bit id when it is known. */
export function formatSnapshot(s: StoredSnapshot, trace: StoredTrace | undefined): string {
  const id = s.debugger.snapshot.probe.id;
  if (s.traceLow === null) return `probe ${id}: ${s.message}`;
  // Without its trace, only the low half is known (a snapshot carries no more).
  const traceId = trace !== undefined ? traceIdOf(trace) : `${'?'.repeat(16)}${s.traceLow}`;
  return `probe ${id}: ${s.message} (trace ${traceId}${s.spanHex !== null ? ` span ${s.spanHex}` : ''})`;
}

interface Pending {
  timer: NodeJS.Timeout;
  first: number;
}

/**
 * Prints each trace once its chunks stopped coming for `waitMs` (at most 5 x `waitMs` after the
 * first): the parts of one request that three services sent are one tree. A chunk that comes
 * after its trace was printed prints the whole tree again, saying how many spans came late.
 * Probe log lines of a trace not printed yet wait for it (at most 2 x `waitMs`) and follow its
 * tree, so they carry the same 128-bit trace id.
 */
export class TracePrinter {
  private readonly pending = new Map<string, Pending>();
  /** Spans already printed, per trace (trimmed with the store's traces). */
  private readonly printed = new Map<string, number>();
  private readonly waitingLogs = new Map<string, { lines: StoredSnapshot[]; timer: NodeJS.Timeout }>();
  private idle: (() => void)[] = [];

  constructor(
    private readonly store: AgentStore,
    private readonly out: (text: string) => void,
    private readonly color: boolean,
    private readonly waitMs: number,
  ) {}

  chunk(trace: StoredTrace): void {
    const now = Date.now();
    const p = this.pending.get(trace.low);
    if (p !== undefined) clearTimeout(p.timer);
    const first = p?.first ?? now;
    const delay = Math.max(0, Math.min(this.waitMs, first + 5 * this.waitMs - now));
    const timer = setTimeout(() => this.print(trace.low), delay);
    timer.unref();
    this.pending.set(trace.low, { timer, first });
  }

  snapshots(list: StoredSnapshot[]): void {
    for (const s of list) {
      const trace = s.traceLow === null ? undefined : this.store.traces.get(s.traceLow);
      if (s.traceLow === null || (trace !== undefined && !this.pending.has(s.traceLow))) {
        this.out(formatSnapshot(s, trace));
        continue;
      }
      let w = this.waitingLogs.get(s.traceLow);
      if (w === undefined) {
        const low = s.traceLow;
        const timer = setTimeout(() => this.flushLogs(low), 2 * this.waitMs);
        timer.unref();
        w = { lines: [], timer };
        if (this.waitingLogs.size >= 1000) this.flushLogs(this.waitingLogs.keys().next().value as string);
        this.waitingLogs.set(low, w);
      }
      w.lines.push(s);
    }
  }

  private flushLogs(low: string): void {
    const w = this.waitingLogs.get(low);
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.waitingLogs.delete(low);
    for (const s of w.lines) this.out(formatSnapshot(s, this.store.traces.get(low)));
    this.settle();
  }

  private print(low: string): void {
    const p = this.pending.get(low);
    if (p !== undefined) clearTimeout(p.timer);
    this.pending.delete(low);
    const trace = this.store.traces.get(low);
    if (trace !== undefined && trace.spans.length > 0) {
      const before = this.printed.get(low) ?? 0;
      const late = before > 0 ? trace.spans.length - before : 0;
      const notes = [late > 0 ? `${late} arrived after it was printed` : '', trace.spansDropped > 0 ? `${trace.spansDropped} more not kept` : ''].filter(Boolean).join('; ');
      this.out(formatTrace(trace.spans, this.color, notes));
      this.printed.delete(low);
      this.printed.set(low, trace.spans.length);
      while (this.printed.size > this.store.limits.maxTraces) this.printed.delete(this.printed.keys().next().value as string);
    }
    this.flushLogs(low);
    this.settle();
  }

  private settle(): void {
    if (this.pending.size > 0 || this.waitingLogs.size > 0) return;
    const waiting = this.idle;
    this.idle = [];
    for (const r of waiting) r();
  }

  /** Resolves once nothing waits to be printed. */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0 && this.waitingLogs.size === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Prints what waits, now (the agent is closing). */
  flush(): void {
    for (const low of [...this.pending.keys()]) this.print(low);
    for (const low of [...this.waitingLogs.keys()]) this.flushLogs(low);
  }
}

/**
 * `span-lines` mode: hot lines per span, which the binding cannot give (it refuses line numbers
 * together with labels). The design (docs/profiling.md):
 *
 * 1. A span timeline: wherever linked mode would set the binding's context, the active span
 *    and `performance.now()` are written into a preallocated ring instead.
 * 2. V8's CPU profiler through the in-process inspector (`Profiler` domain), in windows of a
 *    few seconds rotated with overlapping `console.profile` / `console.profileEnd` (a fresh
 *    profiler per window would lose optimised code and with it line accuracy).
 * 3. The join: each sample's time (the profile's start + cumulative `timeDeltas`, the same
 *    monotonic clock) finds the span active then in the timeline; samples are weighed by their
 *    time delta. Per call path, the inspector gives the ticks per line (`positionTicks`).
 * 4. A call path whose samples all belong to one span gets its line split attributed to that
 *    span exactly (`lines: exact`); one whose spans all share one endpoint is exact for that
 *    endpoint (`lines: endpoint`); a call path shared by several endpoints gets the path's
 *    overall line mix, split in proportion and labelled `lines: shared`, never passed off as
 *    exact.
 *
 * The result is one pprof profile per period: stacks to the line, samples labelled `span id`,
 * `local root span id`, `trace endpoint` and `lines`.
 */
import { Session } from 'node:inspector';
import { fileURLToPath } from 'node:url';
import { ProtoWriter } from '../exporter/encoders/protobuf';
import type { SlicedWriter } from './serialize';
import { counters } from '../internal/counters';
import { describeError, logger } from '../internal/logger';
import { Codes } from '../internal/errors';
import { endpointLabel, labelsOfSpan, NO_SPAN } from './labels';

/** Ring entries: at ~50k span switches per second, about 5 s of history. */
const RING = 1 << 18;
const MASK = RING - 1;

/** Where the active span changed, and to what (an object: a span, or "no span"). */
export class SpanTimeline {
  private readonly times = new Float64Array(RING);
  private readonly owners: (object | null)[] = new Array<object | null>(RING).fill(null);
  private written = 0;

  readonly record = (ctx: object): void => {
    const i = this.written & MASK;
    this.times[i] = performance.now();
    this.owners[i] = ctx;
    this.written++;
  };

  /** The owner active at `t` (performance.now() ms); undefined when the ring has been overwritten past `t`. */
  ownerAt(t: number): object | undefined {
    const n = this.written;
    const oldest = n > RING ? n - RING : 0;
    // Before the first switch ever recorded, no span was active; past a wrapped ring, nobody knows.
    if (n === 0 || t < this.times[oldest & MASK]) return n > RING ? undefined : NO_SPAN;
    let lo = oldest;
    let hi = n - 1;
    // The last entry at or before t.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.times[mid & MASK] <= t) lo = mid;
      else hi = mid - 1;
    }
    return this.owners[lo & MASK] ?? undefined;
  }
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface InspectorNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}
interface InspectorProfile {
  nodes: InspectorNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Frame {
  name: string;
  file: string;
  /** 1-based declaration line. */
  line: number;
}

/** One call path over a period: its frames, its line ticks, and its time per owner. */
interface PathStats {
  frames: Frame[];
  lineTicks: Map<number, number>;
  owners: Map<object, { us: number; n: number }>;
}


interface SourceMapLike {
  hasMappingInfo(file: string): boolean;
  mappingInfo(loc: { file: string; line: number; column: number; name?: string }): { file?: string; line?: number; name?: string };
}

/**
 * A window's join, and the writing of a period, stop every this many samples to see whether
 * their slice is over (a step of 64 took up to 6.4 ms on Node 26 when its samples met new call
 * paths).
 */
const STEP_SAMPLES = 16;
/** A window's join runs in slices of about this many milliseconds, one per event-loop turn. */
const JOIN_SLICE_MS = 3;

/** A pause of the event loop by span-lines' own work, started at `t0`, in `stats().profiler`. */
function stalled(t0: number): void {
  const ms = Math.round((performance.now() - t0) * 100) / 100;
  if (ms > counters.profiler.maxStallMs) counters.profiler.maxStallMs = ms;
  counters.profiler.lastStallMs = ms;
}

export class SpanLinesProfiler {
  private session: Session | null = null;
  private window = 0;
  private paths = new Map<string, PathStats>();
  private unattributedUs = 0;
  private periodStartNs = Date.now() * 1e6;
  /** Microseconds to add to performance.now()*1000 to get V8's monotonic profile clock. */
  private readonly clockOffsetUs = Number(process.hrtime.bigint()) / 1e3 - performance.now() * 1e3;
  private rotateTimer: NodeJS.Timeout | null = null;
  private last: InspectorProfile | null = null;
  /** Windows taken and not joined yet, oldest first. */
  private readonly joins: Generator<void, void, void>[] = [];

  constructor(
    readonly timeline: SpanTimeline,
    private readonly intervalUs: number,
    private readonly windowMs: number,
    private readonly mapper: SourceMapLike | undefined,
  ) {}

  start(): void {
    const s = new Session();
    s.connect();
    s.on('Profiler.consoleProfileFinished', (m: { params: { title?: string; profile: InspectorProfile } }) => {
      if (m.params.title?.startsWith('tracewell-')) this.last = m.params.profile;
    });
    s.post('Profiler.enable');
    s.post('Profiler.setSamplingInterval', { interval: this.intervalUs });
    this.session = s;
    console.profile(`tracewell-${this.window}`);
    this.rotateTimer = setInterval(() => this.rotate(), this.windowMs);
    this.rotateTimer.unref();
  }

  /**
   * Closes the current window (opening the next one first unless `last`). Its join with the
   * timeline is queued and done in slices, one per event-loop turn (`pump`), or by the period's
   * writer (`collect`) before it writes: the first window of a process, start-up's code in it,
   * took 5-10 ms to join on top of V8's 1-7 ms to hand the profile over.
   */
  private rotate(last = false): void {
    if (this.session === null) return;
    const t0 = performance.now();
    this.last = null;
    const prev = `tracewell-${this.window}`;
    if (!last) console.profile(`tracewell-${++this.window}`);
    console.profileEnd(prev);
    const p = this.last as InspectorProfile | null;
    this.last = null;
    if (p !== null) {
      this.joins.push(this.joinSteps(p, this.paths));
      if (!last) setImmediate(this.pump);
    }
    stalled(t0);
  }

  /** Joins queued windows for about JOIN_SLICE_MS, then lets the event loop run. */
  private readonly pump = (): void => {
    const t0 = performance.now();
    const done = this.joinFor(JOIN_SLICE_MS);
    stalled(t0);
    if (!done) setImmediate(this.pump);
  };

  /** Runs queued joins for about `budgetMs`; true when none is left. */
  private joinFor(budgetMs: number): boolean {
    const until = performance.now() + budgetMs;
    while (this.joins.length > 0) {
      try {
        if (this.joins[0].next().done === true) this.joins.shift();
      } catch (err) {
        this.joins.shift();
        logger.error(`[${Codes.PROFILE_FAILED}] a span-lines window could not be read`, err, 'span-lines-join');
      }
      if (performance.now() >= until) return this.joins.length === 0;
    }
    return true;
  }

  /** Joins one window at once (tests). */
  join(p: InspectorProfile): void {
    for (const step = this.joinSteps(p, this.paths); step.next().done !== true; );
  }

  /** One window's samples added to `paths`, a step per STEP_SAMPLES samples. */
  private *joinSteps(p: InspectorProfile, paths: Map<string, PathStats>): Generator<void, void, void> {
    const byId = new Map<number, InspectorNode>();
    const parent = new Map<number, number>();
    for (const n of p.nodes) {
      byId.set(n.id, n);
      for (const c of n.children ?? []) parent.set(c, n.id);
    }
    // Per node, once: its path key and frames.
    const keys = new Map<number, PathStats>();
    const statsOf = (id: number): PathStats => {
      let s = keys.get(id);
      if (s !== undefined) return s;
      const frames: Frame[] = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const cf = byId.get(cur)!.callFrame;
        if (cf.functionName === '(root)') break;
        frames.push(this.frame(cf));
      }
      const key = frames.map((f) => `${f.name}\u0000${f.file}\u0000${f.line}`).join('\u0001');
      s = paths.get(key);
      if (s === undefined) {
        s = { frames, lineTicks: new Map(), owners: new Map() };
        paths.set(key, s);
      }
      keys.set(id, s);
      for (const pt of byId.get(id)!.positionTicks ?? []) {
        const line = this.mapLine(byId.get(id)!.callFrame, pt.line);
        s.lineTicks.set(line, (s.lineTicks.get(line) ?? 0) + pt.ticks);
      }
      return s;
    };
    let t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      const delta = p.timeDeltas[i] ?? 0;
      t += delta;
      // V8 orders samples as it processed them: a delta can be negative (the sample was taken
      // before the one listed ahead of it). Its time stands; its weight is none (a negative
      // weight would also be a negative pprof value, which a varint cannot carry).
      const dt = delta > 0 ? delta : 0;
      const node = byId.get(p.samples[i]);
      if (node === undefined) continue;
      const name = node.callFrame.functionName;
      if (name === '(idle)' || name === '(program)' || name === '(root)') continue;
      const owner = this.timeline.ownerAt((t - this.clockOffsetUs) / 1000);
      if (owner === undefined) {
        this.unattributedUs += dt;
        continue;
      }
      const s = statsOf(node.id);
      const o = s.owners.get(owner);
      if (o === undefined) s.owners.set(owner, { us: dt, n: 1 });
      else {
        o.us += dt;
        o.n++;
      }
      if ((i + 1) % STEP_SAMPLES === 0) yield;
    }
  }

  private fileOf(url: string): string {
    if (url.startsWith('file://')) {
      try {
        return fileURLToPath(url);
      } catch {
        return url;
      }
    }
    return url;
  }

  private frame(cf: CallFrame): Frame {
    const file = this.fileOf(cf.url);
    const line = cf.lineNumber + 1;
    if (this.mapper !== undefined && file !== '' && this.mapper.hasMappingInfo(file)) {
      const m = this.mapper.mappingInfo({ file, line, column: 0, name: cf.functionName });
      return { name: cf.functionName || '(anonymous)', file: m.file ?? file, line: m.line ?? line };
    }
    return { name: cf.functionName || '(anonymous)', file, line };
  }

  private mapLine(cf: CallFrame, line: number): number {
    const file = this.fileOf(cf.url);
    if (this.mapper !== undefined && file !== '' && this.mapper.hasMappingInfo(file)) return this.mapper.mappingInfo({ file, line, column: 0 }).line ?? line;
    return line;
  }

  /**
   * Ends the period: its windows joined now, the pprof message (uncompressed) written by the
   * returned writer in slices.
   */
  collect(last: boolean): SlicedWriter {
    this.rotate(last);
    if (last) this.stop();
    const out = new SpanLinesWriter(this.write(this.paths, this.periodStartNs, Date.now() * 1e6));
    this.paths = new Map();
    this.periodStartNs = Date.now() * 1e6;
    return out;
  }

  /** The period's writing: what is left of its windows' joins, then the profile. */
  private *write(paths: Map<string, PathStats>, startNs: number, endNs: number): Generator<void, Buffer, void> {
    while (!this.joinFor(0)) yield;
    if (this.unattributedUs > 0) logger.debug(`span-lines: ${Math.round(this.unattributedUs / 1000)} ms of samples older than the span timeline`);
    this.unattributedUs = 0;
    return yield* encode(paths, startNs, endNs, this.intervalUs * 1000);
  }

  stop(): void {
    if (this.rotateTimer !== null) clearInterval(this.rotateTimer);
    this.rotateTimer = null;
    try {
      this.session?.post('Profiler.disable');
      this.session?.disconnect();
    } catch (err) {
      logger.debug(`span-lines: inspector session did not close cleanly (${describeError(err)})`);
    }
    this.session = null;
  }
}

/** A period's span-lines profile, written in slices: `step(ms)` until it returns true, then `bytes()`. */
class SpanLinesWriter implements SlicedWriter {
  private out: Buffer | null = null;
  constructor(private readonly steps: Generator<void, Buffer, void>) {}

  step(budgetMs: number): boolean {
    const until = performance.now() + budgetMs;
    for (;;) {
      const r = this.steps.next();
      if (r.done === true) {
        this.out = r.value;
        return true;
      }
      if (performance.now() >= until) return false;
    }
  }

  bytes(): Buffer {
    if (this.out === null) throw new Error('the span-lines profile is not written yet');
    return this.out;
  }
}

/**
 * The period's call paths as a pprof Profile: leaf lines split per owner, labelled exact or
 * shared. A generator that stops after each call path and every STEP_SAMPLES samples written:
 * the first profile of a process, with its code still cold, took 15-19 ms in one go (Fastify
 * at saturation, Node 24).
 */
function* encode(paths: Map<string, PathStats>, startNs: number, endNs: number, periodNs: number): Generator<void, Buffer, void> {
  const strings = new Map<string, number>([['', 0]]);
  const str = (s: string): number => {
    let i = strings.get(s);
    if (i === undefined) strings.set(s, (i = strings.size));
    return i;
  };
  const functions = new Map<string, { id: number; name: number; file: number; line: number }>();
  const locations = new Map<string, { id: number; fn: number; line: number }>();
  const location = (f: Frame, line: number): number => {
    const fk = `${f.name}\u0000${f.file}\u0000${f.line}`;
    let fn = functions.get(fk);
    if (fn === undefined) functions.set(fk, (fn = { id: functions.size + 1, name: str(f.name), file: str(f.file), line: f.line }));
    const lk = `${fn.id}:${line}`;
    let loc = locations.get(lk);
    if (loc === undefined) locations.set(lk, (loc = { id: locations.size + 1, fn: fn.id, line }));
    return loc.id;
  };
  const w = new ProtoWriter(256 * 1024);
  const valueType = (field: number, type: string, unit: string): void => {
    const m = w.begin(field);
    w.tag(1, 0);
    w.varint(str(type));
    w.tag(2, 0);
    w.varint(str(unit));
    w.end(m);
  };
  valueType(1, 'sample', 'count');
  valueType(1, 'wall', 'nanoseconds');
  // A label message (key and value string indices), written once and copied into every sample
  // that carries it: an owner's span labels, and the three values of `lines`.
  const labelBytes = (pairs: [number, number][]): Uint8Array => {
    const lw = new ProtoWriter(64);
    for (const [k, v] of pairs) {
      const lm = lw.begin(3);
      lw.tag(1, 0);
      lw.varint(k);
      lw.tag(2, 0);
      lw.varint(v);
      lw.end(lm);
    }
    return lw.take(0);
  };
  const ownerLabels = new Map<object, Uint8Array>();
  const labelsOf = (owner: object): Uint8Array => {
    let l = ownerLabels.get(owner);
    if (l === undefined) {
      const pairs: [number, number][] = owner === NO_SPAN ? [] : Object.entries(labelsOfSpan(owner)).map(([k, v]) => [str(k), str(String(v))]);
      ownerLabels.set(owner, (l = labelBytes(pairs)));
    }
    return l;
  };
  const linesKey = str('lines');
  const exact = labelBytes([[linesKey, str('exact')]]);
  const shared = labelBytes([[linesKey, str('shared')]]);
  const endpoint = labelBytes([[linesKey, str('endpoint')]]);
  let written = 0;
  for (const p of paths.values()) {
    if (p.owners.size === 0) continue;
    const leaf = p.frames[0];
    let total = 0;
    for (const v of p.lineTicks.values()) total += v;
    const lines: [number, number][] = total > 0 ? [...p.lineTicks].map(([line, ticks]) => [line, ticks / total]) : [[leaf.line, 1]];
    // The path's locations, leaf first: one leaf per line, the callers shared.
    const leaves = lines.map(([line]) => location(leaf, line));
    const callers = p.frames.slice(1).map((f) => location(f, f.line));
    let exactness = exact;
    if (p.owners.size > 1) {
      const endpoints = new Set<string>();
      for (const owner of p.owners.keys()) endpoints.add(endpointLabel(owner));
      exactness = endpoints.size === 1 && !endpoints.has('') ? endpoint : shared;
    }
    for (const [owner, o] of p.owners) {
      const labels = labelsOf(owner);
      for (let li = 0; li < lines.length; li++) {
        const share = lines[li][1];
        const ns = Math.round(o.us * 1000 * share);
        // A line's share that rounds to nothing is left out; an owner whose samples all weigh
        // nothing (out-of-order ones) keeps them, counted, at 0 ns.
        if (ns === 0 && o.us > 0) continue;
        const m = w.begin(2);
        const pm = w.begin(1);
        w.varint(leaves[li]);
        for (let ci = 0; ci < callers.length; ci++) w.varint(callers[ci]);
        w.end(pm);
        const vm = w.begin(2);
        w.varint(Math.max(1, Math.round(o.n * share)));
        w.varint(ns);
        w.end(vm);
        w.raw(labels);
        w.raw(exactness);
        w.end(m);
        if (++written % STEP_SAMPLES === 0) yield;
      }
    }
    yield;
  }
  for (const loc of locations.values()) {
    const m = w.begin(4);
    w.tag(1, 0);
    w.varint(loc.id);
    const lm = w.begin(4);
    w.tag(1, 0);
    w.varint(loc.fn);
    w.tag(2, 0);
    w.varint(loc.line);
    w.end(lm);
    w.end(m);
  }
  for (const fn of functions.values()) {
    const m = w.begin(5);
    w.tag(1, 0);
    w.varint(fn.id);
    w.tag(2, 0);
    w.varint(fn.name);
    w.tag(3, 0);
    w.varint(fn.name);
    w.tag(4, 0);
    w.varint(fn.file);
    w.tag(5, 0);
    w.varint(fn.line);
    w.end(m);
  }
  for (const s of strings.keys()) w.string(6, s);
  w.tag(9, 0);
  w.varint(startNs);
  w.tag(10, 0);
  w.varint(Math.max(0, endNs - startNs));
  valueType(11, 'wall', 'nanoseconds');
  w.tag(12, 0);
  w.varint(periodNs);
  return Buffer.from(w.take(16));
}


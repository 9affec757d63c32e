/**
 * Our own writer of the binding's raw wall profile (the tree its native `stop` returns) as pprof
 * bytes, in slices: the walk over the tree keeps its place in an explicit stack, so it can stop
 * after a few milliseconds, let the event loop run, and go on where it left off. The binding's
 * serializer (`out/src/profile-serializer.js` in @datadog/pprof 5.20.0) does the same work in
 * one synchronous call and then builds objects that `encode` measures and writes in more
 * synchronous steps; on a first profile that was the longest pause a profile made.
 *
 * What comes out is what the binding's serializer and pprof-format's encoder produce for the
 * same raw profile, byte for byte (test/profiler/serialize.test.mjs checks that): the same
 * traversal order, location and function ids, string table order, labels, values and fields.
 * In short, as read from its source:
 * - top level: `(program)` is left out, `(idle)` without contexts too; `(garbage collector)`
 *   becomes `Garbage Collection` under a `Node.js` node, beside `Non JS threads activity`
 *   (CPU time of other threads, no wall time) when CPU time is collected;
 * - the sampling interval is recomputed from the duration and the total hits, kept between
 *   the configured interval and twice it;
 * - a location is one (script, line, column, name) after source mapping, a function one
 *   (script, name), or (script, line, column) for anonymous ones, named `(anonymous:L#..:C#..)`;
 * - a node's contexts make one sample each (count 1, the interval as wall time, 0 for idle,
 *   its CPU time) when they have labels; hits left over and the CPU time of unlabelled
 *   contexts make one more sample, labelled as the node alone would be.
 */
import { ProtoWriter, WIRE_LEN, WIRE_VARINT } from '../exporter/encoders/protobuf';

interface RawContext {
  context?: object;
  cpuTime?: number;
}

interface RawNode {
  name?: string;
  scriptName: string;
  scriptId?: number;
  lineNumber?: number;
  columnNumber?: number;
  hitCount: number;
  contexts?: RawContext[];
  children: RawNode[];
}

export interface RawTimeProfile {
  startTime: number;
  endTime: number;
  topDownRoot: RawNode;
  hasCpuTime?: boolean;
  nonJSThreadsCpuTime?: number;
  totalHitCount?: number;
}

export interface RawHeapNode {
  name?: string;
  scriptName: string;
  scriptId?: number;
  lineNumber?: number;
  columnNumber?: number;
  allocations: { sizeBytes: number; count: number }[];
  children: RawHeapNode[];
}

interface HeapSerializeOptions {
  intervalBytes: number;
  sourceMapper?: SourceMapperLike;
  /** The profile's `time_nanos` (the binding takes the time it is converted). */
  timeNanos: number;
  /** Bytes outside V8's heap (`process.memoryUsage().external`), added as an `(external)` node when above 0. */
  external: number;
}

type LabelSet = Record<string, string | number | bigint>;
export type LabelsOf = (args: { node: RawNode; context?: RawContext }) => LabelSet;

interface MappedLocation {
  file?: string;
  line?: number;
  column?: number;
  name?: string;
  missingMapFile?: boolean;
}

interface SourceMapperLike {
  mappingInfo(location: { file: string; line: number; column: number; name?: string }): MappedLocation;
}

interface TimeSerializeOptions {
  intervalMicros: number;
  sourceMapper?: SourceMapperLike;
  labels?: LabelsOf;
  lowCardinalityLabels?: string[];
  /** The profile's `time_nanos` (the binding takes the time of serialization). */
  timeNanos: number;
}

/** One node still to write: its location id once written, and its parent's entry. */
interface Entry {
  node: RawNode | RawHeapNode;
  parent: Entry | null;
  loc: number;
}

const GC_NAME = 'Garbage Collection';
const NON_JS_NAME = 'Non JS threads activity';
/**
 * Work between two looks at the clock, in frames written (a sample writes its whole stack): a
 * few tens of microseconds in warm code, so a slice runs little over its budget even while its
 * code is still cold (a first profile); reading the clock costs far less.
 */
const CHECK_EVERY_FRAMES = 512;
/** What a sample or a node costs beyond its frames (its labels, its location), in frames. */
const SAMPLE_COST = 16;

/** An integer field value as pprof-format writes it: 64-bit two's complement when negative. */
function writeInt(w: ProtoWriter, v: number | bigint): void {
  if (typeof v === 'bigint') {
    let u = BigInt.asUintN(64, v);
    w.ensure(10);
    while (u >= 0x80n) {
      w.buf[w.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    w.buf[w.pos++] = Number(u);
    return;
  }
  w.int64(Math.trunc(v));
}

function isZero(v: number | bigint): boolean {
  return v === 0 || v === 0n;
}

/**
 * A profile written in slices: `step(budgetMs)` writes for about that long and says whether it
 * is done; `bytes()` then gives the encoded pprof message (not compressed).
 */
export interface SlicedWriter {
  step(budgetMs: number): boolean;
  bytes(): Buffer;
}

/** A wall or heap profile being written from the binding's raw tree (`SlicedWriter`). */
export class ProfileWriter implements SlicedWriter {
  /** The string table, written as strings are first seen. */
  private readonly strings = new ProtoWriter(16 * 1024);
  private readonly stringIds = new Map<string, number>();
  private readonly samples = new ProtoWriter(64 * 1024);
  private readonly locations = new ProtoWriter(16 * 1024);
  private readonly functions = new ProtoWriter(16 * 1024);
  private readonly locationIds = new Map<string, number>();
  private readonly functionIds = new Map<string, number>();
  private readonly sampleTypes: [number, number][];
  private readonly pending: Entry[];
  /** The wall profile's interval, worked out in the first step (it walks the whole tree). */
  private intervalNanos = -1;
  private period: number;
  private readonly timeRaw: { raw: RawTimeProfile; intervalMicros: number } | null;
  private readonly periodType: [number, number];
  private readonly durationNanos: number;
  private readonly timeNanos: number;
  private readonly heap: boolean;
  private readonly hasCpu: boolean;
  private readonly labelsOf: LabelsOf | undefined;
  private readonly mapper: SourceMapperLike | undefined;
  private missingMaps = false;
  /** A node whose contexts were only partly written (a node can carry thousands). */
  private current: { entry: Entry; next: number; hits: number; cpu: number; stack: number[] } | null = null;
  private done = false;
  /** Frames written since the clock was last read. */
  private work = 0;
  private out: Buffer | null = null;

  private constructor(time: { raw: RawTimeProfile; options: TimeSerializeOptions } | null, heap: { root: RawHeapNode; options: HeapSerializeOptions } | null) {
    this.str('');
    if (time !== null) {
      const { raw, options } = time;
      this.heap = false;
      for (const l of options.lowCardinalityLabels ?? []) this.str(l);
      this.timeRaw = { raw, intervalMicros: options.intervalMicros };
      this.period = 0;
      this.hasCpu = raw.hasCpuTime === true;
      this.sampleTypes = [
        [this.str('sample'), this.str('count')],
        [this.str('wall'), this.str('nanoseconds')],
      ];
      if (this.hasCpu) this.sampleTypes.push([this.str('cpu'), this.str('nanoseconds')]);
      this.periodType = this.sampleTypes[1];
      this.durationNanos = (raw.endTime - raw.startTime) * 1000;
      this.timeNanos = options.timeNanos;
      this.labelsOf = options.labels;
      this.mapper = options.sourceMapper;
      // The walk pops from the end: top-level nodes in reverse order, as the binding's does.
      this.pending = topLevel(raw, this.hasCpu).map((node) => ({ node, parent: null, loc: 0 }));
    } else {
      const { root, options } = heap!;
      this.heap = true;
      this.timeRaw = null;
      this.period = options.intervalBytes;
      this.hasCpu = false;
      this.sampleTypes = [
        [this.str('inuse_objects'), this.str('count')],
        [this.str('inuse_space'), this.str('bytes')],
      ];
      this.periodType = this.sampleTypes[1];
      this.durationNanos = 0;
      this.timeNanos = options.timeNanos;
      this.labelsOf = undefined;
      this.mapper = options.sourceMapper;
      const children: RawHeapNode[] = root.children.slice();
      if (options.external > 0) children.push({ name: '(external)', scriptName: '', children: [], allocations: [{ sizeBytes: options.external, count: 1 }] });
      this.pending = children.map((node) => ({ node, parent: null, loc: 0 }));
    }
  }

  /** A wall profile (the addon's raw tree) to write. */
  static time(raw: RawTimeProfile, options: TimeSerializeOptions): ProfileWriter {
    return new ProfileWriter({ raw, options }, null);
  }

  /** A heap profile (V8's allocation profile, `heap.v8Profile()`) to write, as the binding's `heap.profile()` would. */
  static heap(root: RawHeapNode, options: HeapSerializeOptions): ProfileWriter {
    return new ProfileWriter(null, { root, options });
  }

  private str(s: string): number {
    let id = this.stringIds.get(s);
    if (id === undefined) {
      id = this.stringIds.size;
      this.stringIds.set(s, id);
      const w = this.strings;
      w.tag(6, WIRE_LEN);
      const n = Buffer.byteLength(s, 'utf8');
      w.varint(n);
      w.ensure(n);
      w.buf.write(s, w.pos, n, 'utf8');
      w.pos += n;
    }
    return id;
  }

  /** Writes for about `budgetMs` (at least one node); true when the whole profile is written. */
  step(budgetMs: number): boolean {
    if (this.done) return true;
    const deadline = performance.now() + budgetMs;
    if (this.intervalNanos < 0) {
      // The interval recomputed from the duration and the hits, kept between the configured
      // interval and twice it (the binding's rule).
      const t = this.timeRaw;
      if (t !== null) {
        let interval = t.intervalMicros;
        const total = t.raw.totalHitCount ?? totalHits(t.raw.topDownRoot);
        if (total > 0) interval = Math.min(Math.max(Math.floor((t.raw.endTime - t.raw.startTime) / total), interval), 2 * interval);
        this.intervalNanos = interval * 1000;
        this.period = this.intervalNanos;
      } else this.intervalNanos = 0;
    }
    this.work = 0;
    for (;;) {
      if (this.current === null) {
        const entry = this.pending.pop();
        if (entry === undefined) break;
        entry.loc = this.location(entry.node);
        const stack: number[] = [];
        for (let e: Entry | null = entry; e !== null; e = e.parent) stack.push(e.loc);
        this.current = { entry, next: 0, hits: this.heap ? 0 : (entry.node as RawNode).hitCount, cpu: 0, stack };
        this.work += stack.length + SAMPLE_COST;
      }
      if (!this.writeContexts(deadline)) return false;
      const entry = this.current.entry;
      this.current = null;
      for (const child of entry.node.children) this.pending.push({ node: child, parent: entry, loc: 0 });
      if (this.work >= CHECK_EVERY_FRAMES) {
        this.work = 0;
        if (performance.now() >= deadline) return false;
      }
    }
    this.done = true;
    return true;
  }

  /** The current node's samples; false when the budget ran out before its last context. */
  private writeContexts(deadline: number): boolean {
    const c = this.current!;
    if (this.heap) {
      const allocations = (c.entry.node as RawHeapNode).allocations;
      for (const a of allocations) this.sample(c.stack, [a.count, a.sizeBytes * a.count], []);
      this.work += allocations.length * (c.stack.length + SAMPLE_COST);
      return true;
    }
    const node = c.entry.node as RawNode;
    const idle = node.name === '(idle)';
    const contexts = node.contexts ?? [];
    while (c.next < contexts.length) {
      const context = contexts[c.next++];
      const labels = this.labelsOf !== undefined ? this.labelsOf({ node, context }) : ((context.context ?? {}) as LabelSet);
      const encoded = this.labelIds(labels);
      if (encoded.length > 0) {
        const values = c.hits > 0 ? [1, idle ? 0 : this.intervalNanos] : [0, 0];
        if (this.hasCpu) values.push(context.cpuTime ?? 0);
        this.sample(c.stack, values, encoded);
        c.hits--;
      } else if (this.hasCpu) c.cpu += context.cpuTime ?? 0;
      this.work += c.stack.length + SAMPLE_COST;
      if (this.work >= CHECK_EVERY_FRAMES && c.next < contexts.length) {
        this.work = 0;
        if (performance.now() >= deadline) return false;
      }
    }
    if ((!idle && c.hits > 0) || c.cpu > 0) {
      const labels = this.labelsOf !== undefined ? this.labelIds(this.labelsOf({ node })) : [];
      const values = c.hits > 0 ? [c.hits, idle ? 0 : c.hits * this.intervalNanos] : [0, 0];
      if (this.hasCpu) values.push(c.cpu);
      this.sample(c.stack, values, labels);
    }
    return true;
  }

  /** A label set as (key, string or number) string ids, in the set's order, values of other types left out. */
  private labelIds(labels: LabelSet): [number, number, number | bigint][] {
    const out: [number, number, number | bigint][] = [];
    for (const key in labels) {
      if (!Object.prototype.hasOwnProperty.call(labels, key)) continue;
      const v = labels[key];
      if (typeof v === 'string') {
        const k = this.str(key);
        out.push([k, this.str(v), 0]);
      } else if (typeof v === 'number' || typeof v === 'bigint') out.push([this.str(key), 0, v]);
    }
    return out;
  }

  private sample(stack: number[], values: number[], labels: [number, number, number | bigint][]): void {
    const w = this.samples;
    const m = w.begin(2);
    if (stack.length > 0) {
      const p = w.begin(1);
      for (const id of stack) w.varint(id);
      w.end(p);
    }
    if (values.length > 0) {
      const p = w.begin(2);
      for (const v of values) writeInt(w, v);
      w.end(p);
    }
    for (const [key, s, num] of labels) {
      const l = w.begin(3);
      if (key !== 0) {
        w.tag(1, WIRE_VARINT);
        w.varint(key);
      }
      if (s !== 0) {
        w.tag(2, WIRE_VARINT);
        w.varint(s);
      }
      if (!isZero(num)) {
        w.tag(3, WIRE_VARINT);
        writeInt(w, num);
      }
      w.end(l);
    }
    w.end(m);
  }

  /** The location id of a node (made, with its function, on first sight). */
  private location(node: RawNode | RawHeapNode): number {
    const scriptName = node.scriptName.startsWith('file://') ? node.scriptName.slice(7) : node.scriptName;
    let loc: MappedLocation = { file: scriptName || '', line: node.lineNumber, column: node.columnNumber, name: node.name };
    if (loc.line && this.mapper !== undefined && loc.column !== undefined && loc.line > 0) {
      loc = this.mapper.mappingInfo(loc as { file: string; line: number; column: number; name?: string });
      if (loc.missingMapFile) this.missingMaps = true;
    }
    const key = `${node.scriptId}:${loc.line}:${loc.column}:${loc.name}`;
    let id = this.locationIds.get(key);
    if (id !== undefined) return id;
    id = this.locationIds.size + 1;
    this.locationIds.set(key, id);
    const fn = this.function(loc, node.scriptId);
    const w = this.locations;
    const m = w.begin(4);
    w.tag(1, WIRE_VARINT);
    w.varint(id);
    const l = w.begin(4);
    w.tag(1, WIRE_VARINT);
    w.varint(fn);
    if (loc.line) {
      w.tag(2, WIRE_VARINT);
      writeInt(w, loc.line);
    }
    w.end(l);
    w.end(m);
    return id;
  }

  private function(loc: MappedLocation, scriptId: number | undefined): number {
    let name = loc.name;
    const key = name ? `${scriptId}:${name}` : `${scriptId}:${loc.line}:${loc.column}`;
    let id = this.functionIds.get(key);
    if (id !== undefined) return id;
    id = this.functionIds.size + 1;
    this.functionIds.set(key, id);
    if (!name) name = loc.line ? (loc.column ? `(anonymous:L#${loc.line}:C#${loc.column})` : `(anonymous:L#${loc.line})`) : '(anonymous)';
    const nameId = this.str(name);
    const file = this.str(loc.file || '');
    const w = this.functions;
    const m = w.begin(5);
    w.tag(1, WIRE_VARINT);
    w.varint(id);
    if (nameId !== 0) {
      w.tag(2, WIRE_VARINT);
      w.varint(nameId);
      w.tag(3, WIRE_VARINT);
      w.varint(nameId);
    }
    if (file !== 0) {
      w.tag(4, WIRE_VARINT);
      w.varint(file);
    }
    w.end(m);
    return id;
  }

  /** The whole profile as a pprof message (call once `step` said done). */
  bytes(): Buffer {
    if (this.out !== null) return this.out;
    if (!this.done) throw new Error('the profile is not written yet');
    const comment = this.missingMaps ? this.str('dd:has-missing-map-files') : 0;
    const samples = this.samples.take(16);
    const locations = this.locations.take(16);
    const functions = this.functions.take(16);
    const strings = this.strings.take(16);
    const w = new ProtoWriter(samples.length + locations.length + functions.length + strings.length + 256);
    for (const [type, unit] of this.sampleTypes) this.valueType(w, 1, type, unit);
    w.raw(samples);
    w.raw(locations);
    w.raw(functions);
    w.raw(strings);
    if (this.timeNanos) {
      w.tag(9, WIRE_VARINT);
      writeInt(w, this.timeNanos);
    }
    if (this.durationNanos) {
      w.tag(10, WIRE_VARINT);
      writeInt(w, this.durationNanos);
    }
    this.valueType(w, 11, this.periodType[0], this.periodType[1]);
    if (this.period) {
      w.tag(12, WIRE_VARINT);
      writeInt(w, this.period);
    }
    if (comment !== 0) {
      const p = w.begin(13);
      w.varint(comment);
      w.end(p);
    }
    this.out = w.take(16);
    return this.out;
  }

  private valueType(w: ProtoWriter, field: number, type: number, unit: number): void {
    const m = w.begin(field);
    if (type !== 0) {
      w.tag(1, WIRE_VARINT);
      w.varint(type);
    }
    if (unit !== 0) {
      w.tag(2, WIRE_VARINT);
      w.varint(unit);
    }
    w.end(m);
  }
}

/** The hits of a tree, walked without recursion (deep stacks must not overflow ours). */
function totalHits(root: RawNode): number {
  let total = 0;
  const stack = [root];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    total += n.hitCount;
    for (const c of n.children) stack.push(c);
  }
  return total;
}

/** The top-level nodes of a wall profile as the binding rewrites them (see the module comment). */
function topLevel(raw: RawTimeProfile, hasCpu: boolean): RawNode[] {
  const out: RawNode[] = [];
  let runtime: RawNode | null = null;
  const runtimeNode = (): RawNode => {
    if (runtime === null) {
      runtime = { name: 'Node.js', scriptName: '', scriptId: 0, lineNumber: 0, columnNumber: 0, children: [], hitCount: 0 };
      out.push(runtime);
    }
    return runtime;
  };
  for (const child of raw.topDownRoot.children) {
    if (child.name === '(program)') continue;
    if (child.name === '(idle)' && child.contexts?.length === 0) continue;
    if (child.name === '(garbage collector)') runtimeNode().children.push({ ...child, name: GC_NAME });
    else out.push(child);
  }
  if (hasCpu && raw.nonJSThreadsCpuTime) {
    runtimeNode().children.push({
      name: NON_JS_NAME,
      scriptName: '',
      scriptId: 0,
      lineNumber: 0,
      columnNumber: 0,
      children: [],
      hitCount: 0,
      contexts: [{ context: {}, cpuTime: raw.nonJSThreadsCpuTime }],
    });
  }
  return out;
}

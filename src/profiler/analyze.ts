/**
 * Reading decoded profiles: the hottest lines or functions (self and total), filtered by
 * span or endpoint labels, and the call tree a flame graph draws. Shared by the CLI, the dev
 * agent's page (which reads a service's uploads as one) and tests.
 */
import { framesOf, type Frame, type PprofProfile, type PprofSample } from './pprof';
import { LABEL_LOCAL_ROOT_SPAN_ID, LABEL_SPAN_ID, LABEL_TRACE_ENDPOINT } from './labels';

export interface Selection {
  /** `line` (function + file + line) or `function` (function + file). Default: line. */
  by?: 'line' | 'function';
  /** Sample type to weigh by (`cpu`, `wall`, `samples`, `inuse_space`...). Default: cpu, else wall, else the last one. */
  type?: string;
  /** Only samples whose `span id` or `local root span id` is this (decimal). */
  spanId?: string;
  /** Only samples whose `trace endpoint` is this. */
  endpoint?: string;
}

/**
 * What a frame stands for: code with a file (the app's, a library's, Node's own `node:*`), a
 * `native` function without one (a V8 builtin or a C++ binding: `Hash`, `internalModuleStat`),
 * or a `runtime` pseudo-frame for what the runtime does that is no function (below).
 */
type FrameKind = 'code' | 'native' | 'runtime';

/**
 * Pseudo-frames by name, always without a file. @datadog/pprof (5.x) writes `Node.js` over
 * `Garbage Collection` (V8's `(garbage collector)`) and `Non JS threads activity` (the CPU time
 * of the process's other threads), and `(idle)` when a span context was current (no wall time,
 * but the CPU time measured since the sample before); it drops `(program)`. V8 profiles read by
 * other producers (span-lines mode, `--cpu-prof`) have `(root)`, `(program)`, `(idle)` and
 * `(garbage collector)`; heap profiles `(external)`. Any other name in parentheses without a
 * file is taken for one too, except anonymous functions.
 */
const RUNTIME_FRAMES = new Set(['Node.js', 'Garbage Collection', 'Non JS threads activity']);

/**
 * Pseudo-frames that are no work of the process: in a CPU-time view their CPU time is not ranked
 * among functions, but given apart with what it is.
 */
const NOT_CPU_WORK: Readonly<Record<string, string>> = {
  '(idle)': "CPU time on samples taken while the thread was idle (no function's work)",
};

function frameKind(f: Frame): FrameKind {
  if (f.file !== '') return 'code';
  if (RUNTIME_FRAMES.has(f.name) || (/^\(.+\)$/.test(f.name) && !f.name.startsWith('(anonymous'))) return 'runtime';
  return 'native';
}

export interface TopEntry {
  key: string;
  name: string;
  /** '' for native and runtime frames. */
  file: string;
  /** 0 when grouped by function, and for native and runtime frames (a native frame's line is its caller's). */
  line: number;
  kind: FrameKind;
  self: number;
  total: number;
}

/** Weight left out of the ranking (pseudo-frames that are no CPU work, in a CPU-time view), with what it is. */
interface ApartEntry {
  name: string;
  value: number;
  what: string;
}

export interface Weighed {
  type: string;
  unit: string;
  /** The weight of every selected sample. */
  sum: number;
  /** Sample records selected (a record aggregates samples of one stack and label set). */
  samples: number;
}

/** One profile, or several read as one (the periods of one service: same sample types). */
type Profiles = PprofProfile | readonly PprofProfile[];

const listOf = (p: Profiles): readonly PprofProfile[] => (Array.isArray(p) ? p : [p as PprofProfile]);

export function pickType(profile: PprofProfile, type?: string): number {
  if (type !== undefined) {
    const i = profile.sampleTypes.findIndex((t) => t.type === type);
    if (i < 0) throw new Error(`the profile has no sample type "${type}" (it has ${profile.sampleTypes.map((t) => t.type).join(', ')})`);
    return i;
  }
  for (const want of ['cpu', 'wall']) {
    const i = profile.sampleTypes.findIndex((t) => t.type === want);
    if (i >= 0) return i;
  }
  return profile.sampleTypes.length - 1;
}

function selected(s: PprofSample, sel: Selection): boolean {
  if (sel.spanId !== undefined && String(s.labels[LABEL_SPAN_ID]) !== sel.spanId && String(s.labels[LABEL_LOCAL_ROOT_SPAN_ID]) !== sel.spanId) return false;
  if (sel.endpoint !== undefined && s.labels[LABEL_TRACE_ENDPOINT] !== sel.endpoint) return false;
  return true;
}

/**
 * A frame's identity in a view. A native or runtime frame is one per name: it has no file, and
 * the line a binding gives it is where its caller called it, so by line it would be listed once
 * per call site.
 */
function frameKey(f: Frame, by: 'line' | 'function'): string {
  const kind = frameKind(f);
  if (kind !== 'code') return `${f.name} (${kind})`;
  return by === 'line' ? `${f.name} ${f.file}:${f.line}` : `${f.name} ${f.file}`;
}

/**
 * The hottest lines or functions, by self weight (the leaf frame), with total weight (anywhere
 * on the stack). In a CPU-time view, samples whose leaf is no CPU work (`(idle)`) are counted in
 * `weighed.sum` but not ranked: they are in `apart`.
 */
export function top(profiles: Profiles, sel: Selection = {}): { entries: TopEntry[]; weighed: Weighed; apart: ApartEntry[] } {
  const by = sel.by ?? 'line';
  const { list, type } = typed(profiles, sel.type);
  const cpu = type.type === 'cpu';
  const map = new Map<string, TopEntry>();
  const apart = new Map<string, ApartEntry>();
  let sum = 0;
  let samples = 0;
  for (const [profile, ti, s] of eachSample(list, type.type)) {
    const v = s.values[ti];
    if (v === 0 || !selected(s, sel)) continue;
    sum += v;
    samples++;
    const frames = framesOf(profile, s);
    const leaf = frames[0];
    if (cpu && leaf !== undefined && frameKind(leaf) === 'runtime' && Object.hasOwn(NOT_CPU_WORK, leaf.name)) {
      const a = apart.get(leaf.name);
      if (a === undefined) apart.set(leaf.name, { name: leaf.name, value: v, what: NOT_CPU_WORK[leaf.name] });
      else a.value += v;
      continue;
    }
    const seen = new Set<string>();
    frames.forEach((f, i) => {
      const key = frameKey(f, by);
      let e = map.get(key);
      if (e === undefined) {
        const kind = frameKind(f);
        e = { key, name: f.name, file: f.file, line: by === 'line' && kind === 'code' ? f.line : 0, kind, self: 0, total: 0 };
        map.set(key, e);
      }
      if (i === 0) e.self += v;
      if (!seen.has(key)) {
        seen.add(key);
        e.total += v;
      }
    });
  }
  const entries = [...map.values()].sort((a, b) => b.self - a.self || b.total - a.total);
  return { entries, weighed: { type: type.type, unit: type.unit, sum, samples }, apart: [...apart.values()].sort((a, b) => b.value - a.value) };
}

/** The profiles that have the sample type (picked in the first, as `pickType` does), and that type. */
function typed(profiles: Profiles, type: string | undefined): { list: readonly PprofProfile[]; type: { type: string; unit: string } } {
  const all = listOf(profiles);
  if (all.length === 0) return { list: [], type: { type: type ?? 'samples', unit: 'count' } };
  const first = all[0].sampleTypes[pickType(all[0], type)];
  return { list: all.filter((p) => p.sampleTypes.some((t) => t.type === first.type)), type: first };
}

/** Every sample of `list` with the index of `type` in its profile. */
function* eachSample(list: readonly PprofProfile[], type: string): Generator<[PprofProfile, number, PprofSample]> {
  for (const profile of list) {
    const ti = profile.sampleTypes.findIndex((t) => t.type === type);
    for (const s of profile.samples) yield [profile, ti, s];
  }
}

export interface FlameNode {
  name: string;
  file: string;
  line: number;
  value: number;
  children: FlameNode[];
}

/** The call tree, root first, each node weighed by its samples (for a flame graph). */
export function flameTree(profiles: Profiles, sel: Selection = {}): { root: FlameNode; weighed: Weighed } {
  const by = sel.by ?? 'function';
  const { list, type } = typed(profiles, sel.type);
  const root: FlameNode = { name: 'all', file: '', line: 0, value: 0, children: [] };
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  let samples = 0;
  for (const [profile, ti, s] of eachSample(list, type.type)) {
    const v = s.values[ti];
    if (v === 0 || !selected(s, sel)) continue;
    samples++;
    root.value += v;
    const frames = framesOf(profile, s);
    let node = root;
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i];
      const key = frameKey(f, by);
      let kids = index.get(node);
      if (kids === undefined) index.set(node, (kids = new Map()));
      let child = kids.get(key);
      if (child === undefined) {
        child = { name: f.name, file: f.file, line: by === 'line' && frameKind(f) === 'code' ? f.line : 0, value: 0, children: [] };
        kids.set(key, child);
        node.children.push(child);
      }
      child.value += v;
      node = child;
    }
  }
  const sort = (n: FlameNode): void => {
    n.children.sort((a, b) => b.value - a.value);
    n.children.forEach(sort);
  };
  sort(root);
  return { root, weighed: { type: type.type, unit: type.unit, sum: root.value, samples } };
}

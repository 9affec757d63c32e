/**
 * Reading decoded profiles: the hottest lines or functions (self and total), filtered by
 * span or endpoint labels, and the call tree a flame graph draws. Shared by the CLI and tests.
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

export interface TopEntry {
  key: string;
  name: string;
  file: string;
  /** 0 when grouped by function. */
  line: number;
  self: number;
  total: number;
}

export interface Weighed {
  type: string;
  unit: string;
  /** The weight of every selected sample. */
  sum: number;
  /** Sample records selected (a record aggregates samples of one stack and label set). */
  samples: number;
}

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

export function frameKey(f: Frame, by: 'line' | 'function'): string {
  return by === 'line' ? `${f.name} ${f.file}:${f.line}` : `${f.name} ${f.file}`;
}

/** The hottest lines or functions, by self weight (the leaf frame), with total weight (anywhere on the stack). */
export function top(profile: PprofProfile, sel: Selection = {}): { entries: TopEntry[]; weighed: Weighed } {
  const by = sel.by ?? 'line';
  const ti = pickType(profile, sel.type);
  const map = new Map<string, TopEntry>();
  let sum = 0;
  let samples = 0;
  for (const s of profile.samples) {
    const v = s.values[ti];
    if (v === 0 || !selected(s, sel)) continue;
    sum += v;
    samples++;
    const frames = framesOf(profile, s);
    const seen = new Set<string>();
    frames.forEach((f, i) => {
      const key = frameKey(f, by);
      let e = map.get(key);
      if (e === undefined) {
        e = { key, name: f.name, file: f.file, line: by === 'line' ? f.line : 0, self: 0, total: 0 };
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
  return { entries, weighed: { type: profile.sampleTypes[ti].type, unit: profile.sampleTypes[ti].unit, sum, samples } };
}

export interface FlameNode {
  name: string;
  file: string;
  line: number;
  value: number;
  children: FlameNode[];
}

/** The call tree, root first, each node weighed by its samples (for a flame graph). */
export function flameTree(profile: PprofProfile, sel: Selection = {}): { root: FlameNode; weighed: Weighed } {
  const by = sel.by ?? 'function';
  const ti = pickType(profile, sel.type);
  const root: FlameNode = { name: 'all', file: '', line: 0, value: 0, children: [] };
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  let samples = 0;
  for (const s of profile.samples) {
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
        child = { name: f.name, file: f.file, line: by === 'line' ? f.line : 0, value: 0, children: [] };
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
  return { root, weighed: { type: profile.sampleTypes[ti].type, unit: profile.sampleTypes[ti].unit, sum: root.value, samples } };
}

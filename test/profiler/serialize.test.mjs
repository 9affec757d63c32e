// Our writer of the binding's raw wall profile (src/profiler/serialize.ts), written in slices,
// against the binding's own serializer and pprof-format's encoder on the same raw profile: the
// bytes must be the same (one time stamp set equal), whatever the slices. Real profiles from
// the addon (line mode, linked mode with one current context, and with async context frames
// where Node has them) and made-up trees for the cases a short real run does not reach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { dist, require } from '../helpers/common.mjs';

const { ProfileWriter } = dist('profiler/serialize.js');
const { PlainWallProfiler, FrameWallProfiler, asyncContextFrameActive } = dist('profiler/binding-internals.js');
const { decodePprof, framesOf } = dist('profiler/pprof.js');
const { serializeTimeProfile } = require('@datadog/pprof/out/src/profile-serializer');

const TIME = 1_765_000_000_123_456_789;

/** The binding's bytes for `raw` (its time stamp replaced by TIME). */
function theirs(raw, intervalMicros, mapper, labels, low) {
  const p = serializeTimeProfile(raw, intervalMicros, mapper, true, labels, low);
  p.timeNanos = TIME;
  return Buffer.from(p.encode());
}

/** Ours, in slices of `budgetMs` (0: the smallest slices there are); also how many slices. */
function ours(raw, intervalMicros, mapper, labels, low, budgetMs) {
  const w = ProfileWriter.time(raw, { intervalMicros, sourceMapper: mapper, labels, lowCardinalityLabels: low, timeNanos: TIME });
  let slices = 1;
  while (!w.step(budgetMs)) slices++;
  return { bytes: w.bytes(), slices };
}

function same(raw, intervalMicros, { mapper, labels, low = [] } = {}) {
  const expected = theirs(raw, intervalMicros, mapper, labels, low);
  const whole = ours(raw, intervalMicros, mapper, labels, low, Infinity);
  assert.equal(whole.slices, 1);
  assert.ok(whole.bytes.equals(expected), 'written in one go: the same bytes as the binding');
  const sliced = ours(raw, intervalMicros, mapper, labels, low, 0);
  assert.ok(sliced.bytes.equals(expected), `written in ${sliced.slices} slices: the same bytes as the binding`);
  return { profile: decodePprof(sliced.bytes), slices: sliced.slices };
}

// Work with many distinct functions and stacks, so a short profile has a real tree.
function busy(ms) {
  const fns = [];
  for (let i = 0; i < 40; i++) fns.push(new Function('n', `let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i + ${i}); return x;`));
  const end = performance.now() + ms;
  let x = 0;
  const nest = (d, i) => (d === 0 ? fns[i % fns.length](2000) : nest(d - 1, i) + 1);
  for (let i = 0; performance.now() < end; i++) x += nest(i % 7, i);
  return x;
}

test('line mode: a real profile is written byte for byte as the binding writes it, sliced or not', () => {
  const wall = new PlainWallProfiler({ intervalMicros: 1000, lineNumbers: true, withContexts: false, workaroundV8Bug: false });
  try {
    busy(300);
    const raw = wall.cutRaw(true);
    const { profile } = same(raw, 1000);
    assert.deepEqual(profile.sampleTypes.map((t) => t.type), ['sample', 'wall']);
    assert.ok(profile.samples.length > 0, `samples: ${profile.samples.length}`);
    const frames = profile.samples.flatMap((s) => framesOf(profile, s));
    assert.ok(frames.some((f) => f.name === 'nest' && f.line > 0), 'the work is there, with lines');
  } finally {
    wall.dispose();
  }
});

test('linked mode with one current context: labels, CPU time and idle samples as the binding writes them', () => {
  const wall = new PlainWallProfiler({ intervalMicros: 1000, lineNumbers: false, withContexts: true, workaroundV8Bug: false });
  try {
    const a = { span: '11', endpoint: 'GET /a' };
    const b = { span: '22', endpoint: 'GET /b' };
    for (let i = 0; i < 10; i++) {
      wall.setContext(i % 2 === 0 ? a : b);
      busy(20);
    }
    wall.setContext({});
    const raw = wall.cutRaw(true);
    const cache = new Map();
    const labels = ({ context }) => {
      const c = context?.context;
      if (c === undefined || c.span === undefined) return {};
      if (!cache.has(c)) cache.set(c, { 'span id': c.span, 'local root span id': c.span, 'trace endpoint': c.endpoint, n: Number(c.span) });
      return cache.get(c);
    };
    const { profile } = same(raw, 1000, { labels, low: ['trace endpoint'] });
    assert.deepEqual(profile.sampleTypes.map((t) => t.type), ['sample', 'wall', 'cpu']);
    const endpoints = new Set(profile.samples.map((s) => s.labels['trace endpoint']).filter(Boolean));
    assert.deepEqual([...endpoints].sort(), ['GET /a', 'GET /b']);
    assert.ok(profile.samples.some((s) => s.labels.n === 22), 'numeric labels too');
  } finally {
    wall.dispose();
  }
});

test('linked mode reading our store (async context frames): the same bytes', { skip: asyncContextFrameActive() ? false : `Node ${process.version} has no async context frames here` }, async () => {
  const key = new AsyncLocalStorage();
  const wall = new FrameWallProfiler(key, { intervalMicros: 1000, sourceMapper: undefined, workaroundV8Bug: false });
  try {
    const ctx = { span: '7' };
    await key.run(wall.holder(ctx), async () => {
      busy(80);
      await new Promise((r) => setTimeout(r, 5));
      busy(80);
    });
    const raw = wall.cutRaw(true);
    const labels = ({ context }) => (context?.context === ctx ? { 'span id': '7' } : {});
    const { profile } = same(raw, 1000, { labels });
    assert.ok(profile.samples.some((s) => s.labels['span id'] === '7'));
  } finally {
    wall.dispose();
  }
});

/** A made-up raw tree: every top-level rewrite, anonymous functions, file:// names, a deep chain. */
function madeUp({ contexts = 1000, depth = 1000 } = {}) {
  let id = 0;
  const node = (name, extra = {}) => ({ name, scriptName: `/app/f${id % 5}.js`, scriptId: (id % 5) + 1, lineNumber: (id++ % 90) + 1, columnNumber: 3, hitCount: 1, children: [], ...extra });
  const ctxs = [];
  const spans = [{ span: '1', ep: 'GET /x' }, { span: '2', ep: 'POST /y' }, {}];
  for (let i = 0; i < contexts; i++) ctxs.push({ context: spans[i % 3], cpuTime: 1000 + i, timestamp: 0n });
  const hot = node('hot', { hitCount: contexts + 5, contexts: ctxs });
  const anon = node('', { scriptName: 'file:///app/esm.mjs', children: [node(''), node('', { columnNumber: 0 })] });
  let chain = node('deep');
  const top = chain;
  for (let i = 0; i < depth; i++) {
    const next = node(`d${i % 50}`);
    chain.children.push(next);
    chain = next;
  }
  chain.children.push(node('leaf', { lineNumber: 0 }));
  const root = {
    name: '(root)', scriptName: '', scriptId: 0, lineNumber: 0, columnNumber: 0, hitCount: 0,
    children: [
      node('(program)', { hitCount: 40 }),
      node('(idle)', { hitCount: 9, contexts: [] }),
      node('(idle)', { hitCount: 3, contexts: [{ context: spans[0], cpuTime: 5, timestamp: 0n }] }),
      node('main', { children: [hot, anon, node('other', { children: [node('hot'), node('nomap', { scriptName: '/app/min.js' })] })] }),
      node('(garbage collector)', { hitCount: 4 }),
      top,
    ],
  };
  return { startTime: 1_000_000, endTime: 61_000_000, topDownRoot: root, hasCpuTime: true, nonJSThreadsCpuTime: 777_000 };
}

// A source mapper that moves some lines, and says one script's map is missing.
const mapper = {
  mappingInfo(loc) {
    if (loc.file.endsWith('min.js')) return { ...loc, missingMapFile: true };
    if (loc.file.endsWith('f1.js')) return { file: '/src/f1.ts', line: loc.line + 100, column: 1, name: loc.name };
    return loc;
  },
};

test('made-up trees: top-level rewrites, anonymous functions, source maps, a node with 1000 contexts, a 1000-deep chain', () => {
  const labels = ({ context }) => {
    const c = context?.context;
    return c?.span === undefined ? {} : { 'span id': c.span, 'trace endpoint': c.ep, big: BigInt(c.span) << 40n };
  };
  for (const opts of [{ labels, low: ['trace endpoint'], mapper }, {}, { mapper }]) {
    const { profile, slices } = same(madeUp(), 10_000, opts);
    assert.ok(slices > 60, `slices: ${slices}`);
    const names = new Set([...profile.functions.values()].map((f) => f.name));
    for (const n of ['Garbage Collection', 'Node.js', 'Non JS threads activity', 'hot', 'leaf']) assert.ok(names.has(n), `${n} in the profile`);
    assert.ok([...names].some((n) => /^\(anonymous:L#\d+:C#3\)$/.test(n)), 'anonymous functions named by line and column');
    assert.ok(!names.has('(program)'));
  }
  // Without CPU time and without a hit count given: the same again.
  const raw = madeUp({ contexts: 10, depth: 30 });
  raw.hasCpuTime = false;
  same(raw, 10_000, { labels });
});

// The main thread's own CPU time in ms (Linux), else the process's: time on a loaded machine
// would count other processes' turns.
function cpuMs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
}

test('a slice stops on time: a large profile written with a 1 ms budget takes many slices, none of them a large share', () => {
  const raw = madeUp({ contexts: 20_000, depth: 1000 });
  const labels = ({ context }) => (context?.context?.span === undefined ? {} : { 'span id': context.context.span });
  const w = ProfileWriter.time(raw, { intervalMicros: 10_000, labels, timeNanos: TIME });
  const cpu = [];
  for (let done = false; !done; ) {
    const c0 = cpuMs();
    done = w.step(1);
    cpu.push(cpuMs() - c0);
  }
  const total = cpu.reduce((a, b) => a + b, 0);
  // A collection of the main thread's heap lands in one slice or two and cannot be split: the
  // slices but the longest tenth must each be a small share.
  const sorted = [...cpu].sort((a, b) => a - b);
  const p90 = sorted[Math.floor(sorted.length * 0.9) - 1];
  // Each slice near its 1 ms budget: the slice count follows the total, whatever this
  // machine's speed (a fixed count failed on a fast, quiet machine: 18 slices).
  assert.ok(cpu.length >= Math.max(5, total / 3), `slices: ${cpu.length} for ${total.toFixed(2)} ms of CPU`);
  assert.ok(p90 < total / 4, `the 90th percentile slice took ${p90.toFixed(2)} of ${total.toFixed(2)} ms of CPU (slices: ${sorted.map((c) => c.toFixed(1)).join(' ')})`);
  assert.ok(w.bytes().equals(theirs(raw, 10_000, undefined, labels, [])));
});

test('a heap profile is written byte for byte as the binding writes it, with the external memory node', () => {
  const { serializeHeapProfile } = require('@datadog/pprof/out/src/profile-serializer');
  const { heap } = require('@datadog/pprof');
  heap.start(4096, 64);
  try {
    const keep = [];
    for (let i = 0; i < 2000; i++) keep.push({ i, s: 'x'.repeat(i % 100), a: new Array(i % 50).fill(i) });
    const root = heap.v8Profile();
    const external = 123_456;
    const withExternal = { ...root, children: [...root.children, { name: '(external)', scriptName: '', children: [], allocations: [{ sizeBytes: external, count: 1 }] }] };
    for (const m of [undefined, mapper]) {
      const expected = Buffer.from(serializeHeapProfile(withExternal, TIME, 4096, undefined, m, undefined, false).encode());
      for (const budget of [Infinity, 0]) {
        const w = ProfileWriter.heap(root, { intervalBytes: 4096, sourceMapper: m, timeNanos: TIME, external });
        while (!w.step(budget));
        assert.ok(w.bytes().equals(expected), `heap profile, budget ${budget}, mapper ${m !== undefined}: the same bytes`);
      }
    }
    const profile = decodePprof(Buffer.from(serializeHeapProfile(withExternal, TIME, 4096, undefined, undefined, undefined, false).encode()));
    assert.deepEqual(profile.sampleTypes.map((t) => t.type), ['inuse_objects', 'inuse_space']);
    assert.ok(profile.samples.length > 5 && keep.length === 2000);
  } finally {
    heap.stop();
  }
});

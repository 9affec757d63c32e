// The guard on the one module that uses @datadog/pprof beyond its public entry point
// (src/profiler/binding-internals.ts): the binding is pinned to the version that module was
// written against, and what it relies on still holds. If a new version of the binding breaks
// one of these, this file fails and says what changed; do not loosen the pin without re-reading
// the binding's sources (docs/profiling.md, "Linked mode on Node 24+").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dist, require, root } from '../helpers/common.mjs';

const { PINNED_PPROF_VERSION, FrameWallProfiler, PlainWallProfiler, asyncContextFrameActive } = dist('profiler/binding-internals.js');
const major = Number(process.versions.node.split('.')[0]);
const frames = asyncContextFrameActive();

test('@datadog/pprof is pinned exactly, in package.json, the lock file and what is installed', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.dependencies['@datadog/pprof'], PINNED_PPROF_VERSION, 'package.json must pin the binding exactly (no range): binding-internals.ts uses its internal modules');
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  assert.equal(lock.packages[''].dependencies['@datadog/pprof'], PINNED_PPROF_VERSION);
  assert.equal(lock.packages['node_modules/@datadog/pprof'].version, PINNED_PPROF_VERSION);
  assert.equal(require('@datadog/pprof/package.json').version, PINNED_PPROF_VERSION, 'the installed binding is not the pinned one');
});

test('async context frames are detected where Node runs AsyncLocalStorage on them', () => {
  const opts = `${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`;
  const expected = /--no-async-context-frame/.test(opts) ? false : major >= 24 || (major === 22 && /--experimental-async-context-frame/.test(opts));
  assert.equal(frames, expected, `Node ${process.version} (${opts.trim() || 'no flags'}): frames ${frames}`);
});

const spin = (ms) => {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
};

test('the wall profiler reads a holder from our own AsyncLocalStorage: labelled samples, nothing for a plain store, across awaits', { skip: frames ? false : `Node ${process.version} has no async context frames here: linked mode takes the async-hook path` }, async () => {
  const key = new AsyncLocalStorage();
  const wall = new FrameWallProfiler(key, { intervalMicros: 2000, sourceMapper: undefined, workaroundV8Bug: false });
  const mine = { span: 'mine' };
  let h;
  try {
    const other = { span: 'other' };
    h = wall.holder(mine);
    const h2 = wall.holder(other);
    assert.equal(wall.current(), undefined, 'outside any run: no context');
    key.run(h, () => assert.equal(wall.current(), mine, 'the holder in our store is what the profiler reads'));
    key.run({ plain: true }, () => assert.equal(wall.current(), undefined, 'a store that is not a holder labels nothing'));
    assert.ok(wall.liveHolders() >= 2, 'the profiler keeps a record per holder');
    await key.run(h, async () => {
      await new Promise((r) => setImmediate(r));
      assert.equal(wall.current(), mine, 'after an await, the frame still carries the holder');
      spin(150);
    });
    key.run(h2, () => spin(150));
    const labels = ({ context }) => (context?.context === mine ? { who: 'mine' } : context?.context === other ? { who: 'other' } : {});
    const profile = wall.stop(true, labels, []);
    const whoKey = profile.stringTable.strings.indexOf('who');
    const count = (v) => profile.sample.filter((s) => s.label.some((l) => l.key === whoKey && profile.stringTable.strings[l.str] === v)).length;
    assert.ok(count('mine') >= 5, `${count('mine')} samples labelled through the serializer's label callback`);
    assert.ok(count('other') >= 5, `${count('other')} samples of the second holder`);
    assert.throws(() => new FrameWallProfiler(key, { intervalMicros: 2000, sourceMapper: undefined, workaroundV8Bug: false }), /reads this store now/, 'one running profiler per key');
  } finally {
    wall.dispose();
  }
  assert.equal(wall.isStarted(), false);
  assert.throws(() => new FrameWallProfiler(key, { intervalMicros: 5000, sourceMapper: undefined, workaroundV8Bug: false }), /other settings/, 'the kept profiler cannot change its interval');
  // A later profiler on the same key reads the holders made before (the addon's profiler and
  // its records are kept, never disposed while holders may still be in frames).
  const again = new FrameWallProfiler(key, { intervalMicros: 2000, sourceMapper: undefined, workaroundV8Bug: false });
  try {
    key.run(h, () => assert.equal(again.current(), mine, 'a holder of the first profiler, read by the second'));
  } finally {
    again.dispose();
  }
});

test('with holders installed, the tracer store hands out the span, never the holder, and run restores the holder after a nested run', { skip: frames ? false : `Node ${process.version}: no async context frames` }, async () => {
  const { HOLDS, setFrameHolders, contextStore } = dist('tracer/profiler-hooks.js');
  const { resolveConfig } = dist('config/resolve.js');
  const { TracerCore } = dist('tracer/tracer.js');
  const { ROOT_CONTEXT, SpanKind } = require('@opentelemetry/api');
  const key = new AsyncLocalStorage();
  const wall = new FrameWallProfiler(key, { intervalMicros: 10000, sourceMapper: undefined, workaroundV8Bug: false });
  const core = new TracerCore(resolveConfig({ service: 's', env: 'test', version: '1' }, {}).config);
  core.setSink({ enqueue() {} });
  const made = [];
  const rawGet = AsyncLocalStorage.prototype.getStore;
  try {
    setFrameHolders((span, ctx) => {
      const h = wall.holder({ id: span.spanLo });
      h[HOLDS] = ctx;
      if (ctx === span) span.profCtx = h;
      made.push(h);
      return h;
    });
    const parent = core.startSpan('p', SpanKind.SERVER, ROOT_CONTEXT, undefined, performance.now());
    const child = core.startSpan('c', SpanKind.INTERNAL, parent, undefined, performance.now());
    await contextStore.run(parent, async () => {
      assert.equal(contextStore.getStore(), parent, 'getStore is the span itself');
      assert.ok(rawGet.call(contextStore)[HOLDS] === parent, 'the frame keeps the holder');
      contextStore.run(child, () => assert.equal(contextStore.getStore(), child));
      assert.ok(rawGet.call(contextStore) === parent.profCtx, 'after a nested run the parent holder is back');
      await null;
      contextStore.run(child, () => {});
      assert.equal(contextStore.getStore(), parent);
    });
    assert.equal(made.length, 2, 'one holder per span, however often it is entered');
  } finally {
    setFrameHolders(null);
    wall.dispose();
  }
  await contextStore.run(made[0], async () => {
    // A holder left in a frame after the profiler stopped (a request in flight) is still never handed out.
    assert.ok(rawGet.call(contextStore) === made[0]);
    assert.equal(contextStore.getStore(), made[0][HOLDS]);
  });
});

test('the raw profile a cut returns has the shape our writer reads (serialize.ts: RawTimeProfile), line mode and one current context', () => {
  const shape = (raw, what) => {
    assert.equal(typeof raw.startTime, 'number', `${what}: startTime`);
    assert.equal(typeof raw.endTime, 'number', `${what}: endTime`);
    assert.ok(raw.endTime > raw.startTime, `${what}: endTime after startTime`);
    assert.ok(Array.isArray(raw.topDownRoot?.children), `${what}: topDownRoot.children`);
    let nodes = 0;
    const walk = (n) => {
      nodes++;
      assert.equal(typeof n.scriptName, 'string');
      assert.equal(typeof n.hitCount, 'number');
      assert.ok(n.lineNumber === undefined || typeof n.lineNumber === 'number');
      for (const c of n.children) walk(c);
    };
    walk(raw.topDownRoot);
    assert.ok(nodes > 3, `${what}: ${nodes} nodes`);
    return raw;
  };
  const lines = new PlainWallProfiler({ intervalMicros: 2000, lineNumbers: true, withContexts: false, workaroundV8Bug: false });
  try {
    spin(100);
    const raw = shape(lines.cutRaw(true), 'line mode');
    assert.notEqual(raw.hasCpuTime, true, 'no CPU time without contexts');
  } finally {
    lines.dispose();
  }
  assert.equal(lines.isStarted(), false);
  const linked = new PlainWallProfiler({ intervalMicros: 2000, lineNumbers: false, withContexts: true, workaroundV8Bug: false });
  const mine = { span: 'mine' };
  linked.setContext(mine);
  spin(300);
  linked.setContext({});
  const raw = shape(linked.cutRaw(false), 'one current context');
  assert.equal(linked.isStarted(), false, 'a last cut disposes it');
  assert.equal(raw.hasCpuTime, true);
  const contexts = [];
  const walk = (n) => {
    for (const c of n.contexts ?? []) contexts.push(c);
    n.children.forEach(walk);
  };
  walk(raw.topDownRoot);
  const ours = contexts.filter((c) => c.context === mine);
  // At least one (a loaded machine may give the thread few sampling signals).
  assert.ok(ours.length >= 1, `${ours.length} samples carry the context set`);
  assert.ok(ours.every((c) => typeof c.cpuTime === 'number'), 'each with its CPU time');
  assert.doesNotThrow(() => linked.setContext({}), 'setting a context once stopped is ignored');
});

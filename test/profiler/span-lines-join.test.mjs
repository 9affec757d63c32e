// The span-lines join (src/profiler/span-lines.ts) on made-up inspector profiles, for what a
// short real run reaches only now and then: V8's CPU profiler orders samples by when it
// processed them, and a sample's time delta from the one before can be negative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { dist, require, root } from '../helpers/common.mjs';

const { SpanLinesProfiler, SpanTimeline } = dist('profiler/span-lines.js');
const { decodePprof, framesOf } = dist('profiler/pprof.js');
const protobuf = require('protobufjs');
const Profile = protobuf.loadSync(join(root, 'test', 'fixtures', 'profiler', 'profile.proto')).lookupType('perftools.profiles.Profile');

const frame = (functionName, lineNumber) => ({ functionName, url: 'file:///app/work.js', lineNumber, scriptId: '1', columnNumber: 0 });

/** The joined profile of `profile` with no span recorded (every sample is "no span"), as bytes. */
function joined(profile) {
  const p = new SpanLinesProfiler(new SpanTimeline(), 1000, 60_000, undefined);
  p.join(profile);
  const w = p.collect(true);
  while (!w.step(3));
  return w.bytes();
}

test('span-lines: a negative time delta (V8 wrote a sample out of order) still gives a valid profile with no negative time', () => {
  // (root) -> outer -> { hot, cold }; "cold" has one sample only, the one that came in out of order.
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', -1), children: [2] },
      { id: 2, callFrame: frame('outer', 0), children: [3, 4] },
      { id: 3, callFrame: frame('hot', 10), positionTicks: [{ line: 12, ticks: 3 }] },
      { id: 4, callFrame: frame('cold', 20), positionTicks: [{ line: 21, ticks: 1 }] },
    ],
    startTime: 1_000_000,
    endTime: 1_000_400,
    samples: [3, 3, 4, 3],
    timeDeltas: [100, 100, -40, 100],
  };
  const bytes = joined(profile);
  // A decoder with the pprof schema reads it whole (a negative value written as a varint's
  // low byte leaves a continuation bit at the end of the field: "truncated varint").
  const other = Profile.toObject(Profile.decode(bytes), { longs: Number, defaults: true });
  const mine = decodePprof(bytes);
  assert.equal(other.sample.length, mine.samples.length);
  const names = (s) => other.stringTable[other.function.find((f) => f.id === other.location.find((l) => l.id === s.locationId[0]).line[0].functionId).name];
  const byLeaf = Object.fromEntries(other.sample.map((s) => [names(s), s.value.map(Number)]));
  assert.deepEqual(Object.keys(byLeaf).sort(), ['cold', 'hot'], 'both call paths are kept');
  for (const [leaf, [count, ns]] of Object.entries(byLeaf)) {
    assert.ok(count >= 1, `${leaf}: sample count ${count}`);
    assert.ok(ns >= 0, `${leaf}: wall time ${ns} ns`);
  }
  assert.equal(byLeaf.hot[1], 300_000, 'hot: its three deltas');
  assert.equal(byLeaf.cold[1], 0, 'cold: the out-of-order sample weighs nothing');
});

test('span-lines: a period is written in slices, one call path at a time, and the slices make the whole profile', () => {
  // (root) -> outer -> { a, b, c }: three call paths, two samples each.
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', -1), children: [2] },
      { id: 2, callFrame: frame('outer', 0), children: [3, 4, 5] },
      { id: 3, callFrame: frame('a', 10), positionTicks: [{ line: 11, ticks: 2 }] },
      { id: 4, callFrame: frame('b', 20), positionTicks: [{ line: 21, ticks: 2 }] },
      { id: 5, callFrame: frame('c', 30), positionTicks: [{ line: 31, ticks: 2 }] },
    ],
    startTime: 1_000_000,
    endTime: 1_000_600,
    samples: [3, 4, 5, 3, 4, 5],
    timeDeltas: [100, 100, 100, 100, 100, 100],
  };
  const p = new SpanLinesProfiler(new SpanTimeline(), 1000, 60_000, undefined);
  p.join(profile);
  const w = p.collect(true);
  // The profile is written after the period's end, a slice per event-loop turn. With no time
  // to spend, each step writes one call path (or 16 samples of one).
  let steps = 1;
  while (!w.step(0)) steps++;
  assert.equal(steps, 4, 'three call paths, then the tables');
  const mine = decodePprof(w.bytes());
  const leaf = (s) => framesOf(mine, s)[0];
  assert.deepEqual(mine.samples.map((s) => `${leaf(s).name}:${leaf(s).line}`).sort(), ['a:11', 'b:21', 'c:31']);
  for (const s of mine.samples) assert.equal(s.values[1], 200_000, `${leaf(s).name}: two samples of 100 µs`);
});

test("span-lines: the last window's join is sliced too (a step per 16 samples), and what it joined is in the profile (V8's inspector, in process)", () => {
  const p = new SpanLinesProfiler(new SpanTimeline(), 100, 60_000, undefined);
  p.start();
  function spinForTheProfiler(ms) {
    const until = performance.now() + ms;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    return x;
  }
  spinForTheProfiler(300);
  const w = p.collect(true);
  let steps = 1;
  while (!w.step(0)) steps++;
  const mine = decodePprof(w.bytes());
  const samples = mine.samples.reduce((n, s) => n + s.values[0], 0);
  const spun = mine.samples.filter((s) => framesOf(mine, s).some((f) => f.name === 'spinForTheProfiler')).reduce((n, s) => n + s.values[0], 0);
  assert.ok(spun >= 100, `samples in the spinning function: ${spun} of ${samples}`);
  // One step per 16 samples joined, then at least one per call path: far more steps than call paths.
  assert.ok(steps >= Math.floor(samples / 16), `${steps} steps for ${samples} samples in ${mine.samples.length} call paths`);
});

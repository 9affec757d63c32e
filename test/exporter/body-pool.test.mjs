// The payload buffer pool takes back only memory it allocated itself. On Node 24,
// Buffer.allocUnsafe below 32 KiB hands out slices of a shared 64 KiB slab; a small payload
// could be that slab's first slice (offset 0, 64 KiB underneath), and taking it back meant
// writing later payloads into memory the rest of the process was still given slices of:
// gRPC frames of the same process turned up inside a /v0.5 payload, which the agent refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dist } from '../helpers/common.mjs';

const { BodyPool } = dist('exporter/encoders/datadog-common.js');

test("a payload in Node's shared allocation slab is never taken back, whatever Buffer.poolSize is", () => {
  const poolSize = Buffer.poolSize;
  Buffer.poolSize = 64 * 1024; // Node 24's size, on every line
  try {
    // The start of the slab Buffer.allocUnsafe hands out slices of (Node 26 aligns its slices, so a
    // slice of its own rarely starts at 0: the view is made directly).
    let slab = Buffer.allocUnsafe(30_000).buffer;
    for (let i = 0; i < 4 && slab.byteLength < 64 * 1024; i++) slab = Buffer.allocUnsafe(30_000).buffer; // a slab of the new size
    assert.ok(slab.byteLength >= 64 * 1024, `a shared slab as large as a payload buffer of our own (${slab.byteLength})`);
    const slice = Buffer.from(slab, 0, 30_000);
    const pool = new BodyPool();
    pool.give(slice.subarray(0, 5000));
    const next = pool.take(1000);
    assert.notEqual(next.buffer, slice.buffer, 'the next payload must not be written into the shared slab');
    // And what the pool makes is never a slice of that slab either.
    assert.equal(next.byteOffset, 0);
    assert.equal(next.buffer.byteLength, 1000);
  } finally {
    Buffer.poolSize = poolSize;
  }
});

test('the pool reuses its own buffers once they are given back, and keeps each once', () => {
  const pool = new BodyPool();
  const a = pool.take(100_000);
  pool.give(a.subarray(0, 5000)); // a payload is the start of the buffer
  pool.give(a.subarray(0, 7000)); // given twice: kept once
  assert.equal(pool.take(70_000).buffer, a.buffer, 'a later payload reuses the buffer');
  assert.notEqual(pool.take(70_000).buffer, a.buffer, 'and only one payload at a time');
  // Small buffers (under 64 KiB) and views that do not start at the buffer's start are not kept.
  const small = pool.take(10_000);
  pool.give(small);
  assert.notEqual(pool.take(1000).buffer, small.buffer);
  const b = pool.take(100_000);
  pool.give(b.subarray(10));
  assert.notEqual(pool.take(1000).buffer, b.buffer);
});

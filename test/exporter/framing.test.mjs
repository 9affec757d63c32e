// Dead-letter records on their own: large bodies are stored deflated and read back exactly
// as sent; damage and a torn tail are skipped without losing the records around them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { dist } from '../helpers/common.mjs';

const { encodeRecord, scanRecords } = dist('delivery/dead-letter/framing.js');

function tracePayload(n) {
  // Repetitive like real msgpack traces (same keys and strings), with some random ids.
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(Buffer.from(`\x8c\xa4name\xaabench.step\xa7service\xa5bench\xa7span_id\xcf`), randomBytes(8));
  return Buffer.concat(parts);
}

test('a large body is stored deflated and read back byte for byte; a small one as is', () => {
  const big = tracePayload(5000);
  const small = Buffer.from('tiny payload');
  const a = encodeRecord(big, { kind: 1, items: 5000, traces: 500, time: 1 });
  const b = encodeRecord(small, { kind: 2, items: 1, traces: 1, time: 2 });
  assert.ok(a.length < big.length / 2, `stored ${a.length} bytes for a ${big.length} byte body`);
  assert.equal(b.length, 32 + small.length);
  const { records, skipped, tornTail } = scanRecords(Buffer.concat([a, b]));
  assert.equal(skipped, 0);
  assert.equal(tornTail, false);
  assert.equal(records.length, 2);
  assert.ok(records[0].body.equals(big));
  assert.deepEqual([records[0].kind, records[0].items, records[0].traces, records[0].storedBytes], [1, 5000, 500, a.length]);
  assert.ok(records[1].body.equals(small));
  assert.equal(records[1].offset, a.length);
});

test('a damaged deflated record is skipped and the scan resumes at the next one; a torn tail is reported', () => {
  const recs = [0, 1, 2].map((i) => encodeRecord(tracePayload(1000 + i), { kind: 1, items: i + 1, traces: 1, time: i }));
  const damaged = Buffer.from(recs[1]);
  damaged[200] ^= 0xff;
  const torn = recs[2].subarray(0, recs[2].length >> 1);
  const { records, skipped, tornTail } = scanRecords(Buffer.concat([recs[0], damaged, recs[0], torn]));
  assert.deepEqual(records.map((r) => r.items), [1, 1]);
  assert.ok(skipped >= 1);
  assert.equal(tornTail, true);
});

// `tracewell profile top` on a linked-mode profile made by the binding's own serializer
// (`@datadog/pprof`, the code that writes every wall profile the profiler sends) from a time
// profile tree: native frames without a file, the pseudo-frames the binding emits (`(idle)`
// with CPU time, `Garbage Collection` and `Non JS threads activity` under `Node.js`; `(program)`
// it drops), and JavaScript frames. The real bin reads it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { require, root } from '../helpers/common.mjs';

const { serializeTimeProfile } = require('@datadog/pprof/out/src/profile-serializer');

const dir = mkdtempSync(join(tmpdir(), 'tw-profile-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MS = 1e6;
const SPAN = { 'span id': '11', 'local root span id': '11', 'trace endpoint': 'GET /hash' };
/** `n` samples of the span, each with `cpuMs` of CPU time. */
const samples = (n, cpuMs) => ({ hitCount: n, contexts: Array.from({ length: n }, () => ({ context: SPAN, timestamp: 0n, cpuTime: cpuMs * MS, asyncId: 1 })) });
const node = (name, scriptName, scriptId, lineNumber, hits, children = []) => ({ name, scriptName, scriptId, lineNumber, columnNumber: lineNumber > 0 ? 3 : 0, ...hits, children });

/**
 * CPU: (idle) 160 ms, (program) 20 ms (dropped by the binding), (garbage collector) 30 ms,
 * non-JS threads 35 ms, handle 20 ms, the native Hash 50 ms under handle (called from line 101)
 * and 50 ms under other (line 102), the native digest 15 ms. 360 ms in the profile.
 */
function linkedProfile() {
  const none = { hitCount: 0, contexts: [] };
  const tree = node('(root)', '', 0, 0, none, [
    node('(idle)', '', 0, 0, samples(4, 40)),
    node('(program)', '', 0, 0, samples(2, 10)),
    node('(garbage collector)', '', 0, 0, samples(1, 30)),
    node('handle', '/srv/app/server.js', 5, 10, samples(1, 20), [node('Hash', '', 0, 101, samples(2, 25)), node('digest', '', 0, 156, samples(1, 15))]),
    node('other', '/srv/app/other.js', 6, 20, none, [node('Hash', '', 0, 102, samples(2, 25))]),
  ]);
  const profile = serializeTimeProfile({ startTime: 0, endTime: 1_000_000, topDownRoot: tree, hasCpuTime: true, nonJSThreadsCpuTime: 35 * MS }, 10_000);
  const file = join(dir, 'wall-linked.pb.gz');
  writeFileSync(file, gzipSync(profile.encode()));
  return file;
}

function tracewell(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'tracewell.js'), ...args], { cwd: root, env: { PATH: process.env.PATH }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

/** The table of `profile top` as rows of { self, total, fn, location }, cut at the header's columns; and the lines after it. */
function table(stdout) {
  const lines = stdout.split('\n');
  const h = lines.findIndex((l) => /^\s*self\s+self%\s+total\s+total%\s+function\s+location$/.test(l));
  assert.ok(h >= 0, stdout);
  const fnAt = lines[h].indexOf('function');
  const locAt = lines[h].indexOf('location');
  const rows = [];
  let i = h + 1;
  for (; i < lines.length && lines[i].trim() !== ''; i++) {
    const l = lines[i];
    const nums = l.slice(0, fnAt).trim().split(/\s{2,}/);
    rows.push({ self: nums[0], total: nums[2], fn: l.slice(fnAt, locAt).trim(), location: l.slice(locAt).trim() });
  }
  return { rows, after: lines.slice(i).filter((l) => l.trim() !== '') };
}

test('profile top: a native function without a file is one row, marked native; (idle) is not ranked as CPU work but said apart', async () => {
  const file = linkedProfile();
  for (const args of [[], ['--lines'], ['--span', '11'], ['--endpoint', 'GET /hash']]) {
    const r = await tracewell(['profile', 'top', file, ...args]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const what = args.join(' ') || 'by function';
    // Non-JS threads' CPU carries no span: the filters leave it out.
    const filtered = args[0] === '--span' || args[0] === '--endpoint';
    assert.match(r.stdout, filtered ? /: 325\.0 ms of cpu/ : /: 360\.0 ms of cpu/, what);
    const { rows, after } = table(r.stdout);
    const hash = rows.filter((x) => x.fn === 'Hash');
    assert.equal(hash.length, 1, `${what}: one Hash row, from both call sites: ${JSON.stringify(rows)}`);
    assert.deepEqual([hash[0].self, hash[0].location], ['100.0 ms', '(native)'], what);
    assert.equal(rows[0].fn, 'Hash', `${what}: the hottest row`);
    assert.deepEqual(rows.find((x) => x.fn === 'digest')?.location, '(native)', what);
    assert.ok(rows.every((x) => x.location !== ''), `${what}: no row without a location: ${JSON.stringify(rows)}`);
    assert.equal(rows.find((x) => x.fn === 'handle')?.location, args[0] === '--lines' ? '/srv/app/server.js:10' : '/srv/app/server.js', what);
    assert.deepEqual(rows.find((x) => x.fn === 'Garbage Collection')?.location, '(runtime)', what);
    assert.deepEqual(rows.find((x) => x.fn === 'Non JS threads activity')?.location, filtered ? undefined : '(runtime)', what);
    // (idle) is CPU time the binding charged to samples taken while the thread waited: no row of its own among CPU work.
    assert.ok(!rows.some((x) => x.fn === '(idle)' || x.fn === '(program)'), `${what}: ${JSON.stringify(rows)}`);
    assert.equal(after.length, 1, `${what}: ${after.join('\n')}`);
    const share = filtered ? '49.2' : '44.4';
    assert.equal(after[0], `not ranked: (idle) 160.0 ms (${share}%), CPU time on samples taken while the thread was idle (no function's work)`, what);
  }
});

test('profile top --type wall: (idle) carries no wall time, and nothing is said apart', async () => {
  const r = await tracewell(['profile', 'top', linkedProfile(), '--type', 'wall']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const { rows, after } = table(r.stdout);
  assert.ok(!rows.some((x) => x.fn === '(idle)'));
  assert.equal(rows.filter((x) => x.fn === 'Hash').length, 1);
  assert.deepEqual(after, []);
});

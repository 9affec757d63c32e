// `tracewell agent`: the real bin listens for Datadog and OTLP traces and stops on SIGTERM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cleanup, root, tempDir } from '../exporter/helpers.mjs';

after(cleanup);

test('tracewell agent --port 0 --otlp-port 0: both listeners answer, SIGTERM stops it', async () => {
  const child = spawn(process.execPath, [join(root, 'bin', 'tracewell.js'), 'agent', '--port', '0', '--otlp-port', '0', '--quiet', '--dir', tempDir()], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  const line = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no start line: ${out}`)), 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(t);
        resolve(out.split('\n')[0]);
      }
    });
  });
  try {
    const m = /^tracewell dev agent listening on (http:\/\/127\.0\.0\.1:\d+), OTLP on (http:\/\/127\.0\.0\.1:\d+\/v1\/traces) \(traces kept in /.exec(line);
    assert.ok(m, line);
    const info = await (await fetch(`${m[1]}/info`)).json();
    assert.ok(info.endpoints.includes('/v0.4/traces'));
    // An empty ExportTraceServiceRequest is a valid one.
    const res = await fetch(m[2], { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0) });
    assert.equal(res.status, 200);
  } finally {
    const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    child.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null });
  }
});

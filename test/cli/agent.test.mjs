// `tracewell agent`: the real bin listens for Datadog and OTLP traces and stops on SIGTERM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import net from 'node:net';
import { cleanup, tempDir } from '../exporter/helpers.mjs';
import { root, until } from '../helpers/common.mjs';

after(cleanup);

test('tracewell agent --port 0 --otlp-port 0: both listeners answer, SIGTERM stops it', async () => {
  const child = spawn(process.execPath, [join(root, 'bin', 'tracewell.js'), 'agent', '--port', '0', '--otlp-port', '0', '--quiet', '--dir', tempDir()], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  const line = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no start line: ${out}`)), 60_000);
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

/** Holds `port` on 127.0.0.1 (resolves with the server) or resolves null when something else has it. */
function hold(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(null));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

function runAgent(args) {
  const child = spawn(process.execPath, [join(root, 'bin', 'tracewell.js'), 'agent', '--quiet', '--dir', tempDir(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', (code) => r(code)));
  return { child, exited, out: () => out, err: () => err };
}

test('tracewell agent: a taken OTLP port named with --otlp-port stops it with a message naming the port and the option', async () => {
  const blocker = await hold(0);
  const port = blocker.address().port;
  try {
    const agent = runAgent(['--port', '0', '--otlp-port', String(port)]);
    assert.equal(await agent.exited, 1);
    assert.equal(agent.err(), `tracewell agent: cannot listen: 127.0.0.1:${port} is in use by another program; choose another with --otlp-port (0 = any free port)\n`);
  } finally {
    blocker.close();
  }
});

test('tracewell agent on 8126 with 4318 taken: it runs, and says the OTLP listener was not opened and why', async (t) => {
  const free8126 = await hold(8126);
  if (free8126 === null) return t.skip('port 8126 is in use on this machine: the default pair cannot be tried');
  free8126.close();
  const blocker = await hold(4318); // null: something else holds 4318, the same situation
  const agent = runAgent([]);
  try {
    await until(() => agent.out().split('\n').length >= 3 || agent.child.exitCode !== null, 'two lines from the agent', 10_000);
    const [first, second] = agent.out().split('\n');
    assert.match(first, /^tracewell dev agent listening on http:\/\/127\.0\.0\.1:8126 \(traces kept in /);
    assert.equal(second, 'OTLP listener not opened: 127.0.0.1:4318 is in use by another program; OTLP traces are not received (--otlp-port N, or 0 for any free port)');
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
    blocker?.close();
  }
});

test("tracewell agent prints its page's address, serves the page there, and refuses a bad --max-traces", async () => {
  const agent = runAgent(['--port', '0', '--otlp-port', '0', '--max-traces', '50']);
  try {
    await until(() => agent.out().includes('/ui') || agent.child.exitCode !== null, 'the page line', 10_000);
    const m = /^open (http:\/\/127\.0\.0\.1:\d+\/ui) to look at traces, profiles, probes and export health \(this machine only; the last 50 traces\)$/m.exec(agent.out());
    assert.ok(m, agent.out());
    const res = await fetch(m[1]);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<title>Traces · Tracewell dev agent<\/title>/);
  } finally {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
  const none = runAgent(['--port', '0', '--otlp-port', '0', '--no-ui']);
  try {
    await until(() => none.out().includes('listening') || none.child.exitCode !== null, 'the start line', 10_000);
    await new Promise((r) => setTimeout(r, 200));
    assert.doesNotMatch(none.out(), /\/ui/);
  } finally {
    none.child.kill('SIGTERM');
    await none.exited;
  }
  for (const bad of ['0', 'many']) {
    const r = runAgent(['--port', '0', '--otlp-port', '0', '--max-traces', bad]);
    assert.equal(await r.exited, 2);
    assert.match(r.out(), /^--max-traces must be a whole number from 1 to 1000000/);
  }
});

test('tracewell agent --host 0.0.0.0 warns that what it receives is readable by anyone who can reach the port; loopback does not', async () => {
  const open = runAgent(['--port', '0', '--otlp-port', '0', '--host', '0.0.0.0']);
  try {
    await until(() => open.out().includes('\n') || open.child.exitCode !== null, 'the start line', 10_000);
    assert.match(open.err(), /^tracewell agent: warning: listening on 0\.0\.0\.0, not on this machine's loopback: anyone who can reach port \d+ can send it data, and what it received \(traces with their tags, probe snapshots with captured values, profiles\) is kept in /);
  } finally {
    open.child.kill('SIGTERM');
    await open.exited;
  }
  const local = runAgent(['--port', '0', '--otlp-port', '0']);
  try {
    await until(() => local.out().includes('\n') || local.child.exitCode !== null, 'the start line', 10_000);
    assert.match(local.out(), /listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.equal(local.err(), '');
  } finally {
    local.child.kill('SIGTERM');
    await local.exited;
  }
});

test('tracewell agent without --port takes TRACEWELL_AGENT_PORT (read through src/config); a bad one is reported once and 8126 used', async () => {
  const child = spawn(process.execPath, [join(root, 'bin', 'tracewell.js'), 'agent', '--otlp-port', '0', '--quiet', '--dir', tempDir()], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, TRACEWELL_AGENT_PORT: '0' },
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const exited = new Promise((r) => child.once('exit', (code) => r(code)));
  try {
    await until(() => out.includes('\n') || child.exitCode !== null, 'the start line', 10_000);
    assert.match(out, /^tracewell dev agent listening on http:\/\/127\.0\.0\.1:(\d+)/);
    assert.notEqual(/:(\d+),/.exec(out)?.[1], '8126', 'port 0: any free port');
    assert.equal(err, '');
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
  // A bad value: checked without listening (8126 may be taken here).
  const { cliSettings, describeProblem } = await import(join(root, 'dist', 'cjs', 'config', 'resolve.js')).then((m) => m.default ?? m);
  const bad = cliSettings({ TRACEWELL_AGENT_PORT: 'eighty' });
  assert.equal(bad.agentPort, 8126);
  assert.deepEqual(bad.problems.map(describeProblem), ['TRACEWELL_AGENT_PORT="eighty" is not accepted (expected a port number from 0 to 65535); using 8126']);
  assert.equal(cliSettings({ TRACEWELL_AGENT_PORT: '9000' }).agentPort, 9000);
  assert.equal(cliSettings({}).agentPort, 8126);
});

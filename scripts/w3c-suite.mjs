// Runs the W3C trace-context conformance suite (github.com/w3c/trace-context, its test/ folder)
// against a node:http service traced by Tracewell, as a pure W3C participant
// (DD_TRACE_PROPAGATION_STYLE=tracecontext), at spec level 2, strictness level 2.
//
//   npm run build && node scripts/w3c-suite.mjs <path to a checkout of w3c/trace-context, or its test/ folder>
//
// The suite is not part of this repository: check it out (or extract its test/ folder) anywhere
// outside it. It needs Python 3 with aiohttp (Debian: python3-aiohttp); the interpreter is
// $PYTHON, else the first of python3, /usr/bin/python3 that can import aiohttp. This script
// builds nothing: it runs dist/ as it is. Extra arguments go to test.py (test names to run).
// The harness listens on 127.0.0.1:7777 unless HARNESS_PORT says otherwise.
// Exit status: test.py's (0 when every test passed).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const [where, ...names] = process.argv.slice(2);
if (!where) {
  process.stderr.write('usage: node scripts/w3c-suite.mjs <w3c/trace-context checkout or its test/ folder> [test names]\n');
  process.exit(2);
}
const suiteDir = [resolve(where, 'test'), resolve(where)].find((d) => existsSync(join(d, 'test.py')));
if (suiteDir === undefined) {
  process.stderr.write(`no test.py in ${where} or ${join(where, 'test')}\n`);
  process.exit(2);
}
const register = join(root, 'dist', 'cjs', 'register.js');
if (!existsSync(register)) {
  process.stderr.write('dist/cjs/register.js is missing: run `npm run build` first\n');
  process.exit(2);
}
const python = [process.env.PYTHON, 'python3', '/usr/bin/python3'].find((p) => p && spawnSync(p, ['-c', 'import aiohttp'], { stdio: 'ignore' }).status === 0);
if (python === undefined) {
  process.stderr.write('no Python 3 with aiohttp found (set PYTHON, or install python3-aiohttp)\n');
  process.exit(2);
}

// A stand-in agent on loopback, so the traced service's exports go somewhere and are dropped.
const agent = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise((r) => agent.listen(0, '127.0.0.1', r));

const service = spawn(process.execPath, ['--require', register, join(root, 'test', 'fixtures', 'apps', 'w3c-service.cjs')], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: {
    ...process.env,
    PORT: '0',
    DD_SERVICE: 'w3c-suite',
    DD_TRACE_PROPAGATION_STYLE: 'tracecontext',
    DD_TRACE_AGENT_URL: `http://127.0.0.1:${agent.address().port}`,
    TRACEWELL_DLQ_ENABLED: 'false',
    TRACEWELL_PROFILING_ENABLED: 'false',
  },
});
const port = await new Promise((resolvePort, reject) => {
  let out = '';
  service.stdout.setEncoding('utf8');
  service.stdout.on('data', (c) => {
    out += c;
    const m = /listening (\d+)/.exec(out);
    if (m) resolvePort(Number(m[1]));
  });
  service.on('exit', (code) => reject(new Error(`the service exited (${code}) before listening`)));
});

const endpoint = `http://127.0.0.1:${port}/test`;
process.stdout.write(`service under test: ${endpoint} (Tracewell, DD_TRACE_PROPAGATION_STYLE=tracecontext); suite: ${suiteDir}; ${python}\n`);
const suite = spawn(python, ['test.py', endpoint, ...names], {
  cwd: suiteDir,
  stdio: 'inherit',
  env: { ...process.env, SERVICE_ENDPOINT: endpoint, STRICT_LEVEL: '2', SPEC_LEVEL: '2' },
});
const status = await new Promise((r) => suite.on('exit', (code, signal) => r(code ?? (signal ? 1 : 0))));
service.kill('SIGTERM');
agent.close();
process.exit(status);

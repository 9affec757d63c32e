// `npm run demo`: starts the Tracewell dev agent, a Fastify users API and the profiles service
// it calls (each traced by the preload alone), drives real traffic, and prints the traces
// the agent received. Needs nothing but `npm install`.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { startDevAgent, formatTrace } = require('../dist/cjs/dev-agent/index.js');

const out = (line) => process.stdout.write(line + '\n');
const agent = await startDevAgent({ port: 0, dir: join(here, '..', '.tracewell', 'demo-agent') });
out(`dev agent listening on ${agent.url}`);

const children = [];
function start(file, preload, env) {
  return new Promise((resolve, reject) => {
    const child = fork(join(here, file), [], {
      execArgv: [preload, 'tracewell/register'],
      env: { ...process.env, DD_TRACE_AGENT_URL: agent.url, DD_ENV: 'demo', DD_VERSION: '1.0.0', TRACEWELL_FLUSH_INTERVAL_MS: '200', PORT: '0', ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    child.once('message', (m) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

try {
  const profilesPort = await start('users-api/profiles.cjs', '--require', { DD_SERVICE: 'profiles' });
  const memberPort = await start('member-service/server.cjs', '--require', { DD_SERVICE: 'member-service' });
  const usersPort = await start('users-api/server.mjs', '--import', {
    DD_SERVICE: 'users-api',
    PROFILES_URL: `http://127.0.0.1:${profilesPort}`,
    MEMBER_SERVICE: `127.0.0.1:${memberPort}`,
  });
  out(`users-api (Fastify, ESM) on :${usersPort} calls profiles (node:http, CJS) on :${profilesPort} and member-service (gRPC, CJS) on :${memberPort}; sending traffic...\n`);
  for (const path of ['/users/1', '/users/2', '/users/3', '/users/boom', '/users/1/visits']) {
    const res = await fetch(`http://127.0.0.1:${usersPort}${path}`);
    out(`GET ${path} -> ${res.status} ${await res.text()}`);
  }
  out('');
  // /users/1..3: users-api server span, its fetch and gRPC client spans, and the profiles and
  // member-service server spans (5 each); /users/boom: 1; /users/1/visits: 3.
  await agent.waitForSpans(19, 10_000);
  // Each service sent its own part of a trace; put them back together by trace id.
  const traces = new Map();
  for (const span of agent.allSpans()) {
    const id = span.trace_id.toString();
    traces.set(id, [...(traces.get(id) ?? []), span]);
  }
  for (const spans of traces.values()) out(formatTrace(spans, process.stdout.isTTY) + '\n');
  out(`the agent received ${traces.size} traces, ${agent.allSpans().length} spans from 4 services; kept in .tracewell/demo-agent/`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await agent.close();
}

// The demo's three services, each traced by the preload alone: the Fastify users API (ES
// module), the node:http profiles service it calls with fetch, and the gRPC member service.
// Profiling is on (linked mode: samples carry their span and endpoint), and two dynamic probes
// are defined: one puts the users API's caller on its span (the API key redacted), one logs
// each profile lookup with a snapshot (the service token redacted). Used by `npm run demo`
// (examples/demo.mjs), the dev agent page's test and the README's screenshots.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

/** 1-based line of the first line of an example file that holds `text`. */
export function lineOf(file, text) {
  const i = readFileSync(join(here, file), 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`no "${text}" in examples/${file}`);
  return i + 1;
}

/** The probes: ids are their text (compact form, docs/dynamic-probes.md). */
export const probes = {
  caller: `examples/users-api/server.mjs:${lineOf('users-api/server.mjs', 'const { id } = request.params;')} caller`,
  lookup: `log examples/users-api/profiles.cjs:${lineOf('users-api/profiles.cjs', 'const profile = match && profiles[match[1]];')} profile lookup for user {match[1]}`,
};

/**
 * Starts the three services against the agent at `agentUrl`. `env` is added to each one's
 * environment (e.g. a shorter profile period); `stdio` is fork's for stdout and stderr.
 * Resolves with their ports and `stop()`.
 */
export async function startDemoServices({ agentUrl, env = {}, stdio = 'inherit' }) {
  const children = [];
  const start = (file, preload, own) =>
    new Promise((resolve, reject) => {
      const child = fork(join(here, file), [], {
        cwd: join(here, '..'),
        execArgv: [preload, 'tracewell/register'],
        env: {
          ...process.env,
          DD_TRACE_AGENT_URL: agentUrl,
          DD_ENV: 'demo',
          DD_VERSION: '1.0.0',
          TRACEWELL_FLUSH_INTERVAL_MS: '200',
          DD_PROFILING_ENABLED: 'true',
          TRACEWELL_PROFILING_MODE: 'linked',
          DD_PROFILING_UPLOAD_PERIOD: '5',
          PORT: '0',
          ...own,
          ...env,
        },
        stdio: ['ignore', stdio, stdio, 'ipc'],
      });
      children.push(child);
      child.once('message', (m) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    });
  const stop = () =>
    Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.removeAllListeners('exit');
            c.once('exit', resolve);
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
  try {
    const profiles = await start('users-api/profiles.cjs', '--require', { DD_SERVICE: 'profiles', TRACEWELL_PROBES: probes.lookup });
    const member = await start('member-service/server.cjs', '--require', { DD_SERVICE: 'member-service' });
    const users = await start('users-api/server.mjs', '--import', {
      DD_SERVICE: 'users-api',
      PROFILES_URL: `http://127.0.0.1:${profiles}`,
      MEMBER_SERVICE: `127.0.0.1:${member}`,
      TRACEWELL_PROBES: probes.caller,
    });
    return { users, profiles, member, children, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One request to the users API, as a client with an API key would send it. */
export async function get(usersPort, path) {
  const res = await fetch(`http://127.0.0.1:${usersPort}${path}`, { headers: { 'x-api-key': 'demo-key-4f9a2c' } });
  return { status: res.status, body: await res.text() };
}

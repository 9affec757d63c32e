/** `tracewell agent`: the local dev agent in the foreground. */
import { resolve } from 'node:path';
import { startDevAgent } from '../dev-agent/index';
import { listenProblem } from '../dev-agent/server';
import { cliSettings, reportProblems } from '../config/resolve';

export const usage = `tracewell agent [--port 8126] [--otlp-port 4318] [--host 127.0.0.1] [--dir .tracewell/agent] [--max-traces 1000] [--no-ui] [--quiet]
  A local stand-in for the Datadog Agent: decodes and type-checks every payload, prints each
  trace as a tree (the parts every service sent, merged), keeps what it received in --dir, and
  serves a page on the same port (/ui, this machine only) with the traces as waterfalls,
  profiles as flame graphs, probe statuses and captures, and export health. Keeps the last
  --max-traces traces in memory (older ones are dropped and counted). Takes OTLP/HTTP traces
  on --otlp-port (POST /v1/traces; 0 = any free port). --port defaults to
  TRACEWELL_AGENT_PORT, else 8126. Listens on loopback only unless --host names another
  address (then it warns: what it receives is readable by whoever can reach it; the page
  still answers this machine only).`;

export async function run(args: string[], out: (s: string) => void): Promise<number> {
  let port: number | undefined;
  let host = '127.0.0.1';
  let dir = resolve('.tracewell', 'agent');
  let quiet = false;
  let otlpPort: number | undefined;
  let maxTraces = 1000;
  let ui = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--port') port = Number(args[++i]);
    else if (a === '--host') host = args[++i];
    else if (a === '--dir') dir = resolve(args[++i]);
    else if (a === '--otlp-port') otlpPort = Number(args[++i]);
    else if (a === '--quiet') quiet = true;
    else if (a === '--max-traces') maxTraces = Number(args[++i]);
    else if (a === '--no-ui') ui = false;
    else {
      out(`unknown option ${a}\n${usage}`);
      return 2;
    }
  }
  if (port === undefined) {
    // TRACEWELL_AGENT_PORT is read by src/config, like every variable: a bad one is reported and 8126 used.
    const settings = cliSettings();
    reportProblems(settings.problems);
    port = settings.agentPort;
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    out(`--port must be a port number from 0 to 65535\n${usage}`);
    return 2;
  }
  if (otlpPort !== undefined && (!Number.isInteger(otlpPort) || otlpPort < 0 || otlpPort > 65535)) {
    out(`--otlp-port must be a port number from 0 to 65535\n${usage}`);
    return 2;
  }
  if (!Number.isInteger(maxTraces) || maxTraces < 1 || maxTraces > 1_000_000) {
    out(`--max-traces must be a whole number from 1 to 1000000\n${usage}`);
    return 2;
  }
  let agent: Awaited<ReturnType<typeof startDevAgent>>;
  try {
    // Nothing is recorded beyond the store's bounds: this agent may run for days.
    agent = await startDevAgent({ port, host, dir, ...(otlpPort !== undefined ? { otlpPort } : {}), print: quiet ? false : (t) => out(t + '\n'), maxTraces, record: false, ui });
  } catch (err) {
    const failedPort = otlpPort !== undefined && (err as { port?: number }).port === otlpPort ? otlpPort : port;
    const flag = failedPort === port ? '--port' : '--otlp-port';
    process.stderr.write(`tracewell agent: cannot listen: ${listenProblem(err, host, failedPort)}; choose another with ${flag} (0 = any free port)\n`);
    return 1;
  }
  // Stop handlers first: whoever reads the start-up lines may signal at once.
  const stopped = new Promise<void>((done) => {
    const stop = (): void => {
      agent.close().then(done, done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  if (!isLoopback(host)) {
    process.stderr.write(
      `tracewell agent: warning: listening on ${host}, not on this machine's loopback: anyone who can reach port ${agent.port} can send it data, and what it received (traces with their tags, probe snapshots with captured values, profiles) is kept in ${dir} and printed here (the page at /ui still answers this machine only). Use --host 127.0.0.1 unless other machines must send to it.\n`,
    );
  }
  out(`tracewell dev agent listening on ${agent.url}${agent.otlpUrl !== null ? `, OTLP on ${agent.otlpUrl}/v1/traces` : ''} (traces kept in ${dir})`);
  if (agent.otlpError !== null) out(`OTLP listener not opened: ${agent.otlpError}; OTLP traces are not received (--otlp-port N, or 0 for any free port)`);
  if (agent.uiUrl !== null) out(`open ${agent.uiUrl} to look at traces, profiles, probes and export health (this machine only; the last ${maxTraces} traces)`);
  await stopped;
  return 0;
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * `tracewell doctor`: what the SDK would do in this environment. The resolved configuration
 * with where each value came from, values that were not accepted, whether the agent (or the
 * OTLP endpoint) answers and what its `/info` says, the state of the dead-letter folder, and
 * one verdict line per check (`ok`, `warn`, `FAIL`). Exit code 1 when a check failed.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describeProblem, resolveConfig } from '../config/resolve';
import type { ResolvedConfig, TracewellOptions } from '../config/options';
import { fetchAgentInfo } from '../delivery/datadog-agent';
import { tracesPath, V05_PATH } from '../exporter/encoders/datadog-common';
import { serviceFolder } from '../delivery/dead-letter/store';
import { formatBytes } from '../delivery/outage-log';
import { classifyError } from '../delivery/retry';
import { Transport } from '../delivery/transport';
import { describeError } from '../internal/logger';
import { pending, readFiles } from './dlq';

export const usage = `tracewell doctor [--agent URL] [--service NAME]
  Checks this environment the way the SDK would see it: the resolved configuration and where
  each value came from, which exporter is used and why, the agent (reachable? its /info:
  version, endpoints, max_request_bytes) or the OTLP endpoint, and the dead-letter folder.
  Exit code 1 when a check failed.`;

const TIMEOUT_MS = 3000;

type Level = 'ok' | 'warn' | 'FAIL';

function show(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.join(',');
  if (v === undefined) return '(unset)';
  if (v === '') return '(empty)';
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v);
    return entries.length === 0 ? '(none)' : entries.map(([k, x]) => `${k}=${String(x)}`).join(',');
  }
  return String(v);
}

/**
 * Defaults the SDK takes from the app's own process (the folder of `process.argv[1]`): resolved
 * here they would name the CLI's folder (`node_modules/.bin`), so doctor says what they are.
 */
const FROM_THE_APP: Record<string, { what: string; variable: string } | undefined> = {
  profilingSourceMapDirs: { what: "the folder of the app's main script", variable: 'TRACEWELL_PROFILING_SOURCE_MAP_DIRS' },
};

/** OTLP header values are often credentials: only their names are shown. */
function masked(config: ResolvedConfig, key: string): unknown {
  const v = (config as unknown as Record<string, unknown>)[key];
  if (key === 'otlpHeaders') return Object.keys(v as object).map((k) => `${k}=***`);
  return v;
}

/** The flag that sets each option doctor takes. */
const FLAGS: Record<string, string> = { agentUrl: '--agent', service: '--service' };

export async function run(args: string[], out: (s: string) => void): Promise<number> {
  const options: TracewellOptions = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--agent' && args[i + 1]) options.agentUrl = args[++i];
    else if (a === '--service' && args[i + 1]) options.service = args[++i];
    else {
      out(`unknown option ${a}\n${usage}`);
      return 2;
    }
  }
  // Our sockets never hold a process open (see transport.ts): this does, until the end.
  const keep = setInterval(() => undefined, 1 << 30);
  try {
    return await doctor(options, out);
  } finally {
    clearInterval(keep);
  }
}

async function doctor(options: TracewellOptions, out: (s: string) => void): Promise<number> {
  // Options come from the command line here: a message names the flag that gave one.
  const { config, problems } = resolveConfig(options, undefined, { optionName: (field) => FLAGS[field] ?? `--${field}` });
  const verdicts: [Level, string][] = [];
  const verdict = (level: Level, text: string): void => {
    verdicts.push([level, text]);
  };

  out('configuration (value, then where it came from):');
  const keys = Object.keys(config).filter((k) => k !== 'sources' && k !== 'spanProcessors');
  const width = Math.max(...keys.map((k) => k.length));
  for (const k of keys) {
    const source = config.sources[k];
    const app = source === 'default' ? FROM_THE_APP[k] : undefined;
    if (app !== undefined) out(`  ${k.padEnd(width)}  ${app.what}  (default; ${app.variable} sets it)`);
    else out(`  ${k.padEnd(width)}  ${show(masked(config, k))}  (${source === 'option' ? 'command line' : source ?? 'default'})`);
  }
  for (const p of problems) verdict('warn', describeProblem(p));
  if (config.env === '') verdict('warn', 'no environment set (DD_ENV): spans are filed under env:none');
  if (!config.enabled) verdict('warn', `tracing is disabled (${config.sources.enabled})`);

  out('');
  checkExporter(config, out, verdict);
  if (config.exporter === 'otlp') await checkOtlp(config, out, verdict);
  else await checkAgent(config, out, verdict);

  out('');
  checkDeadLetter(config, out, verdict);

  out('');
  for (const [level, text] of verdicts) out(`${level.padEnd(4)}  ${text}`);
  const failed = verdicts.filter(([l]) => l === 'FAIL').length;
  const warned = verdicts.filter(([l]) => l === 'warn').length;
  out(failed > 0 ? `verdict: ${failed} check${failed === 1 ? '' : 's'} failed` : warned > 0 ? `verdict: ready, with ${warned} warning${warned === 1 ? '' : 's'}` : 'verdict: ready');
  return failed > 0 ? 1 : 0;
}

/** Sources of `exporter` that are a choice made by the user; any other (`default`, an endpoint variable) is a rule's. */
const CHOSEN = ['option', 'TRACEWELL_EXPORTER', 'OTEL_TRACES_EXPORTER'];

/** Where a value was set, in words: the variable, or the command line for an option. */
function setBy(source: string): string {
  return source === 'option' ? 'the command line' : source;
}

/**
 * Which exporter, where to, and why (`sources.exporter`: `option`, the variable that chose it,
 * the OTLP endpoint variable that made the resolver pick OTLP, or `default`); a warning when an
 * OTLP endpoint is set and ignored, or set beside an agent with no exporter chosen.
 */
function checkExporter(config: ResolvedConfig, out: (s: string) => void, verdict: (l: Level, t: string) => void): void {
  const source = config.sources.exporter ?? 'default';
  const agentSource = config.sources.agentUrl ?? 'default';
  const otlpSource = config.sources.otlpEndpoint ?? 'default';
  const agentSet = agentSource !== 'default';
  const otlpSet = otlpSource !== 'default';
  const chosen = CHOSEN.includes(source);
  const target = (exporter: string): string => (exporter === 'otlp' ? config.otlpEndpoint : `the agent at ${config.agentUrl}`);
  let why: string;
  if (source === 'option') why = 'the exporter option';
  else if (chosen) why = `${source}=${config.exporter}`;
  else if (source === 'OTEL_EXPORTER_OTLP_ENDPOINT' || source === 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') why = `${source} is set and no agent is`;
  else if (config.exporter === 'datadog' && agentSet) why = `${setBy(agentSource)} is set and no exporter is chosen`;
  else if (source !== 'default') why = `${setBy(source)} is set`;
  else why = `it is the default (no exporter chosen${agentSet || otlpSet ? '' : ', no agent or OTLP endpoint set'})`;
  out(`exporter: ${config.exporter}, to ${target(config.exporter)}, because ${why}`);
  out('');
  if (chosen || !otlpSet) return;
  const other = config.exporter === 'otlp' ? 'datadog' : 'otlp';
  const otherTarget = other === 'otlp' ? config.otlpEndpoint : `the agent at ${config.agentUrl}`;
  if (agentSet) {
    verdict('warn', `an agent (${setBy(agentSource)}) and an OTLP endpoint (${setBy(otlpSource)}) are both set and no exporter is chosen: traces go to ${target(config.exporter)}; set TRACEWELL_EXPORTER=${other} to send them to ${otherTarget} instead, or TRACEWELL_EXPORTER=${config.exporter} to keep ${config.exporter === 'otlp' ? 'the OTLP endpoint' : 'the agent'}`);
  } else if (config.exporter === 'datadog') {
    verdict('warn', `${setBy(otlpSource)} is set but not used: traces go to ${target('datadog')} (the default exporter); set TRACEWELL_EXPORTER=otlp to send them to ${config.otlpEndpoint}`);
  }
}

function unreachable(url: string, err: unknown, where: string): string {
  const a = classifyError(err, false);
  if (a.kind === 'config') return `the host of ${url} does not resolve (${describeError(err)}): check ${where}`;
  return `cannot reach ${url}: ${describeError(err)}; spans would go to the dead-letter file until it answers`;
}

async function checkAgent(config: ResolvedConfig, out: (s: string) => void, verdict: (l: Level, t: string) => void): Promise<void> {
  out(`agent ${config.agentUrl}:`);
  const transport = new Transport(config.agentUrl, TIMEOUT_MS);
  const started = performance.now();
  try {
    const { status, info } = await fetchAgentInfo(transport, TIMEOUT_MS);
    const ms = Math.round(performance.now() - started);
    out(`  GET /info: ${status} in ${ms} ms`);
    if (info === null) {
      if (status === 404) verdict('warn', `the agent at ${config.agentUrl} answers but has no /info (an agent older than 7.28?): endpoints and limits unknown`);
      else verdict(status < 500 ? 'warn' : 'FAIL', `the agent at ${config.agentUrl} answered /info with ${status}`);
      return;
    }
    const endpoints = Array.isArray(info.endpoints) ? info.endpoints : [];
    const max = info.config?.max_request_bytes;
    out(`  version: ${info.version ?? '(not said)'}`);
    out(`  endpoints: ${endpoints.length > 0 ? endpoints.join(' ') : '(not said)'}`);
    out(`  max_request_bytes: ${typeof max === 'number' ? `${max} (${formatBytes(max)})` : '(not said)'}`);
    verdict('ok', `agent reachable at ${config.agentUrl} (version ${info.version ?? 'unknown'}, ${ms} ms)`);
    const path = tracesPath(config.traceProtocol, endpoints.length > 0 ? endpoints : null);
    if (endpoints.length > 0 && !endpoints.includes(path)) verdict('FAIL', `the agent does not list ${path} among its endpoints: traces would be refused`);
    else if (endpoints.length > 0) verdict('ok', `the agent takes ${path}${path === V05_PATH ? ' (string-table encoding, about a third of the bytes of /v0.4)' : ''}`);
    if (typeof max === 'number' && max > 0 && max < config.maxPayloadBytes) verdict('ok', `payloads are kept under the agent's max_request_bytes of ${formatBytes(max)} (maxPayloadBytes is ${formatBytes(config.maxPayloadBytes)})`);
  } catch (err) {
    out(`  GET /info: no answer (${describeError(err)})`);
    verdict('FAIL', unreachable(config.agentUrl, err, 'DD_AGENT_HOST / DD_TRACE_AGENT_URL'));
  } finally {
    await transport.destroy();
  }
}

async function checkOtlp(config: ResolvedConfig, out: (s: string) => void, verdict: (l: Level, t: string) => void): Promise<void> {
  out(`OTLP endpoint ${config.otlpEndpoint}:`);
  const transport = new Transport(config.otlpEndpoint, TIMEOUT_MS);
  try {
    // An empty ExportTraceServiceRequest: valid, and exports nothing.
    const res = await transport.request({ method: 'POST', path: '', headers: { ...config.otlpHeaders, 'Content-Type': 'application/x-protobuf' }, body: Buffer.alloc(0), timeoutMs: TIMEOUT_MS });
    out(`  POST (empty request): ${res.status}`);
    if (res.status >= 200 && res.status < 300) verdict('ok', `OTLP endpoint ${config.otlpEndpoint} takes traces`);
    else verdict('FAIL', `OTLP endpoint ${config.otlpEndpoint} answered ${res.status}${res.body ? ': ' + res.body.slice(0, 200) : ''}`);
  } catch (err) {
    out(`  POST: no answer (${describeError(err)})`);
    verdict('FAIL', unreachable(config.otlpEndpoint, err, 'OTEL_EXPORTER_OTLP_ENDPOINT'));
  } finally {
    await transport.destroy();
  }
}

/** The nearest folder that exists at or above `p`. */
function existing(p: string): string {
  let d = p;
  while (!existsSync(d)) {
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return d;
}

function checkDeadLetter(config: ResolvedConfig, out: (s: string) => void, verdict: (l: Level, t: string) => void): void {
  const folder = join(config.dlqDir, serviceFolder(config.service));
  out(`dead-letter folder ${folder}:`);
  if (!config.dlqEnabled) {
    out('  off');
    verdict('warn', `the dead-letter file is off (${config.sources.dlqEnabled}): spans the agent cannot take are dropped`);
    return;
  }
  const probe = existing(folder);
  try {
    accessSync(probe, constants.W_OK | constants.X_OK);
  } catch (err) {
    out(`  ${probe} is not writable (${describeError(err)})`);
    verdict('FAIL', `the dead-letter folder cannot be written (${probe}): during an outage spans would be dropped`);
    return;
  }
  if (!existsSync(folder)) {
    out('  not created yet (nothing was ever dead-lettered)');
    verdict('ok', `dead-letter folder ${folder} can be created, empty`);
    return;
  }
  const files = readFiles(folder, undefined);
  const live = files.filter((f) => !f.rejected && (f.kind === 'dd' || f.kind === 'otlp'));
  const rejected = files.filter((f) => f.rejected);
  const orphanSpans = live.filter((f) => !f.alive).reduce((a, f) => a + pending(f).reduce((b, r) => b + r.items, 0), 0);
  const runningSpans = live.filter((f) => f.alive).reduce((a, f) => a + pending(f).reduce((b, r) => b + r.items, 0), 0);
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  const damaged = files.reduce((a, f) => a + f.skipped, 0);
  out(`  ${files.length} file${files.length === 1 ? '' : 's'}, ${formatBytes(bytes)} of ${formatBytes(config.dlqMaxBytes)}`);
  out(`  ${orphanSpans} spans waiting from exited processes, ${runningSpans} held by running ones, ${rejected.length} rejected file${rejected.length === 1 ? '' : 's'}`);
  verdict('ok', `dead-letter folder ${folder} is writable`);
  if (orphanSpans > 0) verdict('warn', `${orphanSpans} dead-lettered spans of exited processes: the next process of "${config.service}" replays them once the agent answers, or run \`tracewell dlq replay\``);
  if (rejected.length > 0) verdict('warn', `${rejected.length} rejected file${rejected.length === 1 ? '' : 's'} (payloads the agent refused as malformed): see \`tracewell dlq show\``);
  if (damaged > 0) verdict('warn', `${damaged} damaged record${damaged === 1 ? '' : 's'} (a write torn by a crash) will be skipped`);
  if (bytes > config.dlqMaxBytes * 0.9) verdict('warn', `the dead-letter folder is at ${Math.round((bytes / config.dlqMaxBytes) * 100)}% of TRACEWELL_DLQ_MAX_BYTES: the oldest payloads are evicted next`);
}

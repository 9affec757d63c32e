/**
 * `tracewell dlq ls|show|replay|purge [dir]`: the dead-letter files by hand.
 *
 * `dir` is the dead-letter root (`TRACEWELL_DLQ_DIR`, one folder per service) or one service's
 * folder; without it, the root the SDK would use with this environment. Files of a process
 * that still runs are shown but never replayed or removed: that process owns them. Replay
 * claims a file the way the SDK adopts one (an atomic rename under a lock file of its own), so
 * a traced process starting meanwhile never sends the same records. A folder or file that is
 * not this user's (or is a link, or writable by others) is named and left alone: never read,
 * replayed or removed, the same checks the SDK makes.
 */
import { existsSync, lstatSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveConfig } from '../config/resolve';
import type { ResolvedConfig } from '../config/options';
import { logger } from '../internal/logger';
import { decodeTraces, type DecodedSpan } from '../dev-agent/decode-traces';
import { decodeOtlpTraces, otlpToDecoded } from '../dev-agent/decode-otlp';
import { formatTrace } from '../dev-agent/print';
import { DatadogDestination } from '../exporter/agent-exporter';
import { OtlpDestination } from '../exporter/otlp-exporter';
import { ProfileDestination } from '../profiler/upload';
import { DebuggerDestination } from '../dynamic/intake';
import { DeadLetterStore, parseName, readOwn, type StreamKind } from '../delivery/dead-letter/store';
import { KIND_DATADOG, KIND_OTLP, scanRecords, STATE_PENDING, type ScannedRecord } from '../delivery/dead-letter/framing';
import { filePathProblem, ownFolderProblem, UnsafePathError } from '../delivery/dead-letter/private-fs';
import { diskBody, payloadFromDisk, type Destination } from '../delivery/destination';
import { isV05 } from '../exporter/encoders/datadog-common';
import { ownerAlive } from '../delivery/dead-letter/owner';
import { formatBytes } from '../delivery/outage-log';
import { deliver, type RetryPolicy } from '../delivery/retry';
import { Transport } from '../delivery/transport';

export const usage = `tracewell dlq ls|show|replay|purge [dir] [options]
  Dead-letter files: payloads kept while the agent could not take them. [dir] is the
  dead-letter root (TRACEWELL_DLQ_DIR, one folder per service) or one service's folder;
  default: the root the SDK uses with this environment.
    ls                      files: owner process (running or exited), records, spans, bytes, damage
    show [--limit N]        the records, decoded (span trees); N records at most (default 20)
    replay [--agent URL] [--otlp URL]
                            sends the pending records (default: the agent/OTLP URL the SDK would
                            use), removing each only once accepted; files of running processes
                            are left to them
    purge --yes [--rejected-only]
                            removes the files of exited processes (without --yes: lists them)
    --service NAME          only this service's folder`;

interface Options {
  dir: string | undefined;
  service: string | undefined;
  limit: number;
  agent: string | undefined;
  otlp: string | undefined;
  yes: boolean;
  rejectedOnly: boolean;
}

/** A `.dlq` file as found on disk. */
export interface FileInfo {
  service: string;
  folder: string;
  name: string;
  path: string;
  kind: StreamKind;
  rejected: boolean;
  pid: number;
  run: string;
  /** When the file was started (ms since the epoch, from its name). */
  time: number;
  alive: boolean;
  bytes: number;
  records: ScannedRecord[];
  skipped: number;
  tornTail: boolean;
}

function parseArgs(args: string[]): Options | string {
  const o: Options = { dir: undefined, service: undefined, limit: 20, agent: undefined, otlp: undefined, yes: false, rejectedOnly: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string | undefined => args[++i];
    if (a === '--service') o.service = value();
    else if (a === '--limit') o.limit = Number(value());
    else if (a === '--agent') o.agent = value();
    else if (a === '--otlp') o.otlp = value();
    else if (a === '--yes' || a === '-y') o.yes = true;
    else if (a === '--rejected-only') o.rejectedOnly = true;
    else if (a.startsWith('-')) return `unknown option ${a}`;
    else if (o.dir === undefined) o.dir = a;
    else return `unexpected argument ${a}`;
  }
  if (!Number.isInteger(o.limit) || o.limit < 0) return '--limit must be a whole number';
  for (const [flag, v] of [['--service', o.service], ['--agent', o.agent], ['--otlp', o.otlp]] as const) {
    if (v === '') return `${flag} needs a value`;
  }
  if (args.includes('--service') && o.service === undefined) return '--service needs a value';
  return o;
}

/** Folders and files found not to be ours, with what is wrong: named in the output, never touched. */
const refusals: string[] = [];

/** Whether a folder may be read: ours, a real folder, not writable by others. */
function folderOk(folder: string): boolean {
  let problem: string | null;
  try {
    problem = ownFolderProblem(lstatSync(folder));
  } catch {
    return false;
  }
  if (problem !== null) refusals.push(`${folder} ${problem}: not read`);
  return problem === null;
}

/** Service folders under `dir`: the folder itself when it holds `.dlq` files, else its subfolders. */
function serviceFolders(dir: string, service: string | undefined): { service: string; folder: string }[] {
  let names: string[];
  if (!folderOk(dir)) return [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  if (names.some((n) => parseName(n) !== null || n.endsWith('.owner'))) {
    const name = dir.split(/[\\/]/).filter(Boolean).pop() ?? dir;
    return service === undefined || service === name ? [{ service: name, folder: dir }] : [];
  }
  const out: { service: string; folder: string }[] = [];
  for (const n of names.sort()) {
    if (service !== undefined && n !== service) continue;
    const folder = join(dir, n);
    try {
      if (statSync(folder).isDirectory() && folderOk(folder)) out.push({ service: n, folder });
    } catch {
      /* removed meanwhile */
    }
  }
  return out;
}

export function readFiles(dir: string, service: string | undefined): FileInfo[] {
  const out: FileInfo[] = [];
  const alive = new Map<string, boolean>();
  for (const { service: svc, folder } of serviceFolders(dir, service)) {
    let names: string[];
    try {
      names = readdirSync(folder).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const p = parseName(name);
      if (p === null) continue;
      const path = join(folder, name);
      let buf: Buffer;
      const problem = filePathProblem(path);
      if (problem !== null) {
        refusals.push(`${path} ${problem}: not read`);
        continue;
      }
      try {
        buf = readOwn(path);
      } catch (err) {
        if (err instanceof UnsafePathError) refusals.push(`${path} ${err.problem}: not read`);
        continue;
      }
      const owner = `${p.pid}-${p.run}`;
      let live = alive.get(owner);
      if (live === undefined) {
        live = ownerAlive(p.pid, p.run, join(folder, `${owner}.owner`), null);
        alive.set(owner, live);
      }
      const { records, skipped, tornTail } = scanRecords(buf);
      out.push({ service: svc, folder, name, path, kind: p.kind, rejected: p.rejected, pid: p.pid, run: p.run, time: p.time, alive: live, bytes: buf.length, records, skipped, tornTail });
    }
  }
  return out;
}

export const pending = (f: FileInfo): ScannedRecord[] => f.records.filter((r) => r.state === STATE_PENDING);
const sum = (rs: ScannedRecord[], k: 'items' | 'traces'): number => rs.reduce((a, r) => a + r[k], 0);

/** What a kind's items are called. */
const UNITS: Record<StreamKind, string> = { dd: 'spans', otlp: 'spans', profile: 'profiles', snapshots: 'snapshots', statuses: 'statuses' };
const KIND_NAMES: Record<StreamKind, string> = { dd: 'datadog', otlp: 'otlp', profile: 'profile', snapshots: 'probe snapshots', statuses: 'probe statuses' };

function ls(files: FileInfo[], dir: string, out: (s: string) => void): number {
  if (files.length === 0) {
    out(`no dead-letter files in ${dir}`);
    return 0;
  }
  let folder = '';
  for (const f of files) {
    if (f.folder !== folder) {
      folder = f.folder;
      out(`${f.folder} (service ${f.service})`);
    }
    const p = pending(f);
    const damage = f.skipped > 0 ? `, ${f.skipped} damaged record${f.skipped === 1 ? '' : 's'}${f.tornTail ? ' (torn tail)' : ''}` : '';
    const what = f.rejected ? `rejected ${KIND_NAMES[f.kind]}` : KIND_NAMES[f.kind];
    out(
      `  ${f.name}  ${what}  pid ${f.pid} ${f.alive ? 'running' : 'exited'}  ${p.length} pending record${p.length === 1 ? '' : 's'} (${sum(p, 'items')} ${UNITS[f.kind]}), ${f.records.length - p.length} done, ${f.bytes} bytes${damage}`,
    );
  }
  const traceFiles = files.filter((f) => f.kind === 'dd' || f.kind === 'otlp');
  const all = files.flatMap(pending);
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  out(`${files.length} file${files.length === 1 ? '' : 's'}, ${all.length} pending records, ${sum(traceFiles.flatMap(pending), 'items')} spans, ${formatBytes(bytes)}`);
  return 0;
}

/**
 * What `tracewell dlq ls` prints for `dir` (the lines), with the files it read and the folders
 * and files it refused; the dev agent's page shows the same.
 */
export function lsReport(dir: string): { files: FileInfo[]; lines: string[]; refused: string[] } {
  if (!existsSync(dir)) return { files: [], lines: [`no dead-letter folder at ${dir}`], refused: [] };
  refusals.length = 0;
  const files = readFiles(dir, undefined);
  const lines: string[] = [];
  ls(files, dir, (s) => lines.push(s));
  const refused = [...new Set(refusals)];
  refusals.length = 0;
  return { files, lines, refused };
}

function decodeRecord(r: ScannedRecord): DecodedSpan[][] | null {
  if (r.kind === KIND_DATADOG) return decodeTraces(r.body).filter((t) => t.length > 0);
  if (r.kind !== KIND_OTLP) return null;
  const byTrace = new Map<string, DecodedSpan[]>();
  for (const s of decodeOtlpTraces(r.body)) {
    const list = byTrace.get(s.traceId) ?? [];
    list.push(otlpToDecoded(s));
    byTrace.set(s.traceId, list);
  }
  return [...byTrace.values()];
}

function show(files: FileInfo[], dir: string, limit: number, out: (s: string) => void): number {
  if (files.length === 0) {
    out(`no dead-letter files in ${dir}`);
    return 0;
  }
  let shown = 0;
  let total = 0;
  for (const f of files) {
    out(`${f.path}  (pid ${f.pid} ${f.alive ? 'running' : 'exited'}${f.skipped > 0 ? `, ${f.skipped} damaged record${f.skipped === 1 ? '' : 's'} skipped` : ''})`);
    for (const r of f.records) {
      total++;
      if (shown >= limit) continue;
      shown++;
      const state = r.state === STATE_PENDING ? (f.rejected ? 'rejected' : 'pending') : 'done';
      const kind = r.kind === KIND_DATADOG ? (isV05(r.body) ? 'datadog v0.5' : 'datadog v0.4') : KIND_NAMES[f.kind];
      out(`record at ${r.offset}: ${state}, ${kind}, ${r.kind === KIND_DATADOG || r.kind === KIND_OTLP ? `${r.traces} traces, ` : ''}${r.items} ${UNITS[f.kind]}, ${r.body.length} bytes, written ${new Date(r.time).toISOString()}`);
      try {
        const traces = decodeRecord(r);
        if (traces !== null) for (const t of traces) out(indent(formatTrace(t)));
        else if (f.kind === 'snapshots') out(indent(r.body.toString('utf8').slice(0, 2000)));
      } catch (err) {
        out(`  cannot decode: ${(err as Error).message}`);
      }
    }
  }
  if (total > shown) out(`(${total - shown} more records not shown; --limit ${total} shows them all)`);
  return 0;
}

const indent = (s: string): string => s.replace(/^/gm, '  ');

/** The records of one service and kind, claimed and sent; what was accepted is marked done. */
async function replayStream(service: string, root: string, kind: StreamKind, destination: Destination, url: string, out: (s: string) => void): Promise<{ sent: number; items: number; rejected: number; left: boolean; error: string | null }> {
  const store = new DeadLetterStore({ root, service, kind, maxBytes: Number.MAX_SAFE_INTEGER });
  const transport = new Transport(url);
  const result = { sent: 0, items: 0, rejected: 0, left: false, error: null as string | null };
  const unit = UNITS[kind];
  // Claims the files of exited processes (rename = lock); files of running ones are theirs.
  store.adoptOrphans();
  const policy: RetryPolicy = { retries: 2, deadlineMs: 10_000, backoffMs: 200, maxBackoffMs: 2000, retryStatuses: destination.retryStatuses, rejectUnlisted: destination.rejectUnlisted === true };
  const hooks = { onAttemptFailed: () => undefined, onAttemptSucceeded: () => undefined, mayRetry: () => true };
  try {
    for (;;) {
      const item = store.next();
      if (item === null) break;
      const payload = payloadFromDisk(destination, item);
      const outcome = await deliver(() => destination.send(payload, transport, new AbortController().signal), policy, hooks);
      if (outcome.kind === 'ok') {
        item.done();
        destination.accepted?.(payload, outcome); // an OTLP partial success is reported
        result.sent++;
        result.items += item.items;
      } else if (outcome.kind === 'rejected') {
        store.append(item.body, item.items, item.traces, true);
        item.done();
        result.rejected++;
        out(`  a payload of ${item.items} ${unit} was rejected (${outcome.status}: ${outcome.body.slice(0, 200)}); moved to the rejected file`);
      } else if (outcome.kind === 'too-large') {
        const parts = destination.split?.(payload) ?? null;
        if (parts === null) {
          store.append(item.body, item.items, item.traces, true);
          result.rejected++;
        } else for (const part of parts) store.append(diskBody(destination, part), part.items, part.traces);
        item.done();
      } else {
        result.error = outcome.reason;
        result.left = true;
        store.rewind();
        break;
      }
    }
  } finally {
    store.close();
    await transport.destroy();
  }
  return result;
}

/** Where a kind of payload goes, with this environment's settings. */
function destinationFor(kind: StreamKind, config: ResolvedConfig): { destination: Destination; url: string } {
  switch (kind) {
    case 'dd':
      return { destination: new DatadogDestination({ config, info: { runtimeId: '' } }), url: config.agentUrl };
    case 'otlp':
      return { destination: new OtlpDestination(config), url: config.otlpEndpoint };
    case 'profile':
      return { destination: new ProfileDestination(config.exportTimeoutMs), url: config.agentUrl };
    default:
      return { destination: new DebuggerDestination(kind, config.exportTimeoutMs), url: config.agentUrl };
  }
}

const KINDS: StreamKind[] = ['dd', 'otlp', 'profile', 'snapshots', 'statuses'];

async function replay(dir: string, opts: Options, out: (s: string) => void): Promise<number> {
  const folders = serviceFolders(dir, opts.service);
  if (folders.length === 0) {
    out(`no dead-letter files in ${dir}`);
    return 0;
  }
  let failed = false;
  for (const { service, folder } of folders) {
    const root = resolve(folder, '..');
    const files = readFiles(folder, undefined);
    for (const kind of KINDS) {
      const mine = files.filter((f) => f.kind === kind && !f.rejected);
      const running = mine.filter((f) => f.alive);
      for (const f of running) out(`${f.name}: pid ${f.pid} is running and owns it; left to it`);
      if (!mine.some((f) => !f.alive && pending(f).length > 0)) continue;
      const config = cliConfig({ service, agentUrl: opts.agent, otlpEndpoint: opts.otlp });
      const { destination, url } = destinationFor(kind, config);
      out(`replaying ${service} (${KIND_NAMES[kind]}) to ${url}`);
      const r = await replayStream(service, root, kind, destination, url, out);
      out(`  ${r.sent} payload${r.sent === 1 ? '' : 's'} (${r.items} ${UNITS[kind]}) accepted${r.rejected > 0 ? `, ${r.rejected} rejected` : ''}`);
      if (r.error !== null) {
        failed = true;
        out(`  stopped: ${r.error}; what was not accepted stays in ${folder}`);
      }
    }
  }
  return failed ? 1 : 0;
}

function purge(files: FileInfo[], dir: string, opts: Options, out: (s: string) => void): number {
  const targets = files.filter((f) => !f.alive && (!opts.rejectedOnly || f.rejected));
  for (const f of files) if (f.alive && (!opts.rejectedOnly || f.rejected)) out(`${f.path}: pid ${f.pid} is running and owns it; left alone`);
  if (targets.length === 0) {
    out(`nothing to purge in ${dir}`);
    return 0;
  }
  const spans = targets.filter((f) => f.kind === 'dd' || f.kind === 'otlp').reduce((a, f) => a + (f.rejected ? sum(f.records, 'items') : sum(pending(f), 'items')), 0);
  if (!opts.yes) {
    for (const f of targets) out(`would remove ${f.path}`);
    out(`${targets.length} file${targets.length === 1 ? '' : 's'} (${spans} spans) would be removed: run again with --yes to remove them`);
    return 2;
  }
  let removed = 0;
  for (const f of targets) {
    try {
      unlinkSync(f.path);
      removed++;
    } catch (err) {
      out(`could not remove ${f.path}: ${(err as Error).message}`);
    }
  }
  // Owner files of exited processes with nothing left.
  for (const folder of new Set(targets.map((f) => f.folder))) {
    let names: string[] = [];
    try {
      names = readdirSync(folder);
    } catch {
      /* gone */
    }
    for (const n of names) {
      const m = /^(\d+)-([0-9a-f]{8})\.owner$/.exec(n);
      if (m === null || names.some((x) => x.includes(`-${m[1]}-${m[2]}-`))) continue;
      if (!ownerAlive(Number(m[1]), m[2], join(folder, n), null)) {
        try {
          unlinkSync(join(folder, n));
        } catch {
          /* gone */
        }
      }
    }
  }
  out(`removed ${removed} file${removed === 1 ? '' : 's'} (${spans} spans)`);
  return removed === targets.length ? 0 : 1;
}

/** The configuration the SDK would resolve here, with the CLI's overrides. */
export function cliConfig(over: { service?: string; agentUrl?: string; otlpEndpoint?: string } = {}): ResolvedConfig {
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(over)) if (v !== undefined) options[k] = v;
  return resolveConfig(options).config;
}

export async function run(args: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  const parsed = parseArgs(rest);
  if (typeof parsed === 'string') {
    out(`${parsed}\n${usage}`);
    return 2;
  }
  // Our own warnings (an unwritable folder...) are the CLI's output too.
  logger.setLevel('warn');
  const dir = parsed.dir !== undefined ? resolve(parsed.dir) : cliConfig().dlqDir;
  if (sub !== 'ls' && sub !== 'show' && sub !== 'replay' && sub !== 'purge') {
    out(`${sub === undefined ? 'a subcommand is needed' : `unknown subcommand "${sub}"`}\n${usage}`);
    return 2;
  }
  if (!existsSync(dir)) {
    out(`no dead-letter folder at ${dir}`);
    return sub === 'ls' || sub === 'show' ? 0 : 1;
  }
  refusals.length = 0;
  const code = await (async (): Promise<number> => {
    switch (sub) {
      case 'ls':
        return ls(readFiles(dir, parsed.service), dir, out);
      case 'show':
        return show(readFiles(dir, parsed.service), dir, parsed.limit, out);
      case 'replay': {
        // Our sockets never hold a process open (see transport.ts): this does, until the end.
        const keep = setInterval(() => undefined, 1 << 30);
        try {
          return await replay(dir, parsed, out);
        } finally {
          clearInterval(keep);
        }
      }
      case 'purge':
        return purge(readFiles(dir, parsed.service), dir, parsed, out);
    }
  })();
  for (const r of new Set(refusals)) out(`refused: ${r}`);
  return refusals.length > 0 && code === 0 ? 1 : code;
}

/**
 * The local dev agent: a stand-in for the Datadog Agent on 127.0.0.1. It accepts trace
 * payloads, checks every field type like the real agent (400 with a message naming the
 * field), answers `rate_by_service`, keeps what it received, prints it (traces merged across
 * services), serves a page to look at it (`/ui`, src/dev-agent/ui), and lets tests script its
 * answers (status, delay, dropped connections) to exercise the exporter.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeTraces, type DecodedSpan } from './decode-traces';
import { decodeOtlpTraces, otlpToDecoded, type OtlpSpan } from './decode-otlp';
import { TracePrinter } from './print';
import { AgentStore, DEFAULT_LIMITS } from './store';
import { isLoopbackAddress, isUiPath, serveUi } from './ui/index';
import { decodeProfileUpload, type ReceivedProfile } from './decode-profiles';
import { decodeDiagnostics, decodeSnapshots, type ReceivedDiagnostic, type ReceivedSnapshot } from './debugger-intake';
import { TRACER_VERSION } from '../internal/version';

const MAX_BODY = 25 * 1024 * 1024;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  bytes: number;
  time: number;
  /** The client's port: requests on one keep-alive connection share it. */
  remotePort: number;
}

/** What a scripted answer may do; `null`/`undefined` from the responder = normal handling. */
export interface ScriptedAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Close the connection without an answer. */
  destroy?: boolean;
}

export type Responder = (req: { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: Buffer }) => ScriptedAnswer | null | undefined;

export interface DevAgentOptions {
  /** Default 8126; 0 = any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Folder to keep traces.jsonl / rejected.jsonl in; null = keep nothing. */
  dir?: string | null;
  /**
   * Print each trace as a tree (the parts every service sent merged into one), probe log lines
   * and statuses: true = stdout, or a function that takes each block.
   */
  print?: boolean | ((text: string) => void);
  /**
   * How long the printer waits after a trace's last chunk for the other services' chunks, in ms
   * (at most 5 times this after the first). Default 1500: past the SDK's 1 s flush interval.
   */
  printDelayMs?: number;
  /**
   * Traces kept in memory for the page and the printer; the oldest are dropped past it and
   * counted (`store.evicted`). Default 1000.
   */
  maxTraces?: number;
  /**
   * Also keep everything received in `traces`, `otlpSpans`, `requests`, `rejections`,
   * `profiles`, `snapshots` and `probeDiagnostics`, without a bound (what tests check).
   * Default true; `tracewell agent` sets false, and those lists stay empty.
   */
  record?: boolean;
  /** Serve the page on `/ui` (this machine only). Default true. */
  ui?: boolean;
  /**
   * The dead-letter root the page's export health shows, or null for none. Default: the one
   * the SDK would use with this process's environment (as `tracewell dlq ls`).
   */
  dlqDir?: string | null;
  /** Extra `rate_by_service` entries in every answer. */
  rateByService?: Record<string, number>;
  /**
   * Also accept OTLP/HTTP protobuf traces (`POST /v1/traces`) on this port; 0 = any free port,
   * null = not at all. Default: 4318 when `port` is 8126 (the agent's usual pair), else null.
   */
  otlpPort?: number | null;
}

export interface DevAgent {
  readonly url: string;
  readonly port: number;
  /** Accepted traces, in arrival order (a trace = the spans of one payload entry). */
  readonly traces: DecodedSpan[][];
  readonly requests: RecordedRequest[];
  readonly rejections: { message: string; headers: Record<string, string | string[] | undefined> }[];
  /** The OTLP listener (`http://host:port`, POST `/v1/traces`), or null when off. */
  readonly otlpUrl: string | null;
  /** Why the default OTLP listener could not be opened (its port taken), or null. */
  readonly otlpError: string | null;
  /** Spans received over OTLP, in arrival order, with their resource and scope. */
  readonly otlpSpans: OtlpSpan[];
  /** Profile uploads received on `/profiling/v1/input`, decoded, in arrival order. */
  readonly profiles: ReceivedProfile[];
  waitForProfiles(n: number, timeoutMs?: number): Promise<void>;
  waitForOtlpSpans(n: number, timeoutMs?: number): Promise<void>;
  /** Dynamic-probe snapshots and probe logs received on `/debugger/v1/input`, in arrival order. */
  readonly snapshots: ReceivedSnapshot[];
  /** Probe statuses received on `/debugger/v1/diagnostics`, in arrival order. */
  readonly probeDiagnostics: ReceivedDiagnostic[];
  /** What the page and the printer read: bounded, traces merged across services. */
  readonly store: AgentStore;
  /** The page (`http://127.0.0.1:port/ui`), or null when off. */
  readonly uiUrl: string | null;
  /** Resolves once the printer has printed every trace and probe line it was waiting with. */
  whenPrinted(): Promise<void>;
  allSpans(): DecodedSpan[];
  /** Resolves once `predicate(agent)` is true; rejects after `timeoutMs`. */
  waitFor(predicate: (agent: DevAgent) => boolean, timeoutMs?: number): Promise<void>;
  waitForSpans(n: number, timeoutMs?: number): Promise<void>;
  setResponder(fn: Responder | null): void;
  reset(): void;
  close(): Promise<void>;
}

const bigintJson = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v);

export function startDevAgent(opts: DevAgentOptions = {}): Promise<DevAgent> {
  const host = opts.host ?? '127.0.0.1';
  const dir = opts.dir === undefined ? null : opts.dir;
  if (dir !== null) mkdirSync(dir, { recursive: true });
  const print = opts.print === true ? (t: string) => process.stdout.write(t + '\n') : typeof opts.print === 'function' ? opts.print : null;
  const color = opts.print === true && process.stdout.isTTY === true;
  const record = opts.record !== false;
  const store = new AgentStore({ maxTraces: opts.maxTraces ?? DEFAULT_LIMITS.maxTraces });
  const printer = print === null ? null : new TracePrinter(store, print, color, opts.printDelayMs ?? 1500);
  const uiOn = opts.ui !== false;
  let dlqDir: string | null | undefined = opts.dlqDir;
  const dlqRoot = (): string | null => {
    if (dlqDir === undefined) {
      try {
        // The root the SDK would use here (src/config), resolved when the page first asks.
        dlqDir = (require('../cli/dlq') as typeof import('../cli/dlq')).cliConfig().dlqDir;
      } catch {
        dlqDir = null;
      }
    }
    return dlqDir;
  };
  const traces: DecodedSpan[][] = [];
  const requests: RecordedRequest[] = [];
  const rejections: { message: string; headers: Record<string, string | string[] | undefined> }[] = [];
  const otlpSpans: OtlpSpan[] = [];
  const profiles: ReceivedProfile[] = [];
  const snapshots: ReceivedSnapshot[] = [];
  const probeDiagnostics: ReceivedDiagnostic[] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();
  let responder: Responder | null = null;
  let profileCount = 0;
  const profiled = new Set<string>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };

  function answer(res: ServerResponse, req: IncomingMessage, path: string, status: number, body: unknown, bytes: number, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    if (record) requests.push({ method: req.method ?? '', path, headers: req.headers, status, bytes, time: Date.now(), remotePort: req.socket.remotePort ?? 0 });
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
    notify();
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer, next: typeof route = route): void {
    const path = (req.url ?? '/').split('?')[0];
    if (responder !== null) {
      let scripted: ScriptedAnswer | null | undefined;
      try {
        scripted = responder({ method: req.method ?? '', path, headers: req.headers, body });
      } catch {
        scripted = { status: 500, body: '{"error":"responder threw"}' };
      }
      if (scripted) {
        const go = (): void => {
          if (scripted!.destroy) {
            if (record) requests.push({ method: req.method ?? '', path, headers: req.headers, status: 0, bytes: body.length, time: Date.now(), remotePort: req.socket.remotePort ?? 0 });
            req.socket.destroy();
            notify();
            return;
          }
          if (scripted!.status !== undefined) answer(res, req, path, scripted!.status, scripted!.body ?? '{}', body.length, scripted!.headers);
          else next(req, res, path, body);
        };
        if (scripted.delayMs) setTimeout(go, scripted.delayMs);
        else go();
        return;
      }
    }
    next(req, res, path, body);
  }

  /** OTLP/HTTP: protobuf ExportTraceServiceRequest in, an empty ExportTraceServiceResponse out. */
  function routeOtlp(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): void {
    if (req.method !== 'POST' || path !== '/v1/traces') {
      answer(res, req, path, 404, { error: `no endpoint ${req.method} ${path}` }, body.length);
      return;
    }
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('application/x-protobuf')) {
      answer(res, req, path, 415, { error: `unsupported content type "${type}", want application/x-protobuf` }, body.length);
      return;
    }
    let spans: OtlpSpan[];
    try {
      spans = decodeOtlpTraces(body);
    } catch (err) {
      const message = (err as Error).message;
      if (record) rejections.push({ message, headers: req.headers });
      store.addRejection(path, message);
      if (dir !== null) appendFileSync(join(dir, 'rejected.jsonl'), JSON.stringify({ time: new Date().toISOString(), otlp: true, message }) + '\n');
      answer(res, req, path, 400, { error: message }, body.length);
      return;
    }
    if (record) otlpSpans.push(...spans);
    if (dir !== null && spans.length > 0) appendFileSync(join(dir, 'otlp.jsonl'), spans.map((s) => JSON.stringify(s, bigintJson)).join('\n') + '\n');
    // One chunk per trace and process (resource), as a Datadog payload would have them.
    const chunks = new Map<string, { spans: DecodedSpan[]; pid: number | null; runtimeId: string }>();
    for (const s of spans) {
      const runtimeId = String(s.resource['service.instance.id'] ?? '');
      const pid = typeof s.resource['process.pid'] === 'bigint' || typeof s.resource['process.pid'] === 'number' ? Number(s.resource['process.pid']) : null;
      const key = `${s.traceId}\u0000${runtimeId}\u0000${pid}\u0000${String(s.resource['service.name'] ?? '')}`;
      let c = chunks.get(key);
      if (c === undefined) chunks.set(key, (c = { spans: [], pid, runtimeId }));
      c.spans.push(otlpToDecoded(s));
    }
    store.addPayload([...chunks.values()].map((c) => c.spans), body.length, 'otlp');
    for (const c of chunks.values()) {
      const trace = store.addChunk(c.spans, 'otlp', { pid: c.pid, runtimeId: c.runtimeId });
      if (trace !== null) printer?.chunk(trace);
    }
    if (record) requests.push({ method: req.method ?? '', path, headers: req.headers, status: 200, bytes: body.length, time: Date.now(), remotePort: req.socket.remotePort ?? 0 });
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
    notify();
  }

  function route(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): void {
    if (req.method === 'GET' && path === '/info') {
      answer(res, req, path, 200, { version: `tracewell-dev-agent/${TRACER_VERSION}`, endpoints: ['/v0.4/traces', '/v0.5/traces', '/info', '/profiling/v1/input', '/debugger/v1/input', '/debugger/v1/diagnostics'], client_drop_p0s: false, config: { max_request_bytes: MAX_BODY } }, 0);
      return;
    }
    if ((req.method === 'PUT' || req.method === 'POST') && (path === '/v0.4/traces' || path === '/v0.5/traces')) {
      const type = String(req.headers['content-type'] ?? '');
      if (!type.startsWith('application/msgpack')) {
        answer(res, req, path, 415, { error: `unsupported content type "${type}", want application/msgpack` }, body.length);
        return;
      }
      let decoded: DecodedSpan[][];
      try {
        decoded = decodeTraces(body, path === '/v0.5/traces' ? '0.5' : '0.4');
      } catch (err) {
        const message = (err as Error).message;
        if (record) rejections.push({ message, headers: req.headers });
        store.addRejection(path, message);
        if (dir !== null) appendFileSync(join(dir, 'rejected.jsonl'), JSON.stringify({ time: new Date().toISOString(), message }) + '\n');
        answer(res, req, path, 400, { error: message }, body.length);
        return;
      }
      const lang = req.headers['datadog-meta-lang'];
      const version = req.headers['datadog-meta-tracer-version'];
      store.addPayload(decoded, body.length, [lang, version].filter((h) => typeof h === 'string' && h !== '').join(' '));
      for (const t of decoded) {
        if (t.length === 0) continue;
        if (record) traces.push(t);
        if (dir !== null) appendFileSync(join(dir, 'traces.jsonl'), JSON.stringify(t, bigintJson) + '\n');
        const trace = store.addChunk(t, 'datadog');
        if (trace !== null) printer?.chunk(trace);
      }
      answer(res, req, path, 200, { rate_by_service: { 'service:,env:': 1, ...(opts.rateByService ?? {}) } }, body.length);
      return;
    }
    if (req.method === 'POST' && path === '/profiling/v1/input') {
      let received: ReceivedProfile;
      try {
        received = decodeProfileUpload(String(req.headers['content-type'] ?? ''), body);
      } catch (err) {
        const message = (err as Error).message;
        if (record) rejections.push({ message, headers: req.headers });
        store.addRejection(path, message);
        if (dir !== null) appendFileSync(join(dir, 'rejected.jsonl'), JSON.stringify({ time: new Date().toISOString(), profile: true, message }) + '\n');
        answer(res, req, path, 400, { error: message }, body.length);
        return;
      }
      if (record) profiles.push(received);
      store.addProfile(received, body.length);
      profileCount++;
      if (dir !== null) {
        const n = profileCount;
        mkdirSync(join(dir, 'profiles'), { recursive: true });
        for (const [name, bytes] of Object.entries(received.raw)) writeFileSync(join(dir, 'profiles', `${n}-${name.replace(/\.pprof$/, '')}.pb.gz`), bytes);
        appendFileSync(join(dir, 'profiles.jsonl'), JSON.stringify({ n, ...received.event }) + '\n');
      }
      // The first upload of each process is printed; the later ones (one a period) are on the page.
      const proc = `${received.tags.service ?? '?'}\u0000${received.tags['runtime-id'] ?? ''}`;
      if (print !== null && !profiled.has(proc)) {
        if (profiled.size < 10_000) profiled.add(proc);
        print(`profile ${received.tags.service ?? '?'} ${received.event.start} .. ${received.event.end}: ${received.event.attachments.join(', ')}${uiOn ? ' (this process\'s next ones: on the page, /ui/profiles)' : ''}`);
      }
      answer(res, req, path, 200, {}, body.length);
      return;
    }
    if (req.method === 'POST' && (path === '/debugger/v1/input' || path === '/debugger/v1/diagnostics')) {
      try {
        if (path === '/debugger/v1/input') {
          const got = decodeSnapshots(body);
          if (record) snapshots.push(...got);
          if (dir !== null && got.length > 0) appendFileSync(join(dir, 'snapshots.jsonl'), got.map((x) => JSON.stringify(x)).join('\n') + '\n');
          const stored = store.addSnapshots(got);
          printer?.snapshots(stored);
        } else {
          const got = decodeDiagnostics(body, String(req.headers['content-type'] ?? ''));
          if (record) probeDiagnostics.push(...got);
          store.addStatuses(got);
          if (print !== null) for (const d of got) print(`probe ${d.probeId} ${d.status}${d.exception ? `: ${d.exception.message}` : ''}`);
        }
      } catch (err) {
        const message = (err as Error).message;
        if (record) rejections.push({ message, headers: req.headers });
        store.addRejection(path, message);
        answer(res, req, path, 400, { error: message }, body.length);
        return;
      }
      answer(res, req, path, 202, {}, body.length);
      return;
    }
    answer(res, req, path, 404, { error: `no endpoint ${req.method} ${path}` }, body.length);
  }

  const server: Server = createServer((req, res) => {
    if (uiOn && isUiPath((req.url ?? '/').split('?')[0])) {
      req.resume();
      try {
        serveUi(req, res, { store, dlqDir: dlqRoot });
      } catch (err) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`the page failed: ${String(err)}`);
      }
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(c);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (tooLarge) {
        answer(res, req, (req.url ?? '/').split('?')[0], 413, { error: `body of ${size} bytes is over the ${MAX_BODY} byte limit` }, size);
        return;
      }
      try {
        handle(req, res, Buffer.concat(chunks));
      } catch (err) {
        if (!res.headersSent) answer(res, req, req.url ?? '/', 500, { error: String(err) }, size);
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const otlpPort = opts.otlpPort !== undefined ? opts.otlpPort : (opts.port ?? 8126) === 8126 ? 4318 : null;
  const otlpServer: Server | null =
    otlpPort === null
      ? null
      : createServer((req, res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          req.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= MAX_BODY) chunks.push(c);
          });
          req.on('error', () => undefined);
          req.on('end', () => {
            const path = (req.url ?? '/').split('?')[0];
            if (size > MAX_BODY) {
              answer(res, req, path, 413, { error: `body of ${size} bytes is over the ${MAX_BODY} byte limit` }, size);
              return;
            }
            try {
              handle(req, res, Buffer.concat(chunks), routeOtlp);
            } catch (err) {
              if (!res.headersSent) answer(res, req, path, 500, { error: String(err) }, size);
            }
          });
        });
  otlpServer?.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listenOtlp = (): Promise<number | null> =>
    otlpServer === null
      ? Promise.resolve(null)
      : new Promise((res, rej) => {
          otlpServer.once('error', rej);
          otlpServer.listen(otlpPort!, host, () => res((otlpServer.address() as { port: number }).port));
        });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8126, host, async () => {
      const addr = server.address() as { port: number };
      let otlpBound: number | null;
      let otlpError: string | null = null;
      try {
        otlpBound = await listenOtlp();
      } catch (err) {
        if (opts.otlpPort !== undefined) {
          server.close();
          reject(err);
          return;
        }
        // The default OTLP port is taken (a collector runs here?): the agent runs without it, and says so.
        otlpBound = null;
        otlpError = listenProblem(err, host, otlpPort!);
      }
      const hostPart = host.includes(':') ? `[${host}]` : host;
      const agent: DevAgent = {
        url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`,
        port: addr.port,
        traces,
        requests,
        rejections,
        otlpUrl: otlpBound === null ? null : `http://${hostPart}:${otlpBound}`,
        otlpError,
        otlpSpans,
        profiles,
        waitForProfiles(n, timeoutMs = 5000) {
          return agent.waitFor(() => profiles.length >= n, timeoutMs);
        },
        snapshots,
        probeDiagnostics,
        store,
        // The page answers this machine only: its address is a loopback one whatever the agent listens on.
        uiUrl: uiOn ? `http://${isLoopbackAddress(host) || host === 'localhost' ? hostPart : '127.0.0.1'}:${addr.port}/ui` : null,
        whenPrinted: () => printer?.whenIdle() ?? Promise.resolve(),
        waitForOtlpSpans(n, timeoutMs = 5000) {
          return agent.waitFor(() => otlpSpans.length >= n, timeoutMs);
        },
        allSpans: () => traces.flat(),
        waitFor(predicate, timeoutMs = 5000) {
          return new Promise<void>((res, rej) => {
            if (predicate(agent)) return res();
            const check = (): void => {
              if (predicate(agent)) {
                cleanup();
                res();
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              rej(new Error(`dev agent: condition not met within ${timeoutMs} ms (${traces.length} traces, ${requests.length} requests, ${rejections.length} rejections${rejections.length ? ': ' + rejections[rejections.length - 1].message : ''})`));
            }, timeoutMs);
            const cleanup = (): void => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
          });
        },
        waitForSpans(n, timeoutMs = 5000) {
          return agent.waitFor(() => traces.reduce((a, t) => a + t.length, 0) >= n, timeoutMs);
        },
        setResponder(fn) {
          responder = fn;
        },
        reset() {
          traces.length = 0;
          requests.length = 0;
          rejections.length = 0;
          otlpSpans.length = 0;
          profiles.length = 0;
          snapshots.length = 0;
          probeDiagnostics.length = 0;
          store.clear();
        },
        close() {
          printer?.flush();
          return new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            otlpServer?.close();
            server.close(() => res());
          });
        },
      };
      resolve(agent);
    });
  });
}

/** A listen error in words: the address, and what is wrong with it. */
export function listenProblem(err: unknown, host: string, port: number): string {
  const code = (err as { code?: string }).code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') return `${where} is in use by another program`;
  if (code === 'EACCES') return `${where} needs privileges this process does not have`;
  if (code === 'EADDRNOTAVAIL') return `${where} is not an address of this machine`;
  return `${where}: ${(err as Error).message}`;
}

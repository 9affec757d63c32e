/**
 * HTTP to the agent (or an OTLP endpoint) through one `node:http` Agent per agent, shared by
 * every producer: keep-alive, bounded connections, a timeout on every request, and requests
 * that are never traced (they run in a suppressed context and their origin is marked as ours).
 *
 * `node:http`, not undici: loading undici 7 added 32 MB of RSS to a process (its HTTP parser is
 * WebAssembly, compiled on load), most of what a traced service held above an untraced one
 * (docs/hot-path.md, "Memory: the export's HTTP client"). A service that serves HTTP has
 * `node:http` loaded already; one that does not pays about 4 MB for it.
 *
 * Our sockets never hold the process open, not even while a request is in flight: a process
 * whose work is done reaches `beforeExit`, where the pipeline flushes within its deadline
 * while holding a timer of its own. So an agent that never answers cannot keep an app alive.
 */
import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { outsideRequests, storage, SUPPRESSED_CONTEXT } from '../tracer/context';
import { markOwnOrigin } from '../internal/own-io';

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body's bytes (at most 64 KiB), for binary answers (OTLP's ExportTraceServiceResponse). */
  raw?: Buffer;
}

interface TransportRequest {
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | Uint8Array | string;
  timeoutMs?: number;
  /** Aborts the request (e.g. when a flush before exit runs out of time). */
  signal?: AbortSignal;
}

type Http = typeof import('node:http');

/** `node:http` (or `node:https`), loaded on the first request: the preload loads neither. */
let httpModule: Http | null = null;
let httpsModule: Http | null = null;
function http(tls: boolean): Http {
  if (tls) return (httpsModule ??= require('node:https') as Http);
  return (httpModule ??= require('node:http') as Http);
}

/** Longest answer body kept (agents answer a few hundred bytes; errors are cut for logs). */
const MAX_RESPONSE_BODY = 64 * 1024;

/** An idle kept-alive connection is closed after this long (agents close theirs later). */
const KEEP_ALIVE_MS = 4_000;

/** A request's failure with the code `retry.ts` classifies by. */
function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** An Agent shared by every Transport to one origin, and how many of them use it. */
interface SharedAgent {
  agent: Agent;
  users: number;
}

/**
 * One Agent per agent (origin, or unix socket): traces, profiles and probe output to the same
 * agent share its keep-alive connections. Each Transport takes a reference on its first
 * request and gives it back on `destroy()`; the last one closes the Agent's sockets.
 */
const agents = new Map<string, SharedAgent>();

/** Connections per agent: a trace payload, a profile upload and a probe batch can be in flight together. */
const CONNECTIONS = 4;

function acquireAgent(key: string, tls: boolean): SharedAgent {
  let shared = agents.get(key);
  if (shared === undefined) {
    const agent = new (http(tls).Agent)({ keepAlive: true, maxSockets: CONNECTIONS, maxFreeSockets: CONNECTIONS, timeout: KEEP_ALIVE_MS, scheduling: 'lifo' });
    // The Agent refs a socket while a request is on it; ours must never hold the process
    // (see the module comment), so each is unref'd and its ref() made a no-op.
    type Connect = (options: object, cb: (err: Error | null, s?: Socket) => void) => Socket | undefined;
    const a = agent as unknown as { createConnection: Connect };
    const connect = a.createConnection.bind(agent);
    a.createConnection = (options, cb) => {
      const socket = connect(options, cb);
      if (socket) {
        socket.unref();
        socket.ref = () => socket;
      }
      return socket;
    };
    shared = { agent, users: 0 };
    agents.set(key, shared);
  }
  shared.users++;
  return shared;
}

function releaseAgent(key: string, shared: SharedAgent): Promise<void> {
  if (--shared.users > 0) return Promise.resolve();
  if (agents.get(key) === shared) agents.delete(key);
  shared.agent.destroy();
  return Promise.resolve();
}

export class Transport {
  private shared: SharedAgent | null = null;
  readonly origin: string;
  private readonly key: string;
  private readonly basePath: string;
  private readonly socketPath: string | undefined;
  private readonly hostname: string;
  private readonly port: number;
  private readonly tls: boolean;

  constructor(
    url: string,
    private readonly defaultTimeoutMs = 10_000,
  ) {
    const u = new URL(url);
    if (u.protocol === 'unix:') {
      this.origin = 'http://localhost';
      this.basePath = '';
      this.socketPath = u.pathname;
      this.hostname = 'localhost';
      this.port = 80;
      this.tls = false;
    } else {
      this.origin = u.origin;
      this.basePath = u.pathname.replace(/\/+$/, '');
      // `new URL` keeps IPv6 hosts in brackets; node:http wants them bare.
      this.hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
      this.tls = u.protocol === 'https:';
      this.port = u.port === '' ? (this.tls ? 443 : 80) : Number(u.port);
    }
    this.key = this.socketPath !== undefined ? `unix:${this.socketPath}` : this.origin;
    markOwnOrigin(this.origin);
  }

  private getAgent(): Agent {
    this.shared ??= acquireAgent(this.key, this.tls);
    return this.shared.agent;
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    // Sockets, timers and retries made here outlive the caller (a payload sealed at its size is
    // sent from inside the request that filled it): none of them keeps the caller's context.
    return outsideRequests(() => storage.run(SUPPRESSED_CONTEXT, () => this.send(req, true)));
  }

  private send(req: TransportRequest, mayRetryReset: boolean): Promise<TransportResponse> {
    const timeout = req.timeoutMs ?? this.defaultTimeoutMs;
    const body = req.body === undefined ? undefined : typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body;
    const headers: Record<string, string | number> = { ...req.headers };
    if (body !== undefined) headers['content-length'] = body.byteLength;
    const options: RequestOptions = {
      agent: this.getAgent(),
      method: req.method,
      path: this.basePath + req.path,
      headers,
      signal: req.signal,
    };
    if (this.socketPath !== undefined) options.socketPath = this.socketPath;
    else {
      options.hostname = this.hostname;
      options.port = this.port;
    }
    return new Promise<TransportResponse>((resolve, reject) => {
      let settled = false;
      let answered = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        // A kept-alive connection the agent closed as we reused it, before any answer: the
        // request never reached it, so it goes once more on a new connection before anything
        // counts it as failed. (Cut off during an answer, it may have been taken: not sent again.)
        if (mayRetryReset && !answered && r.reusedSocket && (err as { code?: string }).code === 'ECONNRESET' && !req.signal?.aborted) {
          resolve(this.send(req, false));
          return;
        }
        reject(err);
      };
      const r: ClientRequest = http(this.tls).request(options, (res: IncomingMessage) => {
        answered = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_RESPONSE_BODY) {
            chunks.push(chunk);
            size += chunk.length;
          }
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          const kept = raw.length > MAX_RESPONSE_BODY ? raw.subarray(0, MAX_RESPONSE_BODY) : raw;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: kept.toString('utf8'), raw: kept });
        });
        res.on('error', fail);
        res.on('aborted', () => fail(codedError('the agent closed the connection during the answer', 'ECONNRESET')));
      });
      r.on('error', fail);
      // No byte either way for `timeout` ms (connecting, sending, or waiting for the answer).
      r.setTimeout(timeout, () => r.destroy(codedError(`no answer within ${timeout} ms`, 'ETIMEDOUT')));
      r.end(body);
    });
  }

  /** Gives this Transport's reference on its agent's connections back; the last one closes them. */
  destroy(): Promise<void> {
    const shared = this.shared;
    this.shared = null;
    return shared === null ? Promise.resolve() : releaseAgent(this.key, shared);
  }
}

/**
 * HTTP to the agent (or an OTLP endpoint) through one undici Pool per agent, shared by every
 * producer: keep-alive, bounded connections, a timeout on every request, and requests that are
 * never traced (they run in a suppressed context and their origin is marked as ours).
 *
 * Our sockets never hold the process open, not even while a request is in flight: a process
 * whose work is done reaches `beforeExit`, where the pipeline flushes within its deadline
 * while holding a timer of its own. So an agent that never answers cannot keep an app alive.
 */
import type { Pool } from 'undici';
import type { Socket } from 'node:net';
import { storage, SUPPRESSED_CONTEXT } from '../tracer/context';
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

type Undici = typeof import('undici');

/**
 * undici is loaded on the first request, not at start-up: it is most of what the preload
 * would otherwise add to a process's start (about 60 ms of the ~100).
 */
let undiciModule: Undici | null = null;
function undici(): Undici {
  return (undiciModule ??= require('undici') as Undici);
}

/** Longest answer body kept (agents answer a few hundred bytes; errors are cut for logs). */
const MAX_RESPONSE_BODY = 64 * 1024;

/** A pool shared by every Transport to one origin, and how many of them use it. */
interface SharedPool {
  pool: Pool;
  users: number;
}

/**
 * One undici Pool per agent (origin, or unix socket): traces, profiles and probe output to the
 * same agent share its keep-alive connections. Each Transport takes a reference on its first
 * request and gives it back on `destroy()`; the last one closes the pool.
 */
const pools = new Map<string, SharedPool>();

/** Connections per agent: a trace payload, a profile upload and a probe batch can be in flight together. */
const CONNECTIONS = 4;

function acquirePool(key: string, origin: string, socketPath: string | undefined, connectTimeoutMs: number): SharedPool {
  let shared = pools.get(key);
  if (shared === undefined) {
    const { Pool: P, buildConnector } = undici();
    const base = buildConnector({ socketPath: socketPath ?? null, timeout: Math.min(connectTimeoutMs, 10_000), keepAlive: true });
    const connect: typeof base = (opts, cb) =>
      base(opts, (err, socket) => {
        if (socket) {
          // undici refs a socket while requests are pending; ours must never hold the
          // process (see the module comment), so ref() is made a no-op on our sockets.
          const s = socket as Socket;
          s.unref();
          s.ref = () => s;
        }
        (cb as (e: Error | null, s: Socket | null) => void)(err, socket as Socket | null);
      });
    shared = { pool: new P(origin, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 4_000, connect }), users: 0 };
    pools.set(key, shared);
  }
  shared.users++;
  return shared;
}

function releasePool(key: string, shared: SharedPool): Promise<void> {
  if (--shared.users > 0) return Promise.resolve();
  if (pools.get(key) === shared) pools.delete(key);
  return shared.pool.destroy().catch(() => undefined);
}

export class Transport {
  private shared: SharedPool | null = null;
  readonly origin: string;
  private readonly key: string;
  private readonly basePath: string;
  private readonly socketPath: string | undefined;

  constructor(
    url: string,
    private readonly defaultTimeoutMs = 10_000,
  ) {
    const u = new URL(url);
    if (u.protocol === 'unix:') {
      this.origin = 'http://localhost';
      this.basePath = '';
      this.socketPath = u.pathname;
    } else {
      this.origin = u.origin;
      this.basePath = u.pathname.replace(/\/+$/, '');
    }
    this.key = this.socketPath !== undefined ? `unix:${this.socketPath}` : this.origin;
    markOwnOrigin(this.origin);
  }

  private getPool(): Pool {
    this.shared ??= acquirePool(this.key, this.origin, this.socketPath, this.defaultTimeoutMs);
    return this.shared.pool;
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    return storage.run(SUPPRESSED_CONTEXT, () => this.send(req));
  }

  private async send(req: TransportRequest): Promise<TransportResponse> {
    const timeout = req.timeoutMs ?? this.defaultTimeoutMs;
    const res = await this.getPool().request({
      method: req.method,
      path: this.basePath + req.path,
      headers: req.headers,
      body: req.body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: req.signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      if (size < MAX_RESPONSE_BODY) {
        chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    }
    const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const kept = raw.length > MAX_RESPONSE_BODY ? raw.subarray(0, MAX_RESPONSE_BODY) : raw;
    return { status: res.statusCode, headers: res.headers, body: kept.toString('utf8'), raw: kept };
  }

  /** Gives this Transport's reference on its agent's pool back; the last one closes it. */
  destroy(): Promise<void> {
    const shared = this.shared;
    this.shared = null;
    return shared === null ? Promise.resolve() : releasePool(this.key, shared);
  }
}

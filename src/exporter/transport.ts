/**
 * HTTP to the agent (or an OTLP endpoint) through one undici Pool: keep-alive, bounded
 * connections, a timeout on every request, and requests that are never traced (they run in a
 * suppressed context and their origin is marked as ours).
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

export interface TransportRequest {
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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (undiciModule ??= require('undici') as Undici);
}

/** Longest answer body kept (agents answer a few hundred bytes; errors are cut for logs). */
const MAX_RESPONSE_BODY = 64 * 1024;

export class Transport {
  private pool: Pool | null = null;
  readonly origin: string;
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
    markOwnOrigin(this.origin);
  }

  private getPool(): Pool {
    if (this.pool === null) {
      const { Pool: P, buildConnector } = undici();
      const base = buildConnector({ socketPath: this.socketPath ?? null, timeout: Math.min(this.defaultTimeoutMs, 10_000), keepAlive: true });
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
      this.pool = new P(this.origin, { connections: 2, pipelining: 1, keepAliveTimeout: 4_000, connect });
    }
    return this.pool;
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

  close(): Promise<void> {
    return this.pool === null ? Promise.resolve() : this.pool.close().catch(() => undefined);
  }

  destroy(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    return p === null ? Promise.resolve() : p.destroy().catch(() => undefined);
  }
}

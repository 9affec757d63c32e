/**
 * HTTP to the agent through one undici Pool: keep-alive, bounded connections, a timeout on
 * every request, sockets that never keep the process alive, and requests that are never
 * traced (they run in a suppressed context and their origin is marked as ours).
 */
import type { Pool } from 'undici';
import { storage, SUPPRESSED_CONTEXT } from '../tracer/context';
import { markOwnOrigin } from '../internal/own-io';

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface TransportRequest {
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs?: number;
  /** Aborts the request (e.g. when a flush before exit runs out of time). */
  signal?: AbortSignal;
}

/**
 * undici is loaded on the first request, not at start-up: it is most of what the preload
 * would otherwise add to a process's start (about 60 ms of the ~100).
 */
let PoolClass: typeof Pool | null = null;
function poolClass(): typeof Pool {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (PoolClass ??= (require('undici') as typeof import('undici')).Pool);
}

export class Transport {
  private pool: Pool | null = null;
  readonly origin: string;
  private readonly basePath: string;
  private readonly socketPath: string | undefined;

  constructor(url: string) {
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
      const P = poolClass();
      this.pool =
        this.socketPath !== undefined
          ? new P(this.origin, { socketPath: this.socketPath, connections: 2, pipelining: 1 })
          : new P(this.origin, { connections: 2, pipelining: 1, keepAliveTimeout: 4_000 });
    }
    return this.pool;
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    return storage.run(SUPPRESSED_CONTEXT, () => this.send(req));
  }

  private async send(req: TransportRequest): Promise<TransportResponse> {
    const timeout = req.timeoutMs ?? 10_000;
    const res = await this.getPool().request({
      method: req.method,
      path: this.basePath + req.path,
      headers: req.headers,
      body: req.body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: req.signal,
    });
    const body = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body };
  }

  close(): Promise<void> {
    return this.pool === null ? Promise.resolve() : this.pool.close().catch(() => undefined);
  }

  destroy(): Promise<void> {
    return this.pool === null ? Promise.resolve() : this.pool.destroy().catch(() => undefined);
  }
}

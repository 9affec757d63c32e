/**
 * HTTP to the agent through one undici Pool: keep-alive, bounded connections, a timeout on
 * every request, sockets that never keep the process alive, and requests that are never
 * traced (they run in a suppressed context and their origin is marked as ours).
 */
import { Pool } from 'undici';
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

export class Transport {
  private readonly pool: Pool;
  readonly origin: string;
  private readonly basePath: string;

  constructor(url: string) {
    const u = new URL(url);
    if (u.protocol === 'unix:') {
      this.origin = 'http://localhost';
      this.basePath = '';
      this.pool = new Pool(this.origin, { socketPath: u.pathname, connections: 2, pipelining: 1 });
    } else {
      this.origin = u.origin;
      this.basePath = u.pathname.replace(/\/+$/, '');
      this.pool = new Pool(this.origin, { connections: 2, pipelining: 1, keepAliveTimeout: 4_000 });
    }
    markOwnOrigin(this.origin);
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    return storage.run(SUPPRESSED_CONTEXT, () => this.send(req));
  }

  private async send(req: TransportRequest): Promise<TransportResponse> {
    const timeout = req.timeoutMs ?? 10_000;
    const res = await this.pool.request({
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
    return this.pool.close().catch(() => undefined);
  }

  destroy(): Promise<void> {
    return this.pool.destroy().catch(() => undefined);
  }
}

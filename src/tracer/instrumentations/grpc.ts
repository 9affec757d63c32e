/**
 * @grpc/grpc-js servers and clients, all four call kinds.
 *
 * Server: `Server#register` wraps each handler once, at `addService` time. Per call the
 * wrapper extracts the caller's context from the request metadata, runs the handler inside
 * the `grpc.server` span (and re-emits the call's stream events inside it, so `data`/`end`
 * listeners see it too), and finishes the span from the one place every outcome passes:
 * the call's `sendStatus` (OK, errors, deadline), or its `cancelled` event.
 *
 * Client: generated stubs capture `Client#makeUnaryRequest` and friends at load time, so
 * the hook is one level down, `Channel#createCall`, reached synchronously in the caller's
 * context for every call kind. Its `start(metadata, listener)` gets our context injected
 * into the metadata and the listener's status callback finishes the `grpc.client` span; the
 * listener runs in the caller's context, so the user's callbacks and stream events do too.
 */
import type { Context } from '@opentelemetry/api';
import { now } from '../clock';
import { activeContext, isSuppressed, storage } from '../context';
import type { TwSpan } from '../span';
import type { TracerCore } from '../tracer';
import { addPatcher, wrapMethod } from './module-hook';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';
import { tagHeaders, type HeaderTags } from './header-tags';
import { KIND_CLIENT, KIND_SERVER } from '../kinds';

/** grpc status codes by number, for `error.type`. */
const STATUS_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
const KIND_NAMES: Record<string, string> = { unary: 'unary', clientStream: 'client_streaming', serverStream: 'server_streaming', bidi: 'bidi_streaming' };

interface Metadata {
  get(key: string): (string | Buffer)[];
  set(key: string, value: string): void;
}
interface GrpcStatus {
  code: number;
  details?: string;
  /** Trailing metadata. */
  metadata?: Metadata;
}

let core: TracerCore | null = null;
let serverErrors: ReadonlySet<number> = new Set();
let clientErrors: ReadonlySet<number> = new Set();
/** `headerTags` for metadata keys, compiled; null when none (one comparison per call). */
let metadataTags: HeaderTags | null = null;

/** A metadata key's values (text ones; `-bin` keys are never configured), joined with `,`. */
function metadataValue(md: Metadata | undefined, key: string): string | undefined {
  if (md === undefined || md === null || typeof md.get !== 'function') return undefined;
  const values = md.get(key);
  if (values.length === 0) return undefined;
  return values.length === 1 ? String(values[0]) : values.map(String).join(',');
}

/** Response metadata (initial or trailing) as `grpc.response.metadata.*` tags, once the span is still open. */
function tagResponseMetadata(span: TwSpan, md: Metadata | undefined): void {
  if (metadataTags !== null && md !== undefined && span.endAt < 0) tagHeaders(span, metadataTags, true, md, metadataValue);
}

function failed(err: unknown): void {
  counters.instrumentationErrors++;
  logger.error('grpc integration failed', err, 'grpc');
}

function getMetadata(md: Metadata, key: string): string | undefined {
  const values = md.get(key);
  return values.length > 0 ? String(values[0]) : undefined;
}

function setMetadata(md: Metadata, key: string, value: string): void {
  md.set(key, value);
}

/** `/pkg.Service/Method` -> names and attributes shared by both sides. */
function describe(span: TwSpan, path: string, kind: string): void {
  span.name = path;
  span.resource = path;
  span.component = 'grpc';
  const slash = path.lastIndexOf('/');
  span.setAttribute('rpc.system', 'grpc');
  span.setAttribute('rpc.service', path.slice(1, slash));
  span.setAttribute('rpc.method', path.slice(slash + 1));
  span.setAttribute('grpc.method.kind', kind);
}

function finishWithStatus(span: TwSpan, status: GrpcStatus, errors: ReadonlySet<number>): void {
  if (span.endAt >= 0) return;
  tagResponseMetadata(span, status.metadata);
  const code = typeof status.code === 'number' ? status.code : 2;
  span.setAttribute('grpc.status.code', code);
  if (errors.has(code)) {
    span.error = 1;
    span.errorType = STATUS_NAMES[code] ?? String(code);
    span.errorMessage = status.details ?? '';
  }
  span.finish();
}

/** `ipv4:127.0.0.1:50051`, `dns:host:port`, `[::1]:50051` -> host and port. */
function hostPort(target: string): [string, number] {
  let t = target;
  const scheme = /^(?:dns|ipv4|ipv6|unix):(?:\/\/[^/]*\/)?/.exec(t);
  if (scheme) t = t.slice(scheme[0].length);
  const colon = t.lastIndexOf(':');
  if (colon < 0 || t.indexOf(']', colon) >= 0) return [t.replace(/^\[|\]$/g, ''), 0];
  return [t.slice(0, colon).replace(/^\[|\]$/g, ''), Number(t.slice(colon + 1)) || 0];
}

// ---------------- server ----------------

interface ServerCallLike {
  metadata?: Metadata;
  call?: { sendStatus?: (status: GrpcStatus) => unknown; sendMetadata?: (md: Metadata) => unknown };
  getPeer?: () => string;
  emit: (event: string | symbol, ...args: unknown[]) => boolean;
  once(event: string, fn: () => void): unknown;
}

type Handler = (call: ServerCallLike, callback?: (...args: unknown[]) => unknown) => unknown;

function emitIn(span: TwSpan, emit: ServerCallLike['emit'], self: ServerCallLike, args: unknown[]): boolean {
  return storage.run(span, () => emit.apply(self, args as [string]));
}

function wrapHandler(handler: Handler, path: string, type: string): Handler {
  const kind = KIND_NAMES[type] ?? type;
  return function (this: unknown, call: ServerCallLike, callback?: (...args: unknown[]) => unknown): unknown {
    const c = core;
    let span: TwSpan | undefined;
    if (c !== null) {
      try {
        const md = call.metadata;
        const remote = md ? c.propagator.extract(md, getMetadata) : undefined;
        span = c.startSpan(path, KIND_SERVER, activeContext(), remote, now());
        span.opName = 'grpc.server';
        span.type = 'web';
        describe(span, path, kind);
        if (metadataTags !== null && md) tagHeaders(span, metadataTags, false, md, metadataValue);
        const peer = typeof call.getPeer === 'function' ? call.getPeer() : '';
        if (peer) span.setAttribute('network.peer.address', hostPort(peer)[0]);
        const s = span;
        const inner = call.call;
        if (inner && typeof inner.sendStatus === 'function') {
          const sendStatus = inner.sendStatus;
          inner.sendStatus = function (status: GrpcStatus) {
            finishWithStatus(s, status, serverErrors);
            return sendStatus.call(this, status);
          };
          const sendMetadata = inner.sendMetadata;
          if (metadataTags !== null && typeof sendMetadata === 'function') {
            inner.sendMetadata = function (md: Metadata) {
              tagResponseMetadata(s, md);
              return sendMetadata.call(this, md);
            };
          }
        }
        call.once('cancelled', () => finishWithStatus(s, { code: 1, details: 'cancelled by the client' }, serverErrors));
        const emit = call.emit;
        call.emit = function (this: ServerCallLike, ...args: unknown[]) {
          return emitIn(s, emit, this, args);
        };
      } catch (err) {
        failed(err);
      }
    }
    if (span === undefined) return handler.call(this, call, callback);
    const s = span;
    try {
      return storage.run(s, () => handler.call(this, call, callback));
    } catch (err) {
      s.recordException(err as Error);
      throw err;
    }
  };
}

function patchServer(Server: { prototype: object }): void {
  wrapMethod(Server.prototype, 'register', (original) =>
    function register(this: unknown, name: string, handler: Handler, serialize: unknown, deserialize: unknown, type: string) {
      let h = handler;
      try {
        if (typeof handler === 'function') h = wrapHandler(handler, name, type);
      } catch (err) {
        failed(err);
      }
      return original.call(this, name, h, serialize, deserialize, type);
    },
  );
}

// ---------------- client ----------------

interface Listener {
  onReceiveMetadata?: (md: unknown) => void;
  onReceiveMessage?: (msg: unknown) => void;
  onReceiveStatus?: (status: GrpcStatus) => void;
}
interface ClientCall {
  start(metadata: Metadata, listener: Listener): void;
}

function clientListener(span: TwSpan, parent: Context, listener: Listener): Listener {
  return {
    onReceiveMetadata: (md) => {
      tagResponseMetadata(span, md as Metadata);
      return storage.run(parent, () => listener.onReceiveMetadata?.(md));
    },
    onReceiveMessage: (msg) => storage.run(parent, () => listener.onReceiveMessage?.(msg)),
    onReceiveStatus: (status) => {
      try {
        finishWithStatus(span, status, clientErrors);
      } catch (err) {
        failed(err);
      }
      storage.run(parent, () => listener.onReceiveStatus?.(status));
    },
  };
}

function patchChannel(Channel: { prototype: object }): void {
  wrapMethod(Channel.prototype, 'createCall', (original) =>
    function createCall(this: { getTarget?: () => string }, method: string, ...rest: unknown[]) {
      const call = original.call(this, method, ...rest) as ClientCall;
      const c = core;
      if (c === null || typeof method !== 'string') return call;
      try {
        const parent = activeContext();
        if (isSuppressed(parent)) return call;
        const span = c.startSpan(method, KIND_CLIENT, parent, undefined, now());
        span.opName = 'grpc.client';
        span.type = 'http';
        describe(span, method, 'rpc');
        if (typeof this.getTarget === 'function') {
          const [host, port] = hostPort(this.getTarget());
          span.peerHost = host;
          span.peerPort = port;
        }
        const start = call.start;
        call.start = function (metadata: Metadata, listener: Listener) {
          try {
            if (metadataTags !== null) tagHeaders(span, metadataTags, false, metadata, metadataValue);
            c.inject(span, metadata, setMetadata);
          } catch (err) {
            failed(err);
          }
          return start.call(this, metadata, clientListener(span, parent, listener));
        };
      } catch (err) {
        failed(err);
      }
      return call;
    },
  );
}

let registered = false;

interface GrpcOptions {
  serverErrorStatuses: readonly number[];
  clientErrorStatuses: readonly number[];
  metadataTags: HeaderTags | null;
}

export function enableGrpc(c: TracerCore, options: GrpcOptions): void {
  core = c;
  metadataTags = options.metadataTags;
  serverErrors = new Set(options.serverErrorStatuses);
  clientErrors = new Set(options.clientErrorStatuses);
  if (registered) return;
  registered = true;
  addPatcher({
    name: '@grpc/grpc-js',
    matches: (exp: any) =>
      typeof exp === 'object' && exp !== null && typeof exp.Server === 'function' && typeof exp.Client === 'function' && typeof exp.Channel === 'function' && typeof exp.Metadata === 'function' && typeof exp.status === 'object',
    patch: (exp: any) => {
      patchServer(exp.Server);
      patchChannel(exp.Channel);
    },
  });
}

export function disableGrpc(): void {
  core = null;
  metadataTags = null;
}

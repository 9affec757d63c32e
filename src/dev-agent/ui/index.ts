/**
 * The dev agent's page, on the agent's own port under `/ui`: traces, profiles, probes and
 * export health, rendered on the server from what the agent keeps (src/dev-agent/store.ts).
 *
 * It shows what apps sent, captured request values included, so:
 * - it answers this machine only: a request from another address gets 403, even when the
 *   agent listens beyond loopback (`--host`), and so does one whose `Host` header is not a
 *   loopback name (a web page that rebinds its own name to 127.0.0.1 cannot read it);
 * - it is read-only (GET and HEAD), fetches nothing from anywhere and lets nothing else be
 *   fetched: a Content-Security-Policy allows only its own inline script (by nonce) and
 *   requests to itself;
 * - every string it renders is escaped (src/dev-agent/ui/html.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AgentStore } from '../store';
import { hex64 } from '../store';
import { esc, layout, type View } from './html';
import { spanDetail, traceListView, traceView } from './traces';
import { profilesView } from './profiles';
import { probesView } from './probes';
import { healthView } from './health';

interface UiContext {
  store: AgentStore;
  /** The dead-letter root shown on the health page, or null to show none. */
  dlqDir: () => string | null;
}

export const isUiPath = (path: string): boolean => path === '/ui' || path.startsWith('/ui/');

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x: this machine. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return a === '::1' || /^127(\.\d{1,3}){3}$/.test(a);
}

/** A `Host` header naming this machine: localhost (or a name under it), 127.x, [::1]; any port. */
function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.toLowerCase().replace(/:\d+$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '[::1]' || /^127(\.\d{1,3}){3}$/.test(h);
}

function send(res: ServerResponse, status: number, body: string, nonce: string | null, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': `default-src 'none'; script-src ${nonce !== null ? `'nonce-${nonce}'` : "'none'"}; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function refuse(res: ServerResponse, status: number, message: string): void {
  send(res, status, `<!doctype html><meta charset="utf-8"><title>${status}</title><p>${esc(message)}</p>`, null);
}

export function serveUi(req: IncomingMessage, res: ServerResponse, ctx: UiContext): void {
  if (!isLoopbackAddress(req.socket.remoteAddress)) {
    refuse(res, 403, "The dev agent's page answers this machine only: open it on the machine the agent runs on.");
    return;
  }
  if (!isLoopbackHost(req.headers.host)) {
    refuse(res, 403, `The dev agent's page answers to loopback names only (127.0.0.1, localhost, [::1]), not to "${req.headers.host ?? ''}".`);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    refuse(res, 405, 'The page is read-only.');
    return;
  }
  const url = new URL(req.url ?? '/ui', 'http://localhost');
  const path = url.pathname.replace(/\/+$/, '') || '/ui';
  const q = url.searchParams;
  const { store } = ctx;
  let view: View;
  const trace = /^\/ui\/trace\/([0-9a-fA-F]{16}|[0-9a-fA-F]{32})(?:\/span\/([0-9a-f]{16}))?$/.exec(path);
  if (path === '/ui' || path === '/ui/traces') view = traceListView(store, q);
  else if (trace !== null && trace[2] !== undefined) {
    // A span's details: a fragment for the side panel.
    const t = store.trace(trace[1]);
    const span = t?.spans.find((s) => hex64(s.span_id) === trace[2]);
    if (t === undefined || span === undefined) send(res, 404, '<p class="muted">This span is not here (any more).</p>', null);
    else send(res, 200, spanDetail(store, t, span), null);
    return;
  } else if (trace !== null) view = traceView(store, trace[1], q);
  else if (path === '/ui/profiles') view = profilesView(store, q);
  else if (path === '/ui/probes') view = probesView(store);
  else if (path === '/ui/health') view = healthView(store, ctx.dlqDir());
  else view = { title: 'Not found', tab: 'traces', live: `<div class="empty">Nothing at <code>${esc(path)}</code>. <a href="/ui">Traces</a></div>`, etag: '404', status: 404 };
  // The script's live update: the live part only, or 204 when it did not change.
  const known = req.headers['x-tw-live'];
  if (typeof known === 'string') {
    if (known === view.etag) {
      res.writeHead(204, { 'cache-control': 'no-store' });
      res.end();
    } else send(res, view.status ?? 200, view.live, null, { 'x-tw-etag': view.etag });
    return;
  }
  const nonce = randomBytes(16).toString('base64');
  send(res, view.status ?? 200, layout(view, nonce), nonce);
}

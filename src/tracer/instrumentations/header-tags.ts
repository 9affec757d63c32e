/**
 * Header tags (`headerTags`, `DD_TRACE_HEADER_TAGS`): request and response headers put on HTTP
 * spans, and the same keys of gRPC metadata on gRPC spans. Everything about a configured
 * header (its tag names, whether its name is a secret's) is decided once at start-up; per
 * request it is one lookup per configured header. Nothing configured: the integrations keep
 * `null` and pay one comparison.
 */
import type { Redactor } from '../../internal/redact';
import type { TwSpan } from '../span';

/** One configured header, compiled. */
interface HeaderTag {
  /** Lower case (Node's `IncomingMessage#headers` keys, gRPC metadata keys). */
  readonly header: string;
  readonly requestTag: string;
  readonly responseTag: string;
  /** Its name (or the tag's) is a secret's: the value is never put on, `[redacted]` is. */
  readonly redacted: boolean;
}

export type HeaderTags = readonly HeaderTag[];

const REDACTED = '[redacted]';

/**
 * The configured headers for one protocol: a header alone gets Datadog's names
 * (`http.request.headers.<h>` / `http.response.headers.<h>`, for gRPC
 * `grpc.request.metadata.<h>` / `grpc.response.metadata.<h>`); `header:tag` one tag for both.
 * `null` when none is configured.
 */
export function compileHeaderTags(config: Readonly<Record<string, string>>, redactor: Redactor, protocol: 'http' | 'grpc'): HeaderTags | null {
  const out: HeaderTag[] = [];
  for (const [header, tag] of Object.entries(config)) {
    // gRPC's binary metadata (`-bin`) is not text: never a tag.
    if (protocol === 'grpc' && header.endsWith('-bin')) continue;
    const [req, res] = protocol === 'http' ? ['http.request.headers.', 'http.response.headers.'] : ['grpc.request.metadata.', 'grpc.response.metadata.'];
    out.push({
      header,
      requestTag: tag !== '' ? tag : req + header,
      responseTag: tag !== '' ? tag : res + header,
      redacted: redactor.isRedacted(header) || (tag !== '' && redactor.isRedacted(tag)),
    });
  }
  return out.length > 0 ? out : null;
}

/** A header's value as a string: several values joined with `,` (as HTTP folds them). */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (const x of v) if (typeof x === 'string' || typeof x === 'number') parts.push(String(x));
    return parts.length > 0 ? parts.join(',') : undefined;
  }
  return undefined;
}

/** Puts the configured headers that `get` finds on `span`, as request or response tags. */
export function tagHeaders<C>(span: TwSpan, tags: HeaderTags, response: boolean, carrier: C, get: (carrier: C, header: string) => unknown): void {
  for (let i = 0; i < tags.length; i++) {
    const t = tags[i];
    const v = text(get(carrier, t.header));
    if (v === undefined) continue;
    span.setAttribute(response ? t.responseTag : t.requestTag, t.redacted ? REDACTED : v);
  }
}

/** A header in a flat `[name, value, name, value, ...]` list (undici's, Buffers or strings); names compared without case. */
export function fromFlatList(list: unknown, header: string): string | undefined {
  if (typeof list === 'string') return fromHeaderBlock(list, header);
  if (!Array.isArray(list)) return undefined;
  let out: string | undefined;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const k = list[i];
    const name = typeof k === 'string' ? k : Buffer.isBuffer(k) ? k.toString('latin1') : '';
    if (name.length !== header.length || name.toLowerCase() !== header) continue;
    const v = list[i + 1];
    const value = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('latin1') : Array.isArray(v) ? v.map(String).join(',') : undefined;
    if (value !== undefined) out = out === undefined ? value : out + ',' + value;
  }
  return out;
}

/** A header in a `name: value\r\n...` block (older undici keeps a request's headers so). */
function fromHeaderBlock(block: string, header: string): string | undefined {
  let out: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0 || line.slice(0, colon).trim().toLowerCase() !== header) continue;
    const value = line.slice(colon + 1).trim();
    out = out === undefined ? value : out + ',' + value;
  }
  return out;
}

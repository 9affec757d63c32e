/**
 * The agent's profile intake format (`POST /profiling/v1/input`, multipart/form-data): an
 * `event` part (event.json) and one gzip pprof part per profile type (`wall.pprof`,
 * `space.pprof`). Built here, read back by the dev agent with `parseMultipart`.
 */
import { randomBytes } from 'node:crypto';

export interface ProfileEvent {
  attachments: string[];
  start: string;
  end: string;
  family: 'node';
  version: '4';
  tags_profiler: string;
  endpoint_counts: Record<string, number>;
}

export interface FilePart {
  /** The part's name and filename, e.g. `wall.pprof`. */
  name: string;
  body: Buffer;
}

export interface MultipartBody {
  contentType: string;
  body: Buffer;
}

export function buildProfileUpload(event: ProfileEvent, files: FilePart[]): MultipartBody {
  const boundary = 'tracewell-' + randomBytes(12).toString('hex');
  const chunks: Buffer[] = [];
  const head = (name: string, filename: string, type: string): Buffer =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`, 'latin1');
  const crlf = Buffer.from('\r\n', 'latin1');
  chunks.push(head('event', 'event.json', 'application/json'), Buffer.from(JSON.stringify(event), 'utf8'), crlf);
  for (const f of files) chunks.push(head(f.name, f.name, 'application/octet-stream'), f.body, crlf);
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

export interface ParsedPart {
  name: string;
  filename: string;
  contentType: string;
  body: Buffer;
}

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** Reads a multipart/form-data body. Throws MultipartError naming what is wrong. */
export function parseMultipart(contentType: string, body: Buffer): ParsedPart[] {
  const m = /^multipart\/form-data\s*;.*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  if (m === null) throw new MultipartError(`content type "${contentType}" is not multipart/form-data with a boundary`);
  const boundary = Buffer.from('--' + (m[1] ?? m[2]), 'latin1');
  const parts: ParsedPart[] = [];
  let pos = body.indexOf(boundary);
  if (pos !== 0) throw new MultipartError('the body does not start with the boundary');
  for (;;) {
    pos += boundary.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing `--`
    if (body[pos] !== 0x0d || body[pos + 1] !== 0x0a) throw new MultipartError('a boundary is not followed by CRLF');
    pos += 2;
    const headEnd = body.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd < 0) throw new MultipartError('a part has no end of headers');
    const headers: Record<string, string> = {};
    for (const line of body.subarray(pos, headEnd).toString('latin1').split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n', 'latin1'), boundary]), headEnd + 4);
    if (next < 0) throw new MultipartError('a part is not closed by the boundary');
    const disposition = headers['content-disposition'] ?? '';
    const name = /\bname="([^"]*)"/.exec(disposition)?.[1];
    if (name === undefined) throw new MultipartError('a part has no Content-Disposition name');
    parts.push({ name, filename: /\bfilename="([^"]*)"/.exec(disposition)?.[1] ?? '', contentType: headers['content-type'] ?? '', body: body.subarray(headEnd + 4, next) });
    pos = next + 2;
  }
  return parts;
}

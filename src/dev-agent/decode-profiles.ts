/**
 * The dev agent's reading of profile uploads (`POST /profiling/v1/input`): the multipart body,
 * the event part's fields, and every attachment gunzipped and decoded as pprof. What is wrong
 * is thrown as one message naming it (the agent answers 400 with it).
 */
import { parseMultipart } from '../profiler/multipart';
import { decodePprof, type PprofProfile } from '../profiler/pprof';

export interface ReceivedProfile {
  /** The event part (event.json), as sent. */
  event: {
    attachments: string[];
    start: string;
    end: string;
    family: string;
    version: string;
    tags_profiler: string;
    endpoint_counts?: Record<string, number>;
    [k: string]: unknown;
  };
  /** `tags_profiler` split into key -> value. */
  tags: Record<string, string>;
  /** Each attachment (`wall.pprof`, `space.pprof`) decoded. */
  profiles: Record<string, PprofProfile>;
  /** Each attachment as received (gzip pprof). */
  raw: Record<string, Buffer>;
}

export class ProfileDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileDecodeError';
  }
}

export function decodeProfileUpload(contentType: string, body: Buffer): ReceivedProfile {
  let parts;
  try {
    parts = parseMultipart(contentType, body);
  } catch (err) {
    throw new ProfileDecodeError(`multipart: ${(err as Error).message}`);
  }
  const eventPart = parts.find((p) => p.name === 'event');
  if (eventPart === undefined) throw new ProfileDecodeError('no "event" part');
  if (eventPart.filename !== 'event.json') throw new ProfileDecodeError(`the event part's filename is "${eventPart.filename}", want event.json`);
  let event: ReceivedProfile['event'];
  try {
    event = JSON.parse(eventPart.body.toString('utf8')) as ReceivedProfile['event'];
  } catch (err) {
    throw new ProfileDecodeError(`event.json is not JSON: ${(err as Error).message}`);
  }
  const want: [string, string][] = [
    ['start', 'string'],
    ['end', 'string'],
    ['family', 'string'],
    ['version', 'string'],
    ['tags_profiler', 'string'],
  ];
  for (const [k, type] of want) if (typeof event[k] !== type) throw new ProfileDecodeError(`event.${k} is ${JSON.stringify(event[k])}, want a ${type}`);
  if (!Array.isArray(event.attachments) || event.attachments.some((a) => typeof a !== 'string')) throw new ProfileDecodeError('event.attachments is not a list of names');
  for (const k of ['start', 'end']) if (Number.isNaN(Date.parse(event[k] as string))) throw new ProfileDecodeError(`event.${k} "${event[k] as string}" is not an ISO date`);
  if (event.endpoint_counts !== undefined && (typeof event.endpoint_counts !== 'object' || Object.values(event.endpoint_counts).some((n) => typeof n !== 'number'))) {
    throw new ProfileDecodeError('event.endpoint_counts is not an object of numbers');
  }
  const tags: Record<string, string> = {};
  for (const t of event.tags_profiler.split(',')) {
    const i = t.indexOf(':');
    if (i > 0) tags[t.slice(0, i)] = t.slice(i + 1);
  }
  const profiles: Record<string, PprofProfile> = {};
  const raw: Record<string, Buffer> = {};
  for (const name of event.attachments) {
    const part = parts.find((p) => p.name === name);
    if (part === undefined) throw new ProfileDecodeError(`attachment "${name}" is listed in the event but has no part`);
    if (part.body[0] !== 0x1f || part.body[1] !== 0x8b) throw new ProfileDecodeError(`attachment "${name}" is not gzip-compressed`);
    try {
      profiles[name] = decodePprof(part.body);
    } catch (err) {
      throw new ProfileDecodeError(`attachment "${name}" is not a pprof profile: ${(err as Error).message}`);
    }
    raw[name] = Buffer.from(part.body);
  }
  return { event, tags, profiles, raw };
}

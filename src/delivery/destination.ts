/**
 * What a producer (traces, profiles, probe output) tells the delivery layer about its
 * payloads: where they go and how (a Destination), and what to count when one is sent,
 * kept, refused or lost (a Ledger). Everything else (the queue, retries, the circuit, the
 * dead-letter file and its replay) is the delivery layer's.
 */
import type { StreamKind } from './dead-letter/store';
import type { Transport, TransportResponse } from './transport';

/** An accepted answer's status and body. */
export interface Answer {
  status: number;
  body: string;
  /** The body's bytes, for binary answers. */
  raw?: Buffer;
}

/** One request's worth of data, as the producer encoded it. */
export interface Payload {
  body: Buffer;
  /** What it carries: spans, profiles, snapshots or statuses (counted by the ledger). */
  items: number;
  /** Traces it carries (Datadog's `X-Datadog-Trace-Count`); 0 for other payloads. */
  traces: number;
  /** Its own content type (multipart boundaries), for destinations that say `contentTypeInBody`. */
  contentType?: string;
}

export interface Destination {
  /** The kind of dead-letter file its payloads go to. */
  readonly kind: StreamKind;
  /** What it carries, for messages: `traces`, `profiles`, `probe snapshots`, `probe statuses`. */
  readonly what: string;
  /** What one item is called, plural, for messages: `spans`, `profiles`, `snapshots`, `statuses`. */
  readonly unit: string;
  /** Statuses worth retrying (besides network errors). */
  readonly retryStatuses: ReadonlySet<number>;
  /** Other non-2xx answers (but 413) are final, 5xx included (OTLP); otherwise 5xx are kept for later. */
  readonly rejectUnlisted?: boolean;
  /** The payload's content type is stored with it in the dead-letter file (payloads of varying types). */
  readonly contentTypeInBody?: boolean;
  /** One attempt. */
  send(payload: Payload, transport: Transport, signal: AbortSignal): Promise<TransportResponse>;
  /** A 2xx answer (Datadog: sampling rates; OTLP: a partial success). */
  accepted?(payload: Payload, res: Answer): void;
  /** Two halves of a payload the agent found too large, or null when it cannot be split. */
  split?(payload: Payload): [Payload, Payload] | null;
  /** The agent answers again (or for the first time): re-read what it supports. Never rejects. */
  refresh?(transport: Transport): Promise<void>;
}

/** Why a payload that was never kept is lost. */
export type DropReason = 'sendFailed' | 'deadLetterFailed' | 'bufferFull' | 'shutdown';

/** What the producer counts; `live` is false for payloads read back from the dead-letter file. */
export interface Ledger {
  /** Accepted by the agent. */
  sent(p: Payload, replayed: boolean): void;
  /** A live payload written to the dead-letter file, to be sent later. */
  deadLettered(p: Payload): void;
  /** Lost: never sent, not kept. */
  dropped(p: Payload, why: DropReason, live: boolean): void;
  /** Refused by the agent as malformed (`status`), kept in the rejected file when it could be. */
  rejected(p: Payload, status: number, live: boolean): void;
  /** An attempt after the first. */
  retried(): void;
  /** The agent found a live payload too large (413), before it is split. */
  tooLarge?(p: Payload): void;
  /** Items of dead-letter files evicted to keep the folder under its limit (negative: an evicted one arrived after all). */
  evicted(items: number): void;
}

/** A payload's body as kept in the dead-letter file: with its content type in front when the destination says so. */
export function diskBody(destination: Destination, p: Payload): Buffer {
  if (destination.contentTypeInBody !== true) return p.body;
  return Buffer.concat([Buffer.from((p.contentType ?? '') + '\n', 'latin1'), p.body]);
}

/** A payload read back from the dead-letter file. */
export function payloadFromDisk(destination: Destination, record: { body: Buffer; items: number; traces: number }): Payload {
  if (destination.contentTypeInBody !== true) return { body: record.body, items: record.items, traces: record.traces };
  const nl = record.body.indexOf(0x0a);
  return { body: record.body.subarray(nl + 1), items: record.items, traces: record.traces, contentType: record.body.subarray(0, nl).toString('latin1') };
}

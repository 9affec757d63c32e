/**
 * Profile uploads to the agent's `/profiling/v1/input`, handed to the delivery layer
 * (src/delivery): the same pool and circuit as the traces to that agent, the same retries, and
 * the same dead-letter file (kind `profile`, with its own cap: at most 32 files and 64 MiB),
 * replayed once the agent answers, live data first. What is particular to profiles: the size
 * cap (`profilingMaxBytes`) and the multipart content type kept with each upload.
 * Nothing here throws; every outcome is counted in `stats().profiler`.
 */
import type { ProfilerConfig } from '../config/slices';
import { counters } from '../internal/counters';
import { Codes } from '../internal/errors';
import { logger } from '../internal/logger';
import { TRACER_VERSION } from '../internal/version';
import { datadogAgentLink } from '../delivery/datadog-agent';
import { DeadLetterStore } from '../delivery/dead-letter/store';
import type { Destination, Ledger, Payload } from '../delivery/destination';
import { Outbox } from '../delivery/outbox';
import { DATADOG_RETRY_STATUSES } from '../delivery/retry';
import type { Transport, TransportResponse } from '../delivery/transport';
import type { MultipartBody } from './multipart';

const PROFILE_PATH = '/profiling/v1/input';
/** Most uploads kept in the dead-letter folder, and most bytes. */
const MAX_DEAD_FILES = 32;
const MAX_DEAD_BYTES = 64 * 1024 * 1024;

type UploadConfig = Pick<ProfilerConfig, 'service' | 'agentUrl' | 'exportTimeoutMs' | 'exportRetries' | 'exportRetryDeadlineMs' | 'exportBackoffMs' | 'breakerFailures' | 'breakerProbeMs' | 'breakerProbeMaxMs' | 'outageSummaryIntervalMs' | 'dlqEnabled' | 'dlqDir' | 'dlqMaxBytes' | 'dlqReplayBytesPerSec' | 'profilingMaxBytes'>;

export class ProfileDestination implements Destination {
  readonly kind = 'profile' as const;
  readonly what = 'profiles';
  readonly unit = 'profiles';
  readonly retryStatuses = DATADOG_RETRY_STATUSES;
  readonly contentTypeInBody = true;

  constructor(private readonly timeoutMs: number) {}

  send(p: Payload, transport: Transport, signal: AbortSignal): Promise<TransportResponse> {
    return transport.request({
      method: 'POST',
      path: PROFILE_PATH,
      headers: { 'content-type': p.contentType ?? 'multipart/form-data', 'dd-evp-origin': 'tracewell', 'dd-evp-origin-version': TRACER_VERSION },
      body: p.body,
      timeoutMs: this.timeoutMs,
      signal,
    });
  }
}

const profileLedger: Ledger = {
  sent(_p, replayed) {
    counters.profiler.profilesSent++;
    if (replayed) counters.profiler.replayed++;
  },
  deadLettered() {
    counters.profiler.deadLettered++;
  },
  dropped() {
    counters.profiler.dropped.sendFailed++;
  },
  rejected(_p, status) {
    if (status === 413) counters.profiler.dropped.tooLarge++;
    else counters.profiler.dropped.rejected++;
  },
  retried() {
    counters.profiler.retries++;
  },
  evicted(items) {
    counters.profiler.dropped.evicted += items;
  },
};

export class ProfileUploader {
  private readonly outbox: Outbox;

  constructor(private readonly config: UploadConfig) {
    const maxBytes = Math.min(config.dlqMaxBytes, MAX_DEAD_BYTES);
    const store = config.dlqEnabled
      ? new DeadLetterStore({ root: config.dlqDir, service: config.service, kind: 'profile', maxBytes, maxFiles: MAX_DEAD_FILES, onEvicted: profileLedger.evicted })
      : null;
    this.outbox = new Outbox({
      link: datadogAgentLink(config),
      destination: new ProfileDestination(config.exportTimeoutMs),
      ledger: profileLedger,
      countedIn: 'stats().profiler',
      policy: { retries: config.exportRetries, deadlineMs: config.exportRetryDeadlineMs, backoffMs: config.exportBackoffMs, maxBackoffMs: Math.max(config.exportBackoffMs, 30_000) },
      store,
      replayBytesPerSec: config.dlqReplayBytesPerSec,
      maxQueuedBytes: 2 * config.profilingMaxBytes,
      maxQueuedItems: 4,
    });
  }

  /** Hands one upload over (it is sent, retried, kept or dropped, and counted). False when it is over the size cap. */
  private push(upload: MultipartBody): boolean {
    if (upload.body.length > this.config.profilingMaxBytes) {
      counters.profiler.dropped.tooLarge++;
      logger.warn(`[${Codes.PROFILE_FAILED}] a profile of ${upload.body.length} bytes is over profilingMaxBytes (${this.config.profilingMaxBytes}); dropped`, 'profile-too-large');
      return false;
    }
    this.outbox.push({ body: upload.body, items: 1, traces: 0, contentType: upload.contentType });
    return true;
  }

  /** Sends one upload in the background. */
  send(upload: MultipartBody): void {
    if (this.push(upload)) this.outbox.flushSoon();
  }

  /** Writes an upload, and whatever waits, to the dead-letter file at once (synchronously: used at exit). */
  persist(upload: MultipartBody | null): void {
    if (upload === null || this.push(upload)) this.outbox.persistNow();
  }

  /** Sends what waits within `deadlineMs`; the rest goes to the dead-letter file. */
  flushWithin(deadlineMs: number): Promise<void> {
    return this.outbox.flushWithin(deadlineMs);
  }

  close(deadlineLeftMs: number): Promise<void> {
    return this.outbox.close(deadlineLeftMs);
  }
}

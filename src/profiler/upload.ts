/**
 * Sends profile uploads to the agent with the exporter's Transport and retry policy
 * (src/exporter/retry.ts). An upload that cannot be delivered now goes to a dead-letter
 * folder of its own (`<dlqDir>/<service>/profiles`), bounded in files and bytes (the oldest
 * are evicted and counted), and is sent again after the next upload the agent accepts.
 * Nothing here throws; every outcome is counted in `stats().profiler`.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config/options';
import { counters } from '../internal/counters';
import { Codes } from '../internal/errors';
import { logger } from '../internal/logger';
import { Transport } from '../exporter/transport';
import { DATADOG_RETRY_STATUSES, deliver, type Outcome, type RetryPolicy } from '../exporter/retry';
import { TRACER_VERSION } from '../internal/version';
import type { MultipartBody } from './multipart';

export const PROFILE_PATH = '/profiling/v1/input';
/** Most uploads kept in the dead-letter folder. */
const MAX_DEAD_FILES = 32;
const DEAD_SUFFIX = '.profile';

export class ProfileUploader {
  private readonly transport: Transport;
  private readonly policy: RetryPolicy;
  private readonly deadDir: string | null;
  private readonly deadMaxBytes: number;
  private seq = 0;
  private replaying = false;

  constructor(private readonly config: ResolvedConfig) {
    this.transport = new Transport(config.agentUrl, config.exportTimeoutMs);
    this.policy = {
      retries: config.exportRetries,
      deadlineMs: config.exportRetryDeadlineMs,
      backoffMs: config.exportBackoffMs,
      maxBackoffMs: 30_000,
      retryStatuses: DATADOG_RETRY_STATUSES,
    };
    this.deadDir = config.dlqEnabled ? join(config.dlqDir, config.service.replace(/[^A-Za-z0-9._-]/g, '_'), 'profiles') : null;
    this.deadMaxBytes = Math.min(config.dlqMaxBytes, 64 * 1024 * 1024);
  }

  /** Sends one upload; resolves when it was accepted, dropped or dead-lettered. */
  async send(upload: MultipartBody, signal?: AbortSignal): Promise<void> {
    const p = counters.profiler;
    if (upload.body.length > this.config.profilingMaxBytes) {
      p.dropped.tooLarge++;
      logger.warn(`[${Codes.PROFILE_FAILED}] a profile of ${upload.body.length} bytes is over profilingMaxBytes (${this.config.profilingMaxBytes}); dropped`, 'profile-too-large');
      return;
    }
    const outcome = await this.attempt(upload, signal);
    if (outcome.kind === 'ok') {
      p.profilesSent++;
      if (!this.replaying) await this.replay(signal);
      return;
    }
    this.failed(upload, outcome);
  }

  private attempt(upload: MultipartBody, signal?: AbortSignal): Promise<Outcome> {
    let first = true;
    return deliver(
      () => {
        if (!first) counters.profiler.retries++;
        first = false;
        return this.transport.request({
          method: 'POST',
          path: PROFILE_PATH,
          headers: { 'content-type': upload.contentType, 'dd-evp-origin': 'tracewell', 'dd-evp-origin-version': TRACER_VERSION },
          body: upload.body,
          signal,
        });
      },
      this.policy,
      { onAttemptFailed: () => undefined, onAttemptSucceeded: () => undefined, mayRetry: () => signal?.aborted !== true },
      signal,
    );
  }

  private failed(upload: MultipartBody, outcome: Exclude<Outcome, { kind: 'ok' }>): void {
    const p = counters.profiler;
    switch (outcome.kind) {
      case 'rejected':
        p.dropped.rejected++;
        logger.warn(`[${Codes.PROFILE_FAILED}] the agent rejected a profile (${outcome.status}: ${outcome.body.slice(0, 200)}); dropped`, 'profile-rejected');
        return;
      case 'too-large':
        p.dropped.tooLarge++;
        logger.warn(`[${Codes.PROFILE_FAILED}] the agent refused a profile of ${upload.body.length} bytes as too large; dropped`, 'profile-too-large');
        return;
      default:
        logger.warn(`[${Codes.PROFILE_FAILED}] a profile could not be sent to ${this.config.agentUrl} (${outcome.reason}); ${this.deadDir === null ? 'dropped' : 'kept to send later'}`, 'profile-unavailable');
        this.persist(upload);
    }
  }

  /** Writes an upload to the dead-letter folder (synchronously: also used at exit). */
  persist(upload: MultipartBody): void {
    const p = counters.profiler;
    if (this.deadDir === null) {
      p.dropped.sendFailed++;
      return;
    }
    try {
      mkdirSync(this.deadDir, { recursive: true });
      this.evict(upload.body.length);
      const name = `${Date.now()}-${process.pid}-${this.seq++}${DEAD_SUFFIX}`;
      // Written under a temporary name and renamed: another process replaying never reads half a file.
      writeFileSync(join(this.deadDir, name + '.tmp'), Buffer.concat([Buffer.from(upload.contentType + '\n', 'latin1'), upload.body]));
      renameSync(join(this.deadDir, name + '.tmp'), join(this.deadDir, name));
      p.deadLettered++;
    } catch (err) {
      p.dropped.sendFailed++;
      logger.error(`[${Codes.PROFILE_FAILED}] a profile could not be written to ${this.deadDir}; dropped`, err, 'profile-dlq');
    }
  }

  private files(): { name: string; size: number }[] {
    if (this.deadDir === null) return [];
    try {
      return readdirSync(this.deadDir)
        .filter((n) => n.endsWith(DEAD_SUFFIX))
        .sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]) || (a < b ? -1 : 1))
        .map((name) => ({ name, size: statSync(join(this.deadDir!, name)).size }));
    } catch {
      return [];
    }
  }

  private evict(incoming: number): void {
    const files = this.files();
    let total = files.reduce((a, f) => a + f.size, 0) + incoming;
    let count = files.length + 1;
    for (const f of files) {
      if (total <= this.deadMaxBytes && count <= MAX_DEAD_FILES) break;
      try {
        unlinkSync(join(this.deadDir!, f.name));
        counters.profiler.dropped.evicted++;
      } catch {
        /* gone already */
      }
      total -= f.size;
      count--;
    }
  }

  /** Sends the dead-lettered uploads, oldest first, after a live one was accepted; stops at the first failure. */
  private async replay(signal?: AbortSignal): Promise<void> {
    this.replaying = true;
    try {
      for (;;) {
        if (signal?.aborted) return;
        const file = this.files()[0];
        if (file === undefined) return;
        const path = join(this.deadDir!, file.name);
        let upload: MultipartBody;
        try {
          const raw = readFileSync(path);
          unlinkSync(path);
          const nl = raw.indexOf(0x0a);
          upload = { contentType: raw.subarray(0, nl).toString('latin1'), body: raw.subarray(nl + 1) };
        } catch {
          return; // taken by another process, or unreadable
        }
        const outcome = await this.attempt(upload, signal);
        if (outcome.kind !== 'ok') {
          this.failed(upload, outcome);
          return;
        }
        counters.profiler.replayed++;
        counters.profiler.profilesSent++;
      }
    } finally {
      this.replaying = false;
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

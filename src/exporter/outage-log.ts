/**
 * What an outage says: one warning when it starts (the agent URL, the reason, what happens to
 * the data), one summary line per interval while it lasts (counts since it began), one line
 * when it ends. Expected network errors are one line, never a stack trace.
 */
import { counters } from '../internal/counters';
import { Codes } from '../internal/errors';
import { logger } from '../internal/logger';

interface Mark {
  written: number;
  dropped: number;
  retries: number;
  sent: number;
}

function mark(): Mark {
  const d = counters.dropped;
  return {
    written: counters.deadLetter.spansWritten,
    dropped: d.sendFailed + d.deadLetterFailed + d.bufferFull + d.evicted,
    retries: counters.retries,
    sent: counters.spansSent,
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export class OutageLog {
  private since = 0;
  private at: Mark | null = null;
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;

  constructor(
    private readonly url: string,
    private readonly summaryIntervalMs: number,
    /** What happens to spans while the agent is unreachable, for the first line. */
    private readonly fate: () => string,
  ) {}

  get active(): boolean {
    return this.at !== null;
  }

  /** `announce: false` when the cause was already reported in its own words. */
  start(reason: string, announce = true): void {
    if (this.at !== null) return;
    this.since = Date.now();
    this.at = mark();
    if (announce)
      logger.warn(`[${Codes.EXPORT_FAILED}] cannot send traces to ${this.url} (${reason}); ${this.fate()}`, 'outage');
    this.timer = setInterval(() => this.summary(), this.summaryIntervalMs);
    this.timer.unref();
  }

  private counts(): string {
    const now = mark();
    const at = this.at ?? now;
    const parts = [`${now.written - at.written} spans dead-lettered`, `${now.dropped - at.dropped} dropped`, `${now.retries - at.retries} retries`];
    if (counters.deadLetter.bytesOnDisk > 0) parts.push(`${formatBytes(counters.deadLetter.bytesOnDisk)} in dead-letter files`);
    return parts.join(', ');
  }

  private summary(): void {
    if (this.at === null) return;
    const s = Math.round((Date.now() - this.since) / 1000);
    // A key per line: the logger's per-key limit must not eat the summaries.
    logger.warn(`${this.url} still unreachable after ${s} s: ${this.counts()}`, `outage-summary:${this.seq++ % 1000}`);
  }

  end(): void {
    if (this.at === null) return;
    const s = Math.round((Date.now() - this.since) / 1000);
    const counts = this.counts();
    this.stop();
    const replay = counters.deadLetter.bytesOnDisk > 0 ? '; the dead-lettered spans are being sent in the background' : '';
    logger.warn(`${this.url} answers again after ${s} s (${counts})${replay}`, 'outage-end');
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.at = null;
  }
}

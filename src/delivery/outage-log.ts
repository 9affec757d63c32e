/**
 * What an outage says: one warning when it starts (the agent URL, the reason, what happens to
 * the data), one summary line per interval while it lasts (counts since it began), one line
 * when it ends. Expected network errors are one line, never a stack trace. One per agent:
 * traces, profiles and probe output to the same agent share it.
 */
import { counters } from '../internal/counters';
import { Codes } from '../internal/errors';
import { logger } from '../internal/logger';

/** What an agent's outage is about: for each producer sending to it, its words and counts. */
export interface OutageSubject {
  /** `traces`, `profiles`, ... */
  readonly what: string;
  /** What happens to its data while the agent is unreachable. */
  fate(): string;
  /** Its counts now (kept: written to the dead-letter file; dropped; retries), and its unit (`spans`, `profiles`...). */
  tally(): { unit: string; kept: number; dropped: number; retries: number };
}

type Tally = ReturnType<OutageSubject['tally']>;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export class OutageLog {
  private since = 0;
  private at: Map<OutageSubject, Tally> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;

  constructor(
    private readonly url: string,
    private readonly summaryIntervalMs: number,
    private readonly subjects: () => readonly OutageSubject[],
  ) {}

  get active(): boolean {
    return this.at !== null;
  }

  private mark(): Map<OutageSubject, Tally> {
    return new Map(this.subjects().map((s) => [s, s.tally()]));
  }

  /** `announce: false` when the cause was already reported in its own words. */
  start(reason: string, announce = true): void {
    if (this.at !== null) return;
    this.since = Date.now();
    this.at = this.mark();
    if (announce) {
      const subjects = this.subjects();
      const what = subjects.map((s) => s.what);
      const list = what.length <= 1 ? (what[0] ?? 'data') : `${what.slice(0, -1).join(', ')} and ${what[what.length - 1]}`;
      logger.warn(`[${Codes.EXPORT_FAILED}] cannot send ${list} to ${this.url} (${reason}); ${subjects.map((s) => s.fate()).join('; ')}`, `outage:${this.url}`);
    }
    this.timer = setInterval(() => this.summary(), this.summaryIntervalMs);
    this.timer.unref();
  }

  private counts(): string {
    const at = this.at ?? new Map<OutageSubject, Tally>();
    const parts: string[] = [];
    for (const [s, now] of this.mark()) {
      const then = at.get(s) ?? { unit: now.unit, kept: 0, dropped: 0, retries: 0 };
      parts.push(`${now.kept - then.kept} ${now.unit} dead-lettered, ${now.dropped - then.dropped} dropped, ${now.retries - then.retries} retries`);
    }
    if (counters.deadLetter.bytesOnDisk > 0) parts.push(`${formatBytes(counters.deadLetter.bytesOnDisk)} in dead-letter files`);
    return parts.join('; ');
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
    logger.warn(`${this.url} answers again after ${s} s (${counts})${replay}`, `outage-end:${this.url}`);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.at = null;
  }
}

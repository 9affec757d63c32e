/**
 * The one logger every part of Tracewell writes through. Nothing else in the SDK uses
 * `console`. Lines go to stderr (or a sink set by tests), prefixed `tracewell`, and each
 * message key is rate-limited so a failure repeated per request or per flush becomes one
 * line plus a count of the suppressed repeats.
 */
import { writeSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';

/**
 * Writes one line to stderr through its file descriptor: `process.stderr`, made on first use,
 * loads Node's stream modules (20 of them, 3-5 ms), and a warning at start-up (no environment
 * set, say) was often the first use. Node's own stderr writes files, TTYs and pipes
 * synchronously too, so lines keep their order with the app's. A descriptor that refuses the
 * write now (a non-blocking pipe that is full: EAGAIN) gets the line through the stream.
 */
function toStderr(line: string): void {
  const bytes = Buffer.from(line + '\n');
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(2, bytes, done, bytes.length - done);
  } catch {
    try {
      process.stderr.write(bytes.subarray(done));
    } catch {
      /* stderr closed: nothing more we can do */
    }
  }
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, off: 100 };
export const LOG_LEVELS = Object.keys(LEVELS) as LogLevel[];

type LogSink = (line: string) => void;

interface KeyState {
  windowStart: number;
  count: number;
  suppressed: number;
}

/** At most this many lines per message key per window. */
const PER_KEY_LIMIT = 1;
const WINDOW_MS = 60_000;

class Logger {
  private threshold = LEVELS.warn;
  private sink: LogSink = toStderr;
  private readonly keys = new Map<string, KeyState>();
  /** Lines dropped by the rate limit, over the process lifetime. */
  suppressedTotal = 0;

  setLevel(level: LogLevel): void {
    this.threshold = LEVELS[level];
  }

  setSink(sink: LogSink | null): void {
    this.sink = sink ?? toStderr;
  }

  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= this.threshold;
  }

  debug(message: string): void {
    if (this.threshold <= LEVELS.debug) this.write('debug', message);
  }

  info(message: string): void {
    if (this.threshold <= LEVELS.info) this.write('info', message);
  }

  /**
   * A warning or error with a rate-limit key: the first line of a key is written, repeats
   * within a minute are counted and reported with the next line of that key.
   */
  warn(message: string, key: string = message): void {
    if (this.threshold <= LEVELS.warn && this.allow(key)) this.write('warn', this.withSuppressed(message, key));
  }

  error(message: string, err?: unknown, key: string = message): void {
    if (this.threshold > LEVELS.error || !this.allow(key)) return;
    let line = this.withSuppressed(message, key);
    if (err !== undefined) line += ': ' + describeError(err, this.threshold <= LEVELS.debug);
    this.write('error', line);
  }

  private allow(key: string): boolean {
    const now = Date.now();
    let state = this.keys.get(key);
    if (state === undefined) {
      if (this.keys.size > 1000) this.keys.clear();
      state = { windowStart: now, count: 0, suppressed: 0 };
      this.keys.set(key, state);
    }
    if (now - state.windowStart >= WINDOW_MS) {
      state.windowStart = now;
      state.count = 0;
    }
    if (state.count < PER_KEY_LIMIT) {
      state.count++;
      return true;
    }
    state.suppressed++;
    this.suppressedTotal++;
    return false;
  }

  private withSuppressed(message: string, key: string): string {
    const state = this.keys.get(key);
    if (state === undefined || state.suppressed === 0) return message;
    const n = state.suppressed;
    state.suppressed = 0;
    return `${message} (and ${n} similar message${n === 1 ? '' : 's'} suppressed in the last minute)`;
  }

  private write(level: string, message: string): void {
    try {
      this.sink(`tracewell ${level}: ${message}`);
    } catch {
      /* a broken sink must not break the host */
    }
  }
}

/** Stack traces only at debug level: expected failures are one line. */
export function describeError(err: unknown, withStack = false): string {
  try {
    if (err instanceof Error) {
      const code = (err as NodeJS.ErrnoException).code;
      const head = `${err.name}${code ? ` ${code}` : ''}: ${err.message}`;
      return withStack && err.stack ? err.stack : head;
    }
    return String(err);
  } catch {
    // A null-prototype object, a throwing toString or getter: describing must not throw.
    try {
      return Object.prototype.toString.call(err);
    } catch {
      return '(an error that cannot be described)';
    }
  }
}

export const logger = new Logger();

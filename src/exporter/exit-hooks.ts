/**
 * Flushing when the process ends, without changing how it ends.
 *
 * - `beforeExit` (the app's work is done): flush within the deadline; the deadline timer holds
 *   the process until then, nothing else of ours does.
 * - SIGTERM / SIGINT: when ours is the only listener, Node's default would have ended the
 *   process; we flush within the deadline (what is not acknowledged goes to the dead-letter
 *   file) and then raise the same signal again with our listener removed, so the process ends
 *   exactly as it would have, only up to the deadline later. When the app listens too, its
 *   handlers decide: we flush in the background and never exit for it. A second signal
 *   writes what is left to disk at once.
 * - `exit` (e.g. the app's handler called `process.exit()`): whatever is still in memory is
 *   written to the dead-letter file synchronously.
 */
import { counters } from '../internal/counters';
import { logger } from '../internal/logger';

export interface Flushable {
  flushWithin(deadlineMs: number): Promise<void>;
  persistNow(): void;
  /** Something other than spans waits to be flushed (the profiler's last period). */
  pending?(): boolean;
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

export function installExitHooks(exporter: Flushable, deadlineMs: number): { remove(): void } {
  let flushing: Promise<void> | null = null;
  const seen = new Set<NodeJS.Signals>();

  const flush = (): Promise<void> => {
    flushing ??= exporter
      .flushWithin(deadlineMs)
      .catch((err) => logger.error('flush before exit failed', err, 'exit-flush'))
      .finally(() => {
        flushing = null;
      });
    return flushing;
  };

  const onBeforeExit = (): void => {
    if (counters.spansPending > 0 || exporter.pending?.() === true) void flush();
  };

  const onExit = (): void => {
    exporter.persistNow();
  };

  const reraise = (sig: NodeJS.Signals): void => {
    remove();
    try {
      process.kill(process.pid, sig);
    } catch {
      process.exit(1);
    }
  };

  const onSignal = (sig: NodeJS.Signals): void => {
    const appListens = process.listenerCount(sig) > 1;
    if (seen.has(sig)) {
      exporter.persistNow();
      if (!appListens) reraise(sig);
      return;
    }
    seen.add(sig);
    void flush().then(() => {
      if (!appListens) reraise(sig);
    });
  };

  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
  for (const sig of SIGNALS) process.on(sig, onSignal);

  function remove(): void {
    process.off('beforeExit', onBeforeExit);
    process.off('exit', onExit);
    for (const sig of SIGNALS) process.off(sig, onSignal);
  }
  return { remove };
}

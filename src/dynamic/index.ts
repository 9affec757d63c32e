/**
 * Dynamic probes (span decoration, log/snapshot and metric probes placed on a line at run
 * time). Off unless `TRACEWELL_PROBES` or `TRACEWELL_PROBES_FILE` is set: otherwise nothing of
 * it is loaded or inserted, and the app pays nothing.
 */
import type { ProbeConfig } from '../config/slices';
import { Codes } from '../internal/errors';
import { logger } from '../internal/logger';
import type { ProbeManager } from './manager';

/** Global snapshot limit across all log probes, per second. */
export const GLOBAL_SNAPSHOTS_PER_SECOND = 100;

export function startDynamicProbes(config: ProbeConfig, runtimeId?: string): ProbeManager | null {
  if (config.probes === '' && config.probesFile === '') return null;
  try {
    // Loaded only when probes are configured: without them, start-up loads none of it.
    const { ProbeManager: Manager } = require('./manager') as typeof import('./manager');
    const m = new Manager(
      config,
      {
        inline: config.probes,
        file: config.probesFile,
        redact: config.redact,
        redactExclude: config.redactExclude,
        budgetMs: config.probeBudgetMs,
        globalSnapshotsPerSecond: GLOBAL_SNAPSHOTS_PER_SECOND,
      },
      runtimeId,
    );
    m.start();
    return m;
  } catch (err) {
    logger.error(`[${Codes.PROBE_ERROR}] dynamic probes could not start; the app runs without them`, err);
    return null;
  }
}

export type { ProbeManager };

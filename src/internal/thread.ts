/**
 * Which thread this is, without loading `node:worker_threads` on the main thread: that module
 * brings Node's worker and stream internals (about a tenth of the preload's start-up on Node 24),
 * and every worker thread has loaded it before its first line runs, so when it is not loaded
 * yet this is the main thread. Otherwise the module, already loaded, is asked.
 */
import type * as WorkerThreads from 'node:worker_threads';

function workerThreads(): typeof WorkerThreads | null {
  const loaded = (process as { moduleLoadList?: unknown }).moduleLoadList;
  if (Array.isArray(loaded) && !loaded.includes('NativeModule worker_threads')) return null;
  return require('node:worker_threads') as typeof WorkerThreads;
}

export function isMainThread(): boolean {
  const wt = workerThreads();
  return wt === null || wt.isMainThread;
}

/**
 * The main thread or a worker the app started: not Node's module-hooks thread (`module.register`,
 * where `--require` preloads run too on Node 20), the one worker thread without a parent port.
 */
export function isAppThread(): boolean {
  const wt = workerThreads();
  return wt === null || wt.isMainThread || wt.parentPort !== null;
}

/**
 * The off-thread ES module load hook, for Node lines without `module.registerHooks` (20, and
 * 22 before 22.15): registered by `esm-hook.ts` with `module.register`. It runs in Node's
 * hooks thread, so it imports nothing of Tracewell's but `esm-mark.ts`.
 */
import { ESM_FILES, isMarked, markSource, sourceText } from './esm-mark';

interface LoadResult {
  format?: string;
  source?: unknown;
  shortCircuit?: boolean;
}
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

/** Node's `load` hook: the files of `ESM_FILES` get their publishing line, every other module is handed on as loaded. */
export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  try {
    if (result.format !== 'module' || !isMarked(url, ESM_FILES)) return result;
    const text = sourceText(result.source);
    return text === undefined ? result : { ...result, source: markSource(url, text) };
  } catch {
    return result;
  }
}

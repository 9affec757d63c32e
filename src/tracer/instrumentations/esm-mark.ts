/**
 * The one change made to an ES module's text, shared by the in-thread load hook
 * (`module.registerHooks`) and the off-thread one (`module.register`, Node 20 and 22 before
 * 22.15). Only the few files named in `ESM_FILES` are changed: a line is appended that imports
 * the module's own namespace and publishes it on `CHANNELS.esmLoaded` once the module has run,
 * so the same patchers that see CommonJS exports (`module-hook.ts`) see these exports too.
 * Nothing else in the module changes; a file not in the list is handed on untouched.
 * This file must stay free of imports: the off-thread hook loads it alone.
 */

/**
 * Files, as the tail of their path after `node_modules/`, whose exports a patcher needs from
 * ES modules (packages that ship ES module builds apart from their CommonJS ones).
 */
export const ESM_FILES: readonly string[] = [
  // NestJS 11+ (ES modules only from 12): the exception layer.
  '@nestjs/core/exceptions/exceptions-handler.js',
  // Hono: its routers (where every handler is registered, with its route).
  'hono/dist/router/smart-router/router.js',
  'hono/dist/router/reg-exp-router/router.js',
  'hono/dist/router/trie-router/router.js',
  'hono/dist/router/pattern-router/router.js',
  'hono/dist/router/linear-router/router.js',
];

/** The channel the marked modules publish their namespace on (also in `channels.ts`). */
export const ESM_LOADED_CHANNEL = 'tracewell:esm.loaded';

/** Whether `url` (a `file:` URL) is one of `files`; a few `endsWith` per ES module loaded, at start-up only. */
export function isMarked(url: string, files: readonly string[]): boolean {
  if (!url.startsWith('file:')) return false;
  const q = url.search(/[?#]/);
  const path = q < 0 ? url : url.slice(0, q);
  for (const f of files) if (path.endsWith('/node_modules/' + f)) return true;
  return false;
}

/** `source` with the publishing line appended. */
export function markSource(url: string, source: string): string {
  const u = JSON.stringify(url);
  return (
    source +
    `\n;import * as __tracewell_self from ${u};\n` +
    `import { channel as __tracewell_channel } from 'node:diagnostics_channel';\n` +
    `__tracewell_channel(${JSON.stringify(ESM_LOADED_CHANNEL)}).publish(__tracewell_self);\n`
  );
}

/** A loaded source as text (hooks hand it over as a string or as bytes). */
export function sourceText(source: unknown): string | undefined {
  if (typeof source === 'string') return source;
  if (source instanceof Uint8Array) return new TextDecoder().decode(source);
  if (source instanceof ArrayBuffer) return new TextDecoder().decode(new Uint8Array(source));
  return undefined;
}

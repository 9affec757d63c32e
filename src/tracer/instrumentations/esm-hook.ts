/**
 * ES module builds of the libraries we patch. An ES module is never seen by the `Module._load`
 * hook, so a load hook marks the few files of `ESM_FILES` (see `esm-mark.ts`): each publishes
 * its namespace once it has run, and the namespace goes to the same patchers as CommonJS
 * exports. The hook is in the loading thread where `module.registerHooks` exists (22.15+, 24,
 * 26). Elsewhere (Node 20) only `module.register` is left, which starts a hooks thread and
 * sends every ES module load through it (a few hundred ms more start-up on a busy 2-core
 * machine): it is used only when the app's entry point is an ES module and Hono or NestJS is
 * installed in a `node_modules` folder above it. A CommonJS app that
 * `require()`s an ES-module-only package is covered without it (`module-hook.ts`). It is put in
 * place once, when the first integration that needs it is turned on, and stays (a removed hook
 * would leave modules loaded later untraced after a re-init; with no subscriber the marked
 * modules publish to nobody).
 */
import dc = require('node:diagnostics_channel');
import Module = require('node:module');
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESM_FILES, ESM_LOADED_CHANNEL, isMarked, markSource, sourceText } from './esm-mark';
import { logger } from '../../internal/logger';
import { isMainThread } from '../../internal/thread';

interface LoadResult {
  format?: string;
  source?: unknown;
}
type RegisterHooks = (hooks: { load: (url: string, context: unknown, nextLoad: (u: string, c: unknown) => LoadResult) => LoadResult }) => unknown;
type Register = (specifier: string, parentURL?: string) => void;

let installed = false;

/** `node:` URLs -> what to call when an ES module first imports them (`watchBuiltinImports`). */
const builtinImports = new Map<string, () => void>();

function syncLoad(url: string, context: unknown, nextLoad: (u: string, c: unknown) => LoadResult): LoadResult {
  const result = nextLoad(url, context);
  try {
    if (builtinImports.size !== 0 && url.startsWith('node:')) {
      const fire = builtinImports.get(url);
      if (fire !== undefined) {
        builtinImports.delete(url);
        fire();
      }
    }
    if (result === null || typeof result !== 'object' || result.format !== 'module' || !isMarked(url, ESM_FILES)) return result;
    const text = sourceText(result.source);
    return text === undefined ? result : { ...result, source: markSource(url, text) };
  } catch {
    return result;
  }
}

/** Whether the app's entry point (`node app.mjs`) is an ES module: `.mjs`, or `.js` under a package.json of `"type": "module"`. */
export function entryIsEsModule(): boolean {
  const main = process.argv[1];
  if (typeof main !== 'string' || main === '') return false;
  if (main.endsWith('.mjs')) return true;
  if (main.endsWith('.cjs')) return false;
  for (let dir = dirname(main); ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown }).type === 'module';
    } catch {
      // No package.json here (or not JSON): look further up.
    }
    if (dirname(dir) === dir) return false;
  }
}

/** Whether a package of `ESM_FILES` is in a `node_modules` folder above the entry point (an app without one pays for no hooks thread). */
function targetInstalled(): boolean {
  const pkgs = new Set(ESM_FILES.map((f) => (f.startsWith('@') ? f.split('/').slice(0, 2).join('/') : f.split('/')[0])));
  for (let dir = dirname(process.argv[1]); ; dir = dirname(dir)) {
    for (const pkg of pkgs) if (existsSync(join(dir, 'node_modules', pkg, 'package.json'))) return true;
    if (dirname(dir) === dir) return false;
  }
}

/** The in-thread load hook, once (`module.registerHooks`: 22.15+, 24, 26); false where there is none. */
let inThread = false;
function installInThread(): boolean {
  if (inThread) return true;
  const M = Module as unknown as { registerHooks?: RegisterHooks };
  if (typeof M.registerHooks !== 'function' || !isMainThread()) return false;
  M.registerHooks.call(Module, { load: syncLoad });
  inThread = true;
  return true;
}

/**
 * Calls `fire` when an ES module first imports one of the built-in modules `urls` (`node:http`),
 * where the load hook runs in the loading thread. False where it cannot (Node 20, 22 before
 * 22.15: the off-thread hook cannot call back into this thread): the caller decides then.
 */
export function watchBuiltinImports(urls: readonly string[], fire: () => void): boolean {
  try {
    if (!installInThread()) return false;
  } catch {
    return false;
  }
  for (const u of urls) builtinImports.set(u, fire);
  return true;
}

/** Sends the namespace of each marked ES module to `onModule`, from now on. */
export function watchEsModules(onModule: (namespace: unknown) => void): void {
  dc.subscribe(ESM_LOADED_CHANNEL, onModule);
  if (installed || !isMainThread()) return;
  installed = true;
  const M = Module as unknown as { registerHooks?: RegisterHooks; register?: Register };
  try {
    if (typeof M.registerHooks === 'function') {
      installInThread();
    } else if (typeof M.register === 'function' && entryIsEsModule() && targetInstalled()) {
      M.register.call(Module, pathToFileURL(join(__dirname, 'esm-loader.js')).href);
    }
  } catch (err) {
    logger.error('ES module builds of Hono, NestJS, graphql and @koa/router cannot be instrumented (no load hook); their CommonJS builds still are', err);
  }
}

/**
 * Patching of CommonJS libraries that publish no diagnostics channel (Express, gRPC, pino,
 * winston). One hook on `Module._load` sees every module, including CommonJS packages that an
 * ES module imports; a patcher recognises its library by the shape of its exports, so the
 * package's install path or alias does not matter. Modules loaded before the hook are
 * patched from the require cache. ES module builds (which `Module._load` never sees) come
 * through `esm-hook.ts` for the patchers that ask for them.
 */
import Module = require('node:module');
import { types } from 'node:util';
import { logger } from '../../internal/logger';
import { Codes } from '../../internal/errors';
import { watchEsModules } from './esm-hook';
import { ESM_FILES } from './esm-mark';

interface Patcher {
  /** For messages. */
  name: string;
  /** Does this module's exports belong to the library? Must be cheap and never throw. */
  matches(exports: unknown): boolean;
  /** Patch in place (prototypes, properties): ES importers see the same objects. */
  patch(exports: any): void;
  /** Also look at the ES module files of `esm-mark.ts` (their namespaces come through `esm-hook.ts`). */
  esm?: boolean;
}

interface ModuleInternals {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
  _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
  _cache: Record<string, { exports: unknown } | undefined>;
}

const M = Module as unknown as ModuleInternals;
const patchers: Patcher[] = [];
const seen = new WeakSet<object>();
let installed = false;
let watchingEsm = false;

/**
 * A module still loading, handed out to a circular `require`: Node gives its partial exports a
 * Proxy prototype that warns when a missing property is read (`Accessing non-existent property
 * ... inside circular dependency`). Matchers read properties, so such exports are looked at
 * only once the module has finished loading and is required again.
 */
function stillLoading(exports: object): boolean {
  return types.isProxy(Object.getPrototypeOf(exports));
}

function consider(exports: unknown): void {
  if (exports === null || (typeof exports !== 'object' && typeof exports !== 'function')) return;
  if (seen.has(exports as object) || stillLoading(exports as object)) return;
  seen.add(exports as object);
  for (const p of patchers) {
    let hit = false;
    try {
      hit = p.matches(exports);
    } catch {
      hit = false;
    }
    if (!hit) continue;
    try {
      p.patch(exports);
      logger.debug(`instrumented ${p.name}`);
    } catch (err) {
      logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] could not instrument ${p.name}; it stays untraced`, err);
    }
  }
}

export function addPatcher(p: Patcher): void {
  patchers.push(p);
  for (const key of Object.keys(M._cache)) {
    const mod = M._cache[key];
    if (mod === undefined || (typeof mod.exports === 'object' && mod.exports !== null && stillLoading(mod.exports))) continue;
    try {
      if (p.matches(mod.exports)) p.patch(mod.exports);
    } catch (err) {
      logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] could not instrument ${p.name}; it stays untraced`, err);
    }
  }
  if (p.esm === true && !watchingEsm) {
    watchingEsm = true;
    watchEsModules(consider);
  }
  if (installed) return;
  installed = true;
  const original = M._load;
  M._load = function load(this: unknown, ...args: [request: string, parent: unknown, isMain: boolean]): unknown {
    const exports = original.apply(this, args);
    consider(exports);
    if (watchingEsm && !esmHookSeesRequire && types.isModuleNamespaceObject(exports)) considerCompanions(args);
    return exports;
  };
}

/**
 * `require()` of an ES module (Node 20.19+) on a Node line whose load hook runs off-thread
 * (`module.register`): that hook does not see the modules `require()` loads, so the files of
 * `ESM_FILES` in the package just required are required again by path (the same, already
 * evaluated modules) and looked at. Once per package folder.
 */
const esmHookSeesRequire = typeof (Module as unknown as { registerHooks?: unknown }).registerHooks === 'function';
const companionsDone = new Set<string>();

function considerCompanions(args: [request: string, parent: unknown, isMain: boolean]): void {
  try {
    const file = M._resolveFilename(args[0], args[1], args[2]).split('\\').join('/');
    const at = file.lastIndexOf('/node_modules/');
    if (at < 0) return;
    const rest = file.slice(at + '/node_modules/'.length).split('/');
    const pkg = rest[0].startsWith('@') ? rest[0] + '/' + rest[1] : rest[0];
    const dir = file.slice(0, at) + '/node_modules/' + pkg;
    if (companionsDone.has(dir)) return;
    companionsDone.add(dir);
    for (const f of ESM_FILES) {
      if (!f.startsWith(pkg + '/')) continue;
      try {
        consider(require(dir + f.slice(pkg.length)));
      } catch {
        /* not in this version of the package */
      }
    }
  } catch {
    /* never in the way of a require */
  }
}

/** Wraps `obj[name]` once; the wrapper gets the original. */
export function wrapMethod<T extends object>(obj: T, name: string, wrap: (original: any) => any): void {
  const target = obj as Record<string, unknown> & { [k: symbol]: unknown };
  const original = target[name];
  if (typeof original !== 'function' || (original as { __tracewell?: boolean }).__tracewell) return;
  const wrapped = wrap(original);
  Object.defineProperty(wrapped, '__tracewell', { value: true });
  Object.defineProperty(wrapped, 'length', { value: (original as (...a: unknown[]) => unknown).length });
  target[name] = wrapped;
}

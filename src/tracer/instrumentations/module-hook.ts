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
import { join, sep } from 'node:path';
import { logger } from '../../internal/logger';
import { Codes } from '../../internal/errors';
import { watchBuiltinImports, watchEsModules } from './esm-hook';
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

/**
 * Our own build's folder (dist/cjs/): no module in it is a library we patch, and at start-up
 * they are all the require cache holds, so `addPatcher` skips them (a dozen integrations'
 * tests run on forty of our modules cost about 1.5 ms of start-up, mostly compiling the tests).
 */
const OWN = join(__dirname, '..', '..') + sep;
/** Replaced, never changed in place: a trigger that fires while `consider` runs the list must not shift it. */
let patchers: Patcher[] = [];
/** The exports each patcher has patched: a trigger's integration patches what it finds in the cache, then the exports that fired it, once each. */
const patchedBy = new WeakMap<Patcher, WeakSet<object>>();
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
  for (const p of patchers) apply(p, exports);
}

/** Patches `exports` with `p` if it matches and `p` has not patched it yet. */
function apply(p: Patcher, exports: object): void {
  let hit = false;
  try {
    hit = p.matches(exports);
  } catch {
    hit = false;
  }
  if (!hit) return;
  const done = patchedBy.get(p);
  if (done !== undefined) {
    if (done.has(exports)) return;
    done.add(exports);
  }
  try {
    p.patch(exports);
    logger.debug(`instrumented ${p.name}`);
  } catch (err) {
    logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] could not instrument ${p.name}; it stays untraced`, err);
  }
}

/**
 * Calls `fire` once, the first time a module's exports match `matches` (a module loaded before
 * counts too): `sdk.ts` loads an integration there, whose `addPatcher` calls patch what is in
 * the require cache, and the exports that fired it (an ES module's namespace is in no cache).
 */
export function addTrigger(t: { name: string; matches(exports: unknown): boolean; fire(): void; esm?: boolean }): void {
  const trigger: Patcher = {
    name: t.name,
    esm: t.esm,
    matches: t.matches,
    patch(exports: object) {
      if (!patchers.includes(trigger)) return;
      patchers = patchers.filter((p) => p !== trigger);
      const before = new Set(patchers);
      t.fire();
      for (const p of patchers) if (!before.has(p)) apply(p, exports);
    },
  };
  addPatcher(trigger);
}

export function addPatcher(p: Patcher): void {
  patchedBy.set(p, new WeakSet());
  patchers = [...patchers, p];
  for (const key of Object.keys(M._cache)) {
    if (key.startsWith(OWN)) continue;
    const mod = M._cache[key];
    if (mod === undefined || mod.exports === null || (typeof mod.exports !== 'object' && typeof mod.exports !== 'function') || stillLoading(mod.exports as object)) continue;
    apply(p, mod.exports as object);
    if (!patchers.includes(p)) break;
  }
  if (p.esm === true && !watchingEsm) {
    watchingEsm = true;
    watchEsModules(consider);
  }
  install();
}

/** `require()` names of built-in modules (with and without `node:`) -> what to call the first time one is required. */
const builtinTriggers = new Map<string, () => void>();

/**
 * Calls `fire` once, when the app first requires one of the built-in modules `names` (`http`,
 * `node:http`...): a CommonJS `require`, or an ES module's import on lines whose load hook runs
 * in the loading thread (`esm-hook.ts`). Returns whether ES imports are seen too.
 */
export function onBuiltin(names: readonly string[], fire: () => void): boolean {
  let fired = false;
  const once = (): void => {
    if (fired) return;
    fired = true;
    for (const n of names) {
      builtinTriggers.delete(n);
      builtinTriggers.delete('node:' + n);
    }
    try {
      fire();
    } catch (err) {
      logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] could not instrument ${names.join(', ')}; it stays untraced`, err);
    }
  };
  for (const n of names) {
    builtinTriggers.set(n, once);
    builtinTriggers.set('node:' + n, once);
  }
  install();
  return watchBuiltinImports(names.map((n) => 'node:' + n), once);
}

function install(): void {
  if (installed) return;
  installed = true;
  const original = M._load;
  M._load = function load(this: unknown, ...args: [request: string, parent: unknown, isMain: boolean]): unknown {
    const exports = original.apply(this, args);
    if (builtinTriggers.size !== 0) builtinTriggers.get(args[0])?.();
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

/**
 * The OpenTelemetry API's globals, written without loading `@opentelemetry/api`. The API keeps
 * what an SDK registers on `globalThis[Symbol.for('opentelemetry.js.api.<major>')]`, an object
 * `{ version, trace, context, propagation, ... }`, so that every copy of the API in a process
 * finds the same tracer provider, context manager and propagator (each copy reads it when the
 * version there is compatible with its own). Loading the API to call its setters loads 44
 * modules: more than the rest of the preload, and a third of what it adds to start-up.
 *
 * Written here the way the API's `registerGlobal` writes it: the object made with the API's
 * version when absent; a type already registered, or a different version there, refused. One
 * difference, and the reason this is used only while no copy of the API has been loaded: the
 * API registers its ProxyTracerProvider and points it at the SDK's provider, so tracers that
 * code took from it earlier start working; with no copy loaded, no such tracer exists.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

type GlobalType = 'context' | 'trace' | 'propagation';
type ApiGlobals = { version: string } & Partial<Record<GlobalType, unknown>>;

let written: { key: symbol; instances: Partial<Record<GlobalType, unknown>> } | null = null;

/**
 * The path of the API's entry module as `require` resolves it from here, and its version from
 * its package.json (the API exports no `./package.json`); undefined when either cannot be found.
 */
function locateApi(): { entry: string; version: string } | undefined {
  try {
    const entry = require.resolve('@opentelemetry/api');
    let dir = dirname(entry);
    for (let i = 0; i < 5; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === '@opentelemetry/api' && typeof pkg.version === 'string') return { entry, version: pkg.version };
      } catch {
        /* no package.json at this level */
      }
      dir = dirname(dir);
    }
  } catch {
    /* not resolvable from here */
  }
  return undefined;
}

/**
 * Registers `instances` as the API's globals without loading it. Returns undefined when it
 * cannot (the API already loaded, or not found): the caller then goes through the API.
 * Otherwise whether every one of them was taken (false: another SDK registered that type
 * first, or a different API version did; the others are still registered, as with the API).
 */
export function registerWithoutApi(instances: Record<GlobalType, unknown>): boolean | undefined {
  const api = locateApi();
  if (api === undefined || require.cache[api.entry] !== undefined) return undefined;
  const key = Symbol.for(`opentelemetry.js.api.${api.version.split('.')[0]}`);
  const g = globalThis as unknown as Record<symbol, ApiGlobals | undefined>;
  const globals = (g[key] ??= { version: api.version });
  if (globals.version !== api.version) return false;
  let all = true;
  const mine: Partial<Record<GlobalType, unknown>> = {};
  for (const type of Object.keys(instances) as GlobalType[]) {
    if (globals[type] !== undefined) {
      all = false;
      continue;
    }
    globals[type] = mine[type] = instances[type];
  }
  written = { key, instances: mine };
  return all;
}

/** Removes what `registerWithoutApi` wrote (what is still ours); false when it wrote nothing. */
export function unregisterWithoutApi(): boolean {
  if (written === null) return false;
  const globals = (globalThis as unknown as Record<symbol, ApiGlobals | undefined>)[written.key];
  if (globals !== undefined) {
    for (const type of Object.keys(written.instances) as GlobalType[]) if (globals[type] === written.instances[type]) delete globals[type];
  }
  written = null;
  return true;
}

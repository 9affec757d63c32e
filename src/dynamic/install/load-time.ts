/**
 * Placement at load time: the calls of the probes waiting for a module are put into its
 * source text before V8 compiles it, so no running code is changed (no debugger, no
 * recompile, and the module's first call is seen). Two hooks hand us the text:
 *
 * - `Module.prototype._compile(content, filename, format)`, which every CommonJS load goes
 *   through: `require()`, an ES module importing CommonJS, loaders that compile first and then
 *   call it (ts-node), and `require()` of an ES module (format `module`), on every Node line;
 * - a `module.registerHooks` load hook for ES modules (Node 22.15+, 24, 26), in place only
 *   while probes wait, which returns the changed `source`.
 *
 * A changed text is compiled once aside (`node:vm`, never run) before it is handed on: a call
 * that would not compile is left out and its probe reported, and the module loads as written.
 * Nothing here throws into a load.
 */
import Module = require('node:module');
import { fileURLToPath } from 'node:url';
import { compileFunction, Script } from 'node:vm';
import { Tok, tokenize } from './tokenizer';

export type SourceFormat = 'commonjs' | 'module';

/** Given a module's path, text and format, the text to compile instead, or undefined to leave it. */
type OnSource = (path: string, source: string, format: SourceFormat) => string | undefined;
/** A module was loaded (CommonJS: compiled and run; ES module: about to be compiled). */
type AfterLoad = (path: string, format: SourceFormat | 'other') => void;

type Compile = (this: unknown, content: string, filename: string, ...rest: unknown[]) => unknown;
type RegisterHooks = (hooks: object) => { deregister(): void };
interface LoadResult {
  format?: string;
  source?: string | ArrayBuffer | ArrayBufferView | null;
}

export class LoadTimeHooks {
  private cjsOn = false;
  private restoreCjs: (() => void) | null = null;
  private esm: { deregister(): void } | null = null;
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly onSource: OnSource,
    private readonly afterLoad: AfterLoad,
  ) {}

  /** Wraps `Module.prototype._compile`; stays until `uninstall()`. */
  installCommonJs(): void {
    if (this.restoreCjs !== null) return;
    const proto = Module.prototype as unknown as { _compile: Compile };
    const original = proto._compile;
    if (typeof original !== 'function') return;
    const self = this;
    const wrapped: Compile = function (this: unknown, content: string, filename: string, ...rest: unknown[]): unknown {
      let text = content;
      // Node passes the format from 20.19 on; loaders that call it themselves pass none (CommonJS).
      const format = rest[0] === undefined || rest[0] === 'commonjs' ? 'commonjs' : rest[0] === 'module' ? 'module' : 'other';
      if (self.cjsOn && format !== 'other' && typeof content === 'string' && typeof filename === 'string') {
        try {
          const changed = self.onSource(filename, content, format);
          if (changed !== undefined) text = changed;
        } catch {
          text = content;
        }
      }
      const result = original.call(this, text, filename, ...rest);
      if (self.cjsOn && typeof filename === 'string') {
        try {
          self.afterLoad(filename, format);
        } catch {
          /* never in the way of a load */
        }
      }
      return result;
    };
    proto._compile = wrapped;
    this.cjsOn = true;
    this.restoreCjs = () => {
      // Another wrapper put on top of ours keeps working: ours then only passes through.
      if (proto._compile === wrapped) proto._compile = original;
      this.cjsOn = false;
    };
  }

  /** Registers (or removes) the ES module load hook, where `module.registerHooks` exists. */
  setEsm(want: boolean): void {
    const register = (Module as unknown as { registerHooks?: RegisterHooks }).registerHooks;
    if (want && this.esm === null && typeof register === 'function') {
      try {
        this.esm = register.call(Module, {
          load: (url: string, context: unknown, nextLoad: (u: string, c: unknown) => LoadResult) => {
            const result = nextLoad(url, context);
            try {
              return this.onModule(url, result);
            } catch {
              return result;
            }
          },
        });
      } catch {
        this.esm = null;
      }
    } else if (!want && this.esm !== null) {
      try {
        this.esm.deregister();
      } catch {
        /* already gone */
      }
      this.esm = null;
    }
  }

  private onModule(url: string, result: LoadResult): LoadResult {
    if (!url.startsWith('file:') || result === null || typeof result !== 'object') return result;
    const path = fileURLToPath(url);
    const source = result.source;
    // CommonJS is placed by `_compile` (a CommonJS module imported goes through it too).
    if (result.format !== 'module' || source === null || source === undefined) {
      if (result.format !== 'commonjs') this.afterLoad(path, 'other');
      return result;
    }
    const text = typeof source === 'string' ? source : this.decoder.decode(source as ArrayBuffer);
    const changed = this.onSource(path, text, 'module');
    if (changed === undefined) {
      this.afterLoad(path, 'module');
      return result;
    }
    return { ...result, source: changed };
  }

  uninstall(): void {
    this.restoreCjs?.();
    this.restoreCjs = null;
    this.setEsm(false);
  }
}

const CJS_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];

/**
 * Why `src` would not compile as a module of `format` (V8's message), or null when it compiles.
 * Compiled aside, never run: CommonJS as Node compiles it (a function of the module's five
 * names); an ES module as the body of a strict async function once its `import` and `export`
 * declarations are taken out (so top-level `await` stays valid), which checks everything our
 * calls could break. Only used to compare a text with our calls against the same text without.
 */
export function compileError(src: string, format: SourceFormat): string | null {
  try {
    if (format === 'commonjs') compileFunction(blankHashbang(src), CJS_PARAMS);
    else new Script(`(async function () {"use strict";${moduleAsFunctionBody(blankHashbang(src))}\n})`);
    return null;
  } catch (err) {
    try {
      return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    } catch {
      return 'an error that cannot be described';
    }
  }
}

function blankHashbang(src: string): string {
  if (!src.startsWith('#!')) return src;
  const nl = src.indexOf('\n');
  return '//' + (nl < 0 ? src.slice(2) : src.slice(2, nl) + src.slice(nl));
}

/**
 * An ES module's text as a function body: top-level `import` declarations and `export`
 * lists removed, `export` before a declaration removed, `export default` turned into `void`,
 * `import.meta` into `Object.meta`. What this does not know makes the original fail too, and
 * a text whose original does not compile is not relied on.
 */
export function moduleAsFunctionBody(src: string): string {
  const t = tokenize(src);
  const n = t.kind.length;
  const edits: { from: number; to: number; text: string }[] = [];
  let depth = 0;
  const isDot = (k: number): boolean => k >= 0 && t.kind[k] === Tok.Punct && (t.text[k] === '.' || t.text[k] === '?.');
  /** From token `k` (after `import` or `export ... from`), the index after the module specifier, its `with {...}` and `;`. */
  const specifierEnd = (k: number): number => {
    let d = 0;
    for (; k < n; k++) {
      if (t.kind[k] === Tok.Punct) {
        const x = t.text[k];
        if (x === '{') d++;
        else if (x === '}') d--;
        else if (x === ';' && d === 0) return -1;
      } else if (t.kind[k] === Tok.String && d === 0) break;
    }
    if (k >= n) return -1;
    k++;
    if (k < n && t.kind[k] === Tok.Name && (t.text[k] === 'with' || t.text[k] === 'assert') && t.text[k + 1] === '{') {
      k += 2;
      while (k < n && !(t.kind[k] === Tok.Punct && t.text[k] === '}')) k++;
      k++;
    }
    if (k < n && t.kind[k] === Tok.Punct && t.text[k] === ';') k++;
    return k;
  };
  const endOf = (k: number): number => (k >= n ? src.length : t.start[k]);
  for (let i = 0; i < n; i++) {
    const kind = t.kind[i];
    const x = t.text[i];
    if (kind === Tok.Punct) {
      if (x === '(' || x === '[' || x === '{') depth++;
      else if (x === ')' || x === ']' || x === '}') depth--;
      continue;
    }
    if (kind !== Tok.Name || isDot(i - 1)) continue;
    if (x === 'import') {
      if (t.text[i + 1] === '.' && t.kind[i + 1] === Tok.Punct) {
        edits.push({ from: t.start[i], to: t.end[i], text: 'Object' });
        continue;
      }
      if (depth !== 0 || t.text[i + 1] === '(') continue;
      const end = specifierEnd(i + 1);
      if (end < 0) continue;
      edits.push({ from: t.start[i], to: endOf(end), text: ';' });
      i = end - 1;
    } else if (x === 'export' && depth === 0) {
      const next = t.text[i + 1];
      if (next === 'default') {
        edits.push({ from: t.start[i], to: t.end[i + 1], text: 'void' });
        i++;
      } else if (next === '*' || next === '{') {
        let k = i + 1;
        if (next === '{') {
          while (k < n && !(t.kind[k] === Tok.Punct && t.text[k] === '}')) k++;
          k++;
          if (!(t.kind[k] === Tok.Name && t.text[k] === 'from')) {
            if (k < n && t.kind[k] === Tok.Punct && t.text[k] === ';') k++;
            edits.push({ from: t.start[i], to: endOf(k), text: ';' });
            i = k - 1;
            continue;
          }
        }
        const end = specifierEnd(k);
        if (end < 0) continue;
        edits.push({ from: t.start[i], to: endOf(end), text: ';' });
        i = end - 1;
      } else {
        edits.push({ from: t.start[i], to: t.end[i], text: '' });
      }
    }
  }
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += src.slice(at, e.from) + e.text;
    at = e.to;
  }
  return out + src.slice(at);
}

/**
 * Installs probes by editing the running script: with `node:inspector` in this process, the
 * debugger is enabled just long enough to list the scripts, read one's source and replace it
 * (`Debugger.setScriptSource`) with the same source plus one guarded call per probe, inserted
 * on the probe's line before its first statement; then the debugger is disabled again (while
 * it is on, every `await` is several times slower). Line numbers do not move: the call is put
 * on the same line. A probe hit then costs a function call.
 *
 * A script's source is always rebuilt from its original text and the probes it has now, so
 * removing the last probe restores the original.
 */
import { Session } from 'node:inspector';
import { fileURLToPath } from 'node:url';
import { ScriptScopes, BlockKind } from './scope';
import { Tok, tokenAt } from './tokenizer';
import { decodeMappings, generatedFor, loadSourceMap, type Mapping } from '../sourcemap';

/** The global the inserted calls go through. */
export const HOOK = '__tracewell$probe';

/** Most names passed as separate arguments; more go in one array. */
export const MAX_POSITIONAL = 8;

export interface ScriptInfo {
  scriptId: string;
  url: string;
  /** A file path (from the `file://` URL or the plain path V8 reports), '' when the script has none. */
  path: string;
  sourceMapURL: string;
}

export class InstallError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where a probe goes in a script. */
export interface Placement {
  script: ScriptInfo;
  /** Offset in the original source where the call is inserted. */
  offset: number;
  /** 1-based generated line and column, for the status. */
  genLine: number;
  genCol: number;
  /** Parameters and locals in scope at that point (declared before it). */
  params: string[];
  locals: string[];
  /** Whether the probe's line is in a function (`this` has a meaning there). */
  inFunction: boolean;
}

interface Patched {
  script: ScriptInfo;
  original: string;
  /** Insertions by probe key. */
  inserts: Map<string, { offset: number; text: string }>;
}

function pathOf(url: string): string {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch {
      return '';
    }
  }
  return url.startsWith('/') || /^[A-Za-z]:[\\/]/.test(url) ? url.replace(/\\/g, '/') : '';
}

/** Does `path` end with `suffix` on a path boundary? (`src/member.ts` matches `/srv/app/src/member.ts`.) */
export function matchesSuffix(path: string, suffix: string): boolean {
  const s = suffix.replace(/^\.\//, '');
  if (s.startsWith('/')) return path === s;
  return path === s || (path.endsWith(s) && path.charCodeAt(path.length - s.length - 1) === 47 /* / */);
}

export class LiveEditor {
  private session: Session | null = null;
  private scripts: ScriptInfo[] = [];
  private readonly patched = new Map<string, Patched>();
  private readonly maps = new Map<string, { sources: string[]; mappings: Mapping[] } | null>();
  /** Milliseconds the debugger was on, over the process lifetime. */
  debuggerMs = 0;
  installs = 0;

  private post<T>(method: string, params?: object): T {
    let result: T | undefined;
    let error: Error | null = null;
    let done = false;
    this.session!.post(method, params ?? {}, (err, res) => {
      done = true;
      error = err;
      result = res as T;
    });
    if (!done) throw new InstallError('Inspector', `${method} did not answer synchronously`);
    if (error !== null) throw error;
    return result as T;
  }

  /** Runs `fn` with the debugger on (scripts listed), and always turns it off again. */
  withDebugger<T>(fn: () => T): T {
    const t0 = performance.now();
    const session = new Session();
    session.connect();
    this.session = session;
    this.scripts = [];
    session.on('Debugger.scriptParsed', (m: { params: { scriptId: string; url: string; sourceMapURL?: string } }) => {
      const p = m.params;
      if (p.url === '' || p.url.startsWith('node:')) return;
      this.scripts.push({ scriptId: p.scriptId, url: p.url, path: pathOf(p.url), sourceMapURL: p.sourceMapURL ?? '' });
    });
    try {
      this.post('Debugger.enable');
      return fn();
    } finally {
      try {
        this.post('Debugger.disable');
      } catch {
        /* disconnecting disables it too */
      }
      session.disconnect();
      this.session = null;
      this.debuggerMs += performance.now() - t0;
    }
  }

  /** Scripts whose path ends with `file` (a compiled file, or through its source map a `.ts` file). */
  find(file: string): { script: ScriptInfo; mapped: { sources: string[]; mappings: Mapping[]; source: number } | null }[] {
    // V8 lists a script again under the same URL after an edit, even a refused one (the new
    // source compiled aside); that copy is not the one running. The script we patched, else
    // the first listed for a path, is the live one.
    const direct = new Map<string, ScriptInfo>();
    for (const s of this.scripts) {
      if (s.path === '' || !matchesSuffix(s.path, file)) continue;
      const seen = direct.get(s.path);
      if (seen === undefined || Number(s.scriptId) < Number(seen.scriptId)) direct.set(s.path, s);
    }
    if (direct.size > 0) return [...direct.values()].map((script) => ({ script: this.current(script), mapped: null }));
    const out = new Map<string, { script: ScriptInfo; mapped: { sources: string[]; mappings: Mapping[]; source: number } }>();
    for (const s of this.scripts) {
      if (s.sourceMapURL === '' || s.path === '' || s.path.includes('/node_modules/')) continue;
      const m = this.mapOf(s);
      if (m === null) continue;
      const source = m.sources.findIndex((src) => matchesSuffix(src, file));
      if (source >= 0 && !out.has(s.path)) out.set(s.path, { script: this.current(s), mapped: { ...m, source } });
    }
    return [...out.values()];
  }

  /** The script we patched for this path, if any: its id stays the live one across edits. */
  private current(s: ScriptInfo): ScriptInfo {
    return this.patched.get(s.path)?.script ?? s;
  }

  private mapOf(s: ScriptInfo): { sources: string[]; mappings: Mapping[] } | null {
    const key = s.path;
    if (this.maps.has(key)) return this.maps.get(key)!;
    let m: { sources: string[]; mappings: Mapping[] } | null = null;
    try {
      const { map, sources } = loadSourceMap(s.path, s.sourceMapURL);
      m = { sources, mappings: decodeMappings(map.mappings) };
    } catch {
      m = null;
    }
    this.maps.set(key, m);
    return m;
  }

  private sourceOf(script: ScriptInfo): string {
    const p = this.patched.get(script.path);
    if (p !== undefined) return p.original;
    return this.post<{ scriptSource: string }>('Debugger.getScriptSource', { scriptId: script.scriptId }).scriptSource;
  }

  /** Where a probe on `line` (1-based, of the file or, through the map, of its source) goes. */
  place(script: ScriptInfo, line: number, mapped: { mappings: Mapping[]; source: number } | null): Placement {
    const src = this.sourceOf(script);
    const scopes = new ScriptScopes(src);
    const t = scopes.t;
    let genLine = line - 1;
    let from = -1;
    if (mapped !== null) {
      const g = generatedFor(mapped.mappings, mapped.source, line);
      if (g === null) throw new InstallError('NoCode', `line ${line} has no code in the compiled script (per its source map)`);
      genLine = g.genLine;
      from = (t.lineStarts[genLine] ?? src.length) + g.genCol;
    }
    // A new line at the end of the file ends its last line; it does not start one more.
    const lineCount = t.lineStarts.length - (src.length > 0 && t.lineStarts[t.lineStarts.length - 1] === src.length ? 1 : 0);
    if (genLine >= lineCount) throw new InstallError('NoCode', `line ${line} is past the end of the file (${lineCount} line${lineCount === 1 ? '' : 's'})`);
    const lineStart = from >= 0 ? from : t.lineStarts[genLine];
    const lineEnd = genLine + 1 < t.lineStarts.length ? t.lineStarts[genLine + 1] : src.length;
    const k = tokenAt(t, lineStart);
    if (k >= t.kind.length || t.start[k] >= lineEnd) throw new InstallError('NoCode', `line ${line} has no code (blank or a comment)`);
    const first = t.text[k];
    if (t.kind[k] === Tok.Punct && first !== '(' && first !== '[' && first !== '!' && first !== '-' && first !== '+' && first !== '`' && first !== ';') {
      throw new InstallError('NoStatement', `line ${line} does not start a statement (it starts with "${first}")`);
    }
    if (t.kind[k] === Tok.Name && ['else', 'catch', 'finally', 'case', 'default', 'in', 'of', 'instanceof'].includes(first)) {
      throw new InstallError('NoStatement', `line ${line} does not start a statement (it starts with "${first}")`);
    }
    if (!this.statementStart(scopes, k)) throw new InstallError('NoStatement', `line ${line} continues the statement of an earlier line; put the probe on the line where the statement starts`);
    const frame = scopes.frameAt(t.start[k]);
    if (frame < 0) throw new InstallError('NoStatement', `line ${line} is inside parentheses or brackets; put the probe on the line where the statement starts`);
    if (scopes.blocks[frame]?.kind === BlockKind.Class) throw new InstallError('NoStatement', `line ${line} is a class member declaration, not a statement`);
    const scope = scopes.scopeAt(t.start[k]);
    const col = t.start[k] - t.lineStarts[genLine];
    return { script, offset: t.start[k], genLine: genLine + 1, genCol: col + 1, params: scope.params, locals: scope.locals, inFunction: scope.fn !== null && !scope.fn.isArrow };
  }

  /** Where a probe on the entry of `typeName.methodName` (or function `methodName`) goes: before the first statement of its body. */
  placeMethod(script: ScriptInfo, typeName: string | undefined, methodName: string): Placement {
    const src = this.sourceOf(script);
    const scopes = new ScriptScopes(src);
    const t = scopes.t;
    const classOf = (open: number): string => {
      for (const b of scopes.chainAt(t.start[open])) if (b.kind === BlockKind.Class) return b.name;
      return '';
    };
    const hits = scopes.blocks.filter((b) => b.kind === BlockKind.Function && b.open >= 0 && b.name === methodName && (typeName === undefined || classOf(b.open) === typeName));
    const what = `${typeName ? typeName + '.' : ''}${methodName}`;
    if (hits.length === 0) throw new InstallError('UnknownMethod', `no ${typeName ? 'method' : 'function'} ${what} in ${script.path}`);
    if (hits.length > 1) throw new InstallError('AmbiguousMethod', `${what} is defined ${hits.length} times in ${script.path} (lines ${hits.map((b) => t.line[b.open] + 1).join(', ')}); use a line probe`);
    const b = hits[0];
    const k = b.open + 1;
    if (k >= t.kind.length) throw new InstallError('NoCode', `${what} has no body`);
    const offset = t.start[k];
    const line = t.line[k];
    return { script, offset, genLine: line + 1, genCol: offset - t.lineStarts[line] + 1, params: b.params.slice(), locals: [], inFunction: !b.isArrow };
  }

  /** Is token k the start of a statement? */
  private statementStart(scopes: ScriptScopes, k: number): boolean {
    const t = scopes.t;
    if (k === 0) return true;
    const p = k - 1;
    const prev = t.text[p];
    if (t.kind[p] === Tok.Punct) {
      if (prev === ';' || prev === '{' || prev === '}') return true;
      if (prev === ')' && t.line[p] < t.line[k]) {
        // `if (x)\n  stmt`: the statement belongs to the if; inserting before it would change that.
        const open = scopes.openParen.get(p);
        const before = open === undefined ? -1 : open - 1;
        if (before >= 0 && t.kind[before] === Tok.Name && ['if', 'for', 'while', 'with'].includes(t.text[before])) return false;
        return t.kind[k] === Tok.Name;
      }
      if (prev === ']' && t.line[p] < t.line[k]) return t.kind[k] === Tok.Name;
      return false;
    }
    // A name, number, string or template ending the previous line, then a new line starting with a name: ASI.
    if (t.line[p] < t.line[k] && t.kind[k] === Tok.Name) {
      if (t.kind[p] === Tok.Name && ['else', 'do', 'return', 'typeof', 'new', 'await', 'yield', 'void', 'delete', 'in', 'of', 'instanceof', 'case'].includes(prev)) return false;
      return true;
    }
    return false;
  }

  /** Applies the probe insertions of one script (all of them, from its original source). */
  apply(script: ScriptInfo, key: string, insert: { offset: number; text: string } | null): void {
    let p = this.patched.get(script.path);
    if (p === undefined) {
      if (insert === null) return;
      p = { script, original: this.sourceOf(script), inserts: new Map() };
    }
    const before = new Map(p.inserts);
    if (insert === null) p.inserts.delete(key);
    else p.inserts.set(key, insert);
    const list = [...p.inserts.values()].sort((a, b) => b.offset - a.offset);
    let src = p.original;
    for (const ins of list) src = src.slice(0, ins.offset) + ins.text + src.slice(ins.offset);
    try {
      this.setSource(p.script, src);
    } catch (err) {
      p.inserts = before;
      throw err;
    }
    if (p.inserts.size === 0) this.patched.delete(script.path);
    else this.patched.set(script.path, p);
    this.installs++;
  }

  private setSource(script: ScriptInfo, source: string): void {
    let res: { status?: string; exceptionDetails?: { text?: string; exception?: { description?: string }; lineNumber?: number } };
    try {
      res = this.post('Debugger.setScriptSource', { scriptId: script.scriptId, scriptSource: source });
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      if (/generator|async/i.test(msg)) throw new InstallError('BlockedByActiveGenerator', msg);
      throw new InstallError('LiveEditFailed', msg);
    }
    if (res.exceptionDetails !== undefined) {
      const d = res.exceptionDetails;
      throw new InstallError('NoStatement', `V8 did not accept the edit: ${d.exception?.description ?? d.text ?? 'compile error'} (line ${(d.lineNumber ?? 0) + 1})`);
    }
    if (res.status !== undefined && res.status !== 'Ok') {
      throw new InstallError(res.status === 'CompileError' ? 'NoStatement' : res.status, `V8 did not apply the edit: ${res.status}`);
    }
  }

  /** Has this script path got probes in it now? */
  isPatched(path: string): boolean {
    return this.patched.has(path);
  }
}

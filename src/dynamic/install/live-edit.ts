/**
 * Installs probes by editing the running script (Node 20, 22, 24; V8 in Node 26 no longer has
 * live edit: `canEdit()` says so): with `node:inspector` in this process, the
 * debugger is enabled just long enough to list the scripts, read one's source and replace it
 * (`Debugger.setScriptSource`) with the same source plus one guarded call per probe, inserted
 * on the probe's line before its first statement; then the debugger is disabled again (while
 * it is on, every `await` is several times slower). Line numbers do not move: the call is put
 * on the same line. A probe hit then costs a function call.
 *
 * A script's source is always rebuilt from its original text and the probes it has now, so
 * removing the last probe restores the original. A script whose calls were placed when it
 * loaded is known here too (`adopt`), with its original text, so that it can be edited the same way.
 */
import { Session } from 'node:inspector';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { decodeMappings, loadSourceMap, type Mapping } from '../sourcemap';
import { InstallError, matchesSuffix, SourcePlacer, withCalls, type Insert, type MappedSource, type Placement } from './placement';

interface ScriptInfo {
  scriptId: string;
  url: string;
  /** A file path (from the `file://` URL or the plain path V8 reports), '' when the script has none. */
  path: string;
  sourceMapURL: string;
}

interface Patched {
  /** The live script (its id '' for a script placed at load time, until the debugger lists it). */
  script: ScriptInfo;
  original: string;
  /** Insertions by probe key. */
  inserts: Map<string, Insert>;
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

export class LiveEditor {
  private session: Session | null = null;
  private scripts: ScriptInfo[] = [];
  private readonly patched = new Map<string, Patched>();
  private readonly maps = new Map<string, { sources: string[]; mappings: Mapping[] } | null>();
  /** Whether `Debugger.setScriptSource` works in this process (null: not tried yet). */
  private editable: boolean | null = null;
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
    const p = this.patched.get(s.path);
    if (p === undefined) return s;
    // Placed at load time: never edited, so the first script listed for its path is the live one.
    if (p.script.scriptId === '') p.script = s;
    return p.script;
  }

  /** The live script of a patched path (listed by the debugger, which must be on). */
  private resolve(p: Patched): ScriptInfo {
    if (p.script.scriptId !== '') return p.script;
    let best: ScriptInfo | null = null;
    for (const s of this.scripts) if (s.path === p.script.path && (best === null || Number(s.scriptId) < Number(best.scriptId))) best = s;
    if (best === null) throw new InstallError('LiveEditFailed', `the debugger does not list ${p.script.path}`);
    p.script = best;
    return best;
  }

  /**
   * Whether live edit works in this process: tried once, with the debugger on, on a one-line
   * script of our own (V8 in Node 26 answers "setScriptSource functionality no longer available").
   */
  canEdit(): boolean {
    if (this.editable !== null) return this.editable;
    const url = `tracewell-live-edit-check-${process.pid}`;
    try {
      // Listed once it runs in this context; it does nothing.
      new Script('void 0', { filename: url }).runInThisContext();
    } catch {
      return true;
    }
    const own = this.scripts.find((s) => s.url === url);
    // Not listed at once: nothing is known; the real edit will say.
    if (own === undefined) return true;
    try {
      this.post('Debugger.setScriptSource', { scriptId: own.scriptId, scriptSource: 'void 0;' });
      this.editable = true;
    } catch {
      this.editable = false;
    }
    return this.editable;
  }

  /** False once live edit was found missing; null when it was not tried. */
  get liveEdit(): boolean | null {
    return this.editable;
  }

  /** Records a script whose calls were put in when it loaded: its original text and those calls, by key. */
  adopt(path: string, original: string, inserts: Map<string, Insert>): void {
    this.patched.set(path, { script: { scriptId: '', url: '', path, sourceMapURL: '' }, original, inserts: new Map(inserts) });
  }

  /** The original text of a script with calls in it, placed at load time or by an edit. */
  originalOf(path: string): string | undefined {
    return this.patched.get(path)?.original;
  }

  /** Paths of the scripts with calls in them. */
  patchedPaths(): string[] {
    return [...this.patched.keys()];
  }

  /** Takes one call out of a script, by key (the debugger must be on). */
  remove(path: string, key: string): void {
    const p = this.patched.get(path);
    if (p === undefined || !p.inserts.has(key)) return;
    this.apply(p.script, key, null);
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
  place(script: ScriptInfo, line: number, mapped: MappedSource | null): Placement {
    return new SourcePlacer(this.sourceOf(script), script.path).line(line, mapped);
  }

  /** Where a probe on the entry of `typeName.methodName` (or function `methodName`) goes. */
  placeMethod(script: ScriptInfo, typeName: string | undefined, methodName: string): Placement {
    return new SourcePlacer(this.sourceOf(script), script.path).method(typeName, methodName);
  }

  /** Applies the probe insertions of one script (all of them, from its original source). */
  apply(script: ScriptInfo, key: string, insert: Insert | null): void {
    let p = this.patched.get(script.path);
    if (p === undefined) {
      if (insert === null) return;
      p = { script, original: this.sourceOf(script), inserts: new Map() };
    }
    const before = new Map(p.inserts);
    if (insert === null) p.inserts.delete(key);
    else p.inserts.set(key, insert);
    try {
      this.setSource(this.resolve(p), withCalls(p.original, p.inserts.values()));
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

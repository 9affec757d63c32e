/**
 * The probes of this process: definitions from the environment and the probe file (watched),
 * their statuses, and their installation. A probe whose file is not loaded yet waits
 * (RECEIVED); it is installed as soon as a CommonJS module of that name has loaded (before
 * the require returns), an ES module right after it loaded where `module.registerHooks`
 * exists, or else at the next of a few re-checks spaced out in time.
 */
import { existsSync, readdirSync, readFileSync, statSync, unwatchFile, watch, watchFile, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import Module = require('node:module');
import type { ResolvedConfig } from '../config/options';
import { counters } from '../internal/counters';
import { Codes } from '../internal/errors';
import { logger } from '../internal/logger';
import { parseDefinitions } from './definitions';
import { Intake } from './intake';
import { LiveEditor } from './install/live-edit';
import { HOOK, InstallError, MAX_POSITIONAL, probeCall } from './install/placement';
import { Redactor } from './redact';
import { namesFor, ProbeRuntime, type ActiveProbe } from './runtime';
import type { BadDefinition, ProbeSpec, ProbeStatusReport } from './types';

/** Re-checks for probes waiting for their file, in ms after start (then every last interval). */
const RECHECK_DELAYS = [0, 100, 500, 1000, 2000, 5000, 10_000, 30_000];
/** Retries of an edit V8 refused because the function was suspended at an await (every 20 ms doubling, at most 5 s apart: about 25 s in all). */
const MAX_INSTALL_RETRIES = 10;

interface Entry {
  spec: ProbeSpec | null;
  bad: BadDefinition | null;
  report: ProbeStatusReport;
  active: ActiveProbe | null;
  /** The script path it is installed in. */
  scriptPath: string;
  retries: number;
}

export interface DynamicOptions {
  inline: string;
  file: string;
  redact: readonly string[];
  redactExclude: readonly string[];
  budgetMs: number;
  globalSnapshotsPerSecond: number;
}

export class ProbeManager {
  private readonly entries = new Map<string, Entry>();
  private readonly editor = new LiveEditor();
  readonly redactor: Redactor;
  readonly runtime: ProbeRuntime;
  private readonly intake: Intake;
  private nextNum = 1;
  private recheckIndex = 0;
  private recheckTimer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private watcher: FSWatcher | null = null;
  private fileText: string | null = null;
  private stopped = false;
  private restoreModuleHook: (() => void) | null = null;
  private diskFiles: { at: number; files: string[] } | null = null;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly opts: DynamicOptions,
    runtimeId?: string,
  ) {
    this.redactor = new Redactor(opts.redact, opts.redactExclude);
    this.intake = new Intake(config, runtimeId);
    this.runtime = new ProbeRuntime(this.redactor, this.intake, opts.budgetMs, opts.globalSnapshotsPerSecond, config.service);
  }

  start(): void {
    const hook = this.runtime.hook as typeof this.runtime.hook & { error?: unknown };
    Object.defineProperty(hook, 'error', { value: this.runtime.hookError });
    Object.defineProperty(globalThis, HOOK, { value: hook, writable: false, enumerable: false, configurable: true });
    this.intake.start();
    if (this.opts.inline !== '') this.reconcile('TRACEWELL_PROBES', this.opts.inline);
    if (this.opts.file !== '') this.watchFile(this.opts.file);
    this.installModuleHook();
    this.scheduleRecheck(true);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.recheckTimer !== null) clearTimeout(this.recheckTimer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.watcher?.close();
    if (this.opts.file !== '') unwatchFile(this.opts.file);
    this.restoreModuleHook?.();
    this.updateEsmHook();
    const installed = [...this.entries.values()].filter((e) => e.active !== null);
    for (const e of installed) {
      e.active!.off = true;
      this.runtime.table[e.active!.num] = undefined;
    }
    if (installed.length > 0) {
      try {
        this.editor.withDebugger(() => {
          for (const e of installed) this.editor.apply({ scriptId: '', url: '', path: e.scriptPath, sourceMapURL: '' }, e.spec!.id, null);
        });
      } catch {
        /* the hook is off; the inserted calls return at once */
      }
    }
    await this.intake.stop();
  }

  // ------------------------------------------------------------------ definitions

  private watchFile(file: string): void {
    const load = (): void => {
      if (this.stopped) return;
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn(`[${Codes.PROBE_ERROR}] cannot read the probe file ${file}: ${(err as Error).message}`);
        text = '';
      }
      if (text === this.fileText) return;
      this.fileText = text;
      this.reconcile(file, text);
      this.scheduleRecheck(false);
    };
    load();
    // fs.watch on the folder sees edits, atomic renames and deletion; watchFile is the fallback for file systems without events.
    try {
      this.watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
        if (name === null || name === basename(file)) setTimeout(load, 20).unref();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      this.watcher = null;
    }
    watchFile(file, { persistent: false, interval: 1000 }, load);
  }

  /** Applies the definitions of one origin: new ones are added, changed ones replaced, missing ones removed. */
  reconcile(origin: string, text: string): void {
    const parsed = parseDefinitions(text, origin);
    const seen = new Set<string>();
    for (const bad of parsed.bad) {
      seen.add(bad.id);
      const old = this.entries.get(bad.id);
      if (old !== undefined) this.remove(old);
      const e: Entry = { spec: null, bad, report: this.newReport(bad.id, bad.version, 'UNKNOWN', origin), active: null, scriptPath: '', retries: 0 };
      this.entries.set(bad.id, e);
      this.setError(e, bad.errorType, bad.message);
    }
    for (const spec of parsed.probes) {
      seen.add(spec.id);
      const old = this.entries.get(spec.id);
      if (old !== undefined && old.spec !== null && old.spec.fingerprint === spec.fingerprint) continue;
      if (old !== undefined) this.remove(old);
      const w = spec.where;
      const location = w.methodName !== undefined ? `${w.sourceFile}#${w.typeName ? w.typeName + '.' : ''}${w.methodName}` : `${w.sourceFile}:${w.line}`;
      const e: Entry = { spec, bad: null, report: this.newReport(spec.id, spec.version, spec.type, location), active: null, scriptPath: '', retries: 0 };
      this.entries.set(spec.id, e);
      this.setStatus(e, 'RECEIVED', `waiting for ${spec.where.sourceFile} to load`);
    }
    for (const [id, e] of this.entries) {
      const from = e.spec?.origin ?? e.bad?.origin;
      if (from === origin && !seen.has(id)) {
        this.remove(e);
        this.entries.delete(id);
        logger.info(`probe ${id} removed (no longer in ${origin})`);
      }
    }
    this.publish();
  }

  private newReport(id: string, version: number, type: string, location: string): ProbeStatusReport {
    return { id, version, type, status: 'RECEIVED', message: '', location, hits: 0, emitted: 0, evaluationErrors: 0, rateLimited: 0 };
  }

  private remove(e: Entry): void {
    if (e.active !== null) {
      const a = e.active;
      a.off = true;
      this.runtime.table[a.num] = undefined;
      this.intake.dropMetric(e.report.id);
      try {
        this.editor.withDebugger(() => this.editor.apply({ scriptId: '', url: '', path: e.scriptPath, sourceMapURL: '' }, e.spec!.id, null));
      } catch (err) {
        logger.warn(`[${Codes.PROBE_ERROR}] probe ${e.report.id}: could not take the call out of ${e.scriptPath} (${(err as Error).message}); it is off and returns at once`);
      }
      e.active = null;
    }
    e.report.status = 'RECEIVED';
  }

  // ------------------------------------------------------------------ statuses

  private setStatus(e: Entry, status: 'RECEIVED' | 'INSTALLED' | 'EMITTING', message: string): void {
    e.report.status = status;
    e.report.message = message;
    delete e.report.errorType;
    this.intake.addDiagnostic({ probeId: e.report.id, probeVersion: e.report.version, status });
    logger.info(`probe ${e.report.id} ${status}: ${message}`);
    this.publish();
  }

  /**
   * `message` says why, never which probe: the status and the diagnostics carry the probe's id
   * and location beside it, and the log line names it once, here (with its location, or for a
   * bad definition where it came from, unless the id already holds it, as a compact probe's does).
   */
  private setError(e: Entry, errorType: string, message: string): void {
    e.report.status = 'ERROR';
    e.report.errorType = errorType;
    e.report.message = message;
    this.intake.addDiagnostic({ probeId: e.report.id, probeVersion: e.report.version, status: 'ERROR', exception: { type: errorType, message } });
    const where = e.report.location === '' || e.report.id.includes(e.report.location) ? '' : ` (${e.report.location})`;
    logger.warn(`[${Codes.PROBE_ERROR}] probe ${e.report.id}${where} ERROR (${errorType}): ${message}`, `probe-error-${e.report.id}-${errorType}`);
    this.publish();
  }

  /** Puts the reports in `stats().probes`. */
  private publish(): void {
    const list = [...this.entries.values()].map((e) => e.report);
    const p = counters.probes;
    p.statuses = list;
    p.defined = list.length;
    p.installed = list.filter((r) => r.status === 'INSTALLED' || r.status === 'EMITTING').length;
    p.errors = list.filter((r) => r.status === 'ERROR').length;
  }

  statuses(): ProbeStatusReport[] {
    return [...this.entries.values()].map((e) => ({ ...e.report }));
  }

  // ------------------------------------------------------------------ installing

  /** A CommonJS module whose file name matches a waiting probe triggers a re-check. */
  private installModuleHook(): void {
    const M = Module as unknown as { _extensions: Record<string, (module: unknown, filename: string) => void> };
    const originals: [string, (module: unknown, filename: string) => void][] = [];
    for (const ext of ['.js', '.cjs']) {
      const original = M._extensions[ext];
      if (typeof original !== 'function') continue;
      originals.push([ext, original]);
      const self = this;
      M._extensions[ext] = function (this: unknown, module: unknown, filename: string): void {
        original.call(this, module, filename);
        if (self.waiting()) self.onModuleLoaded(filename);
      };
    }
    this.restoreModuleHook = () => {
      for (const [ext, fn] of originals) M._extensions[ext] = fn;
    };
  }

  /**
   * ES modules: where `module.registerHooks` exists (Node 22.15+, 24), a load hook while
   * probes wait reports a matching module, so it is probed right after it loads; elsewhere
   * the timed re-checks find it. The hook is removed once nothing waits.
   */
  private esmHooks: { deregister(): void } | null = null;

  private updateEsmHook(): void {
    const register = (Module as unknown as { registerHooks?: (h: object) => { deregister(): void } }).registerHooks;
    const want = !this.stopped && this.waiting();
    if (want && this.esmHooks === null && typeof register === 'function') {
      try {
        this.esmHooks = register({
          load: (url: string, context: unknown, nextLoad: (u: string, c: unknown) => unknown) => {
            const result = nextLoad(url, context);
            try {
              if (url.startsWith('file:') && this.waiting()) this.onEsmLoaded(url);
            } catch {
              /* never in the way of a load */
            }
            return result;
          },
        });
      } catch {
        this.esmHooks = null;
      }
    } else if (!want && this.esmHooks !== null) {
      try {
        this.esmHooks.deregister();
      } catch {
        /* already gone */
      }
      this.esmHooks = null;
    }
  }

  private onEsmLoaded(url: string): void {
    const stem = stemOf(url);
    for (const e of this.entries.values()) {
      if (e.spec !== null && e.report.status === 'RECEIVED' && stemOf(e.spec.where.sourceFile) === stem) {
        // The module is compiled right after this hook returns; the check runs after that.
        this.scheduleRecheck(false);
        return;
      }
    }
  }

  private waiting(): boolean {
    for (const e of this.entries.values()) if (e.spec !== null && e.report.status === 'RECEIVED') return true;
    return false;
  }

  private onModuleLoaded(filename: string): void {
    const stem = stemOf(filename);
    for (const e of this.entries.values()) {
      if (e.spec !== null && e.report.status === 'RECEIVED' && stemOf(e.spec.where.sourceFile) === stem) {
        // Installed now, before the module's exports are used: its first call is seen too.
        this.recheck();
        return;
      }
    }
  }

  private scheduleRecheck(fromStart: boolean): void {
    if (this.stopped) return;
    if (fromStart) this.recheckIndex = 0;
    if (this.immediate === null) {
      this.immediate = setImmediate(() => {
        this.immediate = null;
        this.recheck();
      });
      this.immediate.unref();
    }
  }

  private scheduleTimer(): void {
    if (this.stopped || this.recheckTimer !== null || !this.waiting()) return;
    const delay = RECHECK_DELAYS[Math.min(++this.recheckIndex, RECHECK_DELAYS.length - 1)];
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = null;
      this.recheck();
    }, delay);
    this.recheckTimer.unref();
  }

  /** Tries to install every waiting probe, with the debugger on once for all of them. */
  recheck(): void {
    if (this.stopped) return;
    const received = [...this.entries.values()].filter((e) => e.spec !== null && e.report.status === 'RECEIVED');
    if (received.length === 0) return;
    const retry: Entry[] = [];
    try {
      this.editor.withDebugger(() => {
        for (const e of received) {
          try {
            this.install(e);
          } catch (err) {
            if (err instanceof InstallError && (err.errorType === 'BlockedByActiveGenerator' || err.errorType === 'BlockedByActiveFunction') && e.retries < MAX_INSTALL_RETRIES) {
              e.retries++;
              retry.push(e);
              e.report.message =
                err.errorType === 'BlockedByActiveFunction'
                  ? `V8 refused the edit while the probed function was running (on the stack); retry ${e.retries} of ${MAX_INSTALL_RETRIES}`
                  : `V8 refused the edit while a call of the probed async function was suspended at an await; retry ${e.retries} of ${MAX_INSTALL_RETRIES}`;
            } else if (err instanceof InstallError && (err.errorType === 'BlockedByActiveGenerator' || err.errorType === 'BlockedByActiveFunction')) {
              this.setError(e, err.errorType, `V8 refused the edit ${e.retries + 1} times because the probed function was running or suspended at an await each time; define the probe again to retry`);
            } else if (err instanceof InstallError) {
              this.setError(e, err.errorType, err.message);
            } else {
              this.setError(e, 'InstallFailed', (err as Error)?.message ?? String(err));
            }
          }
        }
      });
    } catch (err) {
      for (const e of received) if (e.report.status === 'RECEIVED') this.setError(e, 'Inspector', `the inspector is not available: ${(err as Error).message}`);
    }
    if (retry.length > 0) {
      const t = setTimeout(() => this.recheck(), Math.min(5000, 20 * 2 ** Math.min(...retry.map((e) => e.retries))));
      t.unref();
    }
    this.scheduleTimer();
    this.updateEsmHook();
  }

  private install(e: Entry): void {
    const spec = e.spec!;
    const found = this.editor.find(spec.where.sourceFile);
    if (found.length === 0) {
      if (!this.onDisk(spec.where.sourceFile)) throw new InstallError('UnknownFile', `no loaded script and no file under ${process.cwd()} ends with "${spec.where.sourceFile}"`);
      e.report.message = `waiting for ${spec.where.sourceFile} to load`;
      return;
    }
    if (found.length > 1) {
      throw new InstallError('AmbiguousFile', `"${spec.where.sourceFile}" matches ${found.length} loaded scripts (${found.slice(0, 3).map((f) => f.script.path).join(', ')}${found.length > 3 ? ', ...' : ''}); give more of the path`);
    }
    const { script, mapped } = found[0];
    const place = spec.where.methodName !== undefined ? this.editor.placeMethod(script, spec.where.typeName, spec.where.methodName) : this.editor.place(script, spec.where.line, mapped);
    const names = namesFor(spec, place);
    const num = this.nextNum++;
    const packed = names.length > MAX_POSITIONAL;
    const active = this.runtime.prepare({
      num,
      spec,
      report: e.report,
      names,
      argc: names.length,
      packed,
      off: false,
      overruns: 0,
      emitting: false,
      params: place.params,
      locals: place.locals,
      metric: spec.metric ? this.intake.metric(spec.id, spec.metric.metricName, spec.metric.kind) : null,
      tokens: spec.log?.snapshotsPerSecond ?? 0,
      perSecond: spec.log?.snapshotsPerSecond ?? 0,
      lastRefill: performance.now(),
      location: { file: spec.where.sourceFile, line: spec.where.methodName !== undefined ? place.genLine : spec.where.line },
      onOverrun: (p, ms) => this.overrun(p, ms),
      onNotInScope: (p, message) => this.notInScope(p, message),
      onFirstEmit: (p) => {
        const entry = this.entries.get(p.spec.id);
        if (entry !== undefined && entry.active === p) this.setStatus(entry, 'EMITTING', e.report.message);
      },
    });
    const text = probeCall(num, names);
    this.runtime.table[num] = active;
    try {
      this.editor.apply(script, spec.id, { offset: place.offset, text });
    } catch (err) {
      this.runtime.table[num] = undefined;
      throw err;
    }
    e.active = active;
    e.scriptPath = script.path;
    e.report.technique = 'live-edit';
    e.report.installedAt = `${script.path}:${place.genLine}:${place.genCol}`;
    this.setStatus(e, 'INSTALLED', `live edit at ${e.report.installedAt}${mapped && spec.where.methodName === undefined ? ` (${spec.where.sourceFile}:${spec.where.line} through its source map)` : ''}, capturing ${names.length === 0 ? 'nothing' : names.join(', ')}`);
  }

  private notInScope(p: ActiveProbe, message: string): void {
    const e = this.entries.get(p.spec.id);
    if (e === undefined || e.active !== p || this.stopped) return;
    this.remove(e);
    this.setError(e, 'NotInScope', `${message} at this line (a probe runs before its line: a name declared on it or later cannot be read yet); the probe is taken out`);
  }

  private overrun(p: ActiveProbe, ms: number): void {
    if (p.off) return;
    p.off = true;
    this.runtime.table[p.num] = undefined;
    const e = this.entries.get(p.spec.id);
    if (e === undefined || e.active !== p) return;
    this.setError(e, 'Overrun', `hits took up to ${ms.toFixed(1)} ms, over the ${this.opts.budgetMs} ms budget; the probe is off (its call returns at once)`);
  }

  /** Is there a file ending with `suffix` (absolute, or under the working directory)? */
  private onDisk(suffix: string): boolean {
    if (suffix.startsWith('/')) return existsSync(suffix);
    if (existsSync(resolvePath(suffix))) return true;
    const now = Date.now();
    if (this.diskFiles === null || now - this.diskFiles.at > 10_000) this.diskFiles = { at: now, files: listFiles(process.cwd(), 50_000) };
    const s = '/' + suffix.replace(/^\.\//, '');
    return this.diskFiles.files.some((f) => f.endsWith(s));
  }

  /** For tests and the agent: the hook's debugger time. */
  get debuggerMs(): number {
    return this.editor.debuggerMs;
  }
}

function stemOf(file: string): string {
  const b = basename(file);
  const dot = b.indexOf('.');
  return dot > 0 ? b.slice(0, dot) : b;
}

/** Files under `root` (not in node_modules or dot folders), at most `max`. */
function listFiles(root: string, max: number): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0 && out.length < max) {
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (n === 'node_modules' || n.startsWith('.')) continue;
      const p = join(dir, n);
      try {
        if (statSync(p).isDirectory()) stack.push(p);
        else out.push(p);
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

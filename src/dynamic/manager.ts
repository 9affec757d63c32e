/**
 * The probes of this process: definitions from the environment and the probe file (watched),
 * their statuses, and their calls in the app's code.
 *
 * A probe's call is put in one of two ways (the text is the same, see install/placement.ts):
 * - at load time: a module whose probes are known when it loads gets their calls in its
 *   source before V8 compiles it (CommonJS on every line, ES modules where
 *   `module.registerHooks` exists: 22.15+, 24, 26). Probes from the environment and the probe
 *   file are known before the app's modules load, so this is the common case;
 * - by live edit, for a probe defined after its module loaded (Node 20, 22, 24; V8 in Node 26
 *   has no live edit, so there such a probe is an ERROR `LoadedBeforeProbe` until the next start),
 *   and for ES modules on Node 20, found by re-checks spaced out in time.
 *
 * Each call in the code is a site with its own number; the probe bound to it is the one the
 * call reaches. A probe removed is unbound at once (its call returns at once), then its call is
 * taken out by live edit where that exists; where it does not, the call stays, inert, and a
 * probe defined later on the same line is bound to it when the names it passes suffice.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, realpathSync, statSync, unwatchFile, watch, watchFile, type FSWatcher, type Stats } from 'node:fs';
import { UnsafePathError } from '../delivery/dead-letter/private-fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import Module = require('node:module');
import type { ProbeConfig } from '../config/slices';
import { counters } from '../internal/counters';
import { Codes } from '../internal/errors';
import { logger } from '../internal/logger';
import { parseDefinitions } from './definitions';
import { Intake } from './intake';
import { LiveEditor } from './install/live-edit';
import { compileError, LoadTimeHooks, type SourceFormat } from './install/load-time';
import { HOOK, InstallError, MAX_POSITIONAL, matchesSuffix, probeCall, SourcePlacer, withCalls, type Insert, type MappedSource, type Placement } from './install/placement';
import { decodeMappings, parseSourceMap, readSourceMapText, sourceMappingURLOf } from './sourcemap';
import { Redactor } from '../internal/redact';
import { namesFor, ProbeRuntime, type ActiveProbe } from './runtime';
import type { BadDefinition, ProbeSpec, ProbeStatusReport } from './types';

/** Re-checks for probes waiting for their file, in ms after start (then every last interval). */
const RECHECK_DELAYS = [0, 100, 500, 1000, 2000, 5000, 10_000, 30_000];
/** Retries of an edit V8 refused because the function was suspended at an await (every 20 ms doubling, at most 5 s apart: about 25 s in all). */
const MAX_INSTALL_RETRIES = 10;

/** One call in the app's code. */
interface Site {
  num: number;
  /** The script it is in, and its key among that script's calls in the editor. */
  path: string;
  key: string;
  /** Where in the script's original text. */
  offset: number;
  /** The names the call passes, in order. */
  names: string[];
  params: string[];
  locals: string[];
  genLine: number;
  genCol: number;
  technique: 'load-time' | 'live-edit';
  /** `pricing.ts:9` when placed through a source map, else ''. */
  through: string;
  /** The probe the call reaches; null: none, the call returns at once. */
  entry: Entry | null;
}

interface Entry {
  spec: ProbeSpec | null;
  bad: BadDefinition | null;
  report: ProbeStatusReport;
  active: ActiveProbe | null;
  /** The call it is bound to. */
  site: Site | null;
  retries: number;
  /** Why the call already at its line could not serve it (names it does not pass), for the ERROR where code cannot change. */
  hint: string;
}

interface DynamicOptions {
  inline: string;
  file: string;
  redact: readonly string[];
  redactExclude: readonly string[];
  budgetMs: number;
  globalSnapshotsPerSecond: number;
}

export class ProbeManager {
  private readonly entries = new Map<string, Entry>();
  private readonly sites = new Map<number, Site>();
  private readonly editor = new LiveEditor();
  private readonly hooks = new LoadTimeHooks(
    (path, source, format) => this.onSource(path, source, format),
    (path, format) => this.afterLoad(path, format),
  );
  /** Scripts that loaded while a probe waited for them but got no call at load time, and why. */
  private readonly notPlaced = new Map<string, string>();
  /** Source maps of the scripts with calls in them, read once (to bind later probes to those calls). */
  private readonly placedMaps = new Map<string, MapLookup>();
  /** ES modules seen loading (CommonJS ones are in `require.cache`): a probe's file must match only one loaded module. */
  private readonly esmLoaded = new Set<string>();
  readonly redactor: Redactor;
  readonly runtime: ProbeRuntime;
  private readonly intake: Intake;
  private nextNum = 1;
  private recheckIndex = 0;
  private recheckTimer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private watcher: FSWatcher | null = null;
  private fileText: string | null = null;
  /** Why the probe file is not used (named once per problem), or null. */
  private fileProblem: string | null = null;
  private stopped = false;
  private diskFiles: { at: number; files: string[] } | null = null;

  constructor(
    config: ProbeConfig,
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
    // Before the app's modules load: the hooks are in place for the first of them.
    this.hooks.installCommonJs();
    if (this.opts.inline !== '') this.reconcile('TRACEWELL_PROBES', this.opts.inline);
    if (this.opts.file !== '') this.watchFile(this.opts.file);
    this.updateEsmHook();
    this.scheduleRecheck(true);
  }

  /** Probe output still buffered, sent within `deadlineMs` (at exit); what is not acknowledged goes to the dead-letter file. */
  flushWithin(deadlineMs: number): Promise<void> {
    return this.intake.flushWithin(deadlineMs);
  }

  /** At `exit`: buffered probe output to the dead-letter file, synchronously. */
  persistNow(): void {
    this.intake.persistNow();
  }

  /** Probe output waits to be sent (for the exit hooks' `beforeExit`). */
  pending(): boolean {
    return this.intake.pending();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.recheckTimer !== null) clearTimeout(this.recheckTimer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.watcher?.close();
    if (this.opts.file !== '') unwatchFile(this.opts.file);
    this.hooks.uninstall();
    for (const e of this.entries.values()) {
      if (e.active !== null) {
        e.active.off = true;
        this.runtime.table[e.active.num] = undefined;
      }
    }
    // The calls return at once now; where live edit exists they are taken out too.
    if (this.sites.size > 0 && this.editor.liveEdit !== false) {
      try {
        this.editor.withDebugger(() => {
          if (!this.editor.canEdit()) return;
          for (const site of this.sites.values()) {
            try {
              this.editor.remove(site.path, site.key);
            } catch {
              /* this one stays, inert */
            }
          }
        });
      } catch {
        /* the calls are inert */
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
        text = readProbeFile(file);
        this.fileProblem = null;
      } catch (err) {
        if (err instanceof UnsafePathError) {
          // A probe file decides what data leaves the process: one that others can change is not used.
          if (this.fileProblem !== err.message) {
            this.fileProblem = err.message;
            logger.warn(`[${Codes.PROBE_ERROR}] the probe file ${file} is not used: ${err.message}; a probe file decides what data leaves the process, so it must be writable by this user or root only (its probes are removed until it is)`, `probe-file-unsafe:${err.message}`);
          }
        } else if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn(`[${Codes.PROBE_ERROR}] cannot read the probe file ${file}: ${(err as Error).message}`);
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
    const added: Entry[] = [];
    for (const bad of parsed.bad) {
      seen.add(bad.id);
      const old = this.entries.get(bad.id);
      if (old !== undefined) this.unbind(old);
      const e: Entry = { spec: null, bad, report: this.newReport(bad.id, bad.version, 'UNKNOWN', origin), active: null, site: null, retries: 0, hint: '' };
      this.entries.set(bad.id, e);
      this.setError(e, bad.errorType, bad.message);
    }
    for (const spec of parsed.probes) {
      seen.add(spec.id);
      const old = this.entries.get(spec.id);
      if (old !== undefined && old.spec !== null && old.spec.fingerprint === spec.fingerprint) continue;
      if (old !== undefined) this.unbind(old);
      const w = spec.where;
      const location = w.methodName !== undefined ? `${w.sourceFile}#${w.typeName ? w.typeName + '.' : ''}${w.methodName}` : `${w.sourceFile}:${w.line}`;
      const e: Entry = { spec, bad: null, report: this.newReport(spec.id, spec.version, spec.type, location), active: null, site: null, retries: 0, hint: '' };
      this.entries.set(spec.id, e);
      this.setStatus(e, 'RECEIVED', `waiting for ${spec.where.sourceFile} to load`);
      added.push(e);
    }
    for (const [id, e] of this.entries) {
      const from = e.spec?.origin ?? e.bad?.origin;
      if (from === origin && !seen.has(id)) {
        // Off at once: its call returns before reading anything.
        this.unbind(e);
        this.entries.delete(id);
        logger.info(`probe ${id} removed (no longer in ${origin})`);
      }
    }
    // A probe changed on the same line takes the call already there when it passes what it reads.
    for (const e of added) this.bindToPlacedCall(e);
    this.sweep();
    this.updateEsmHook();
    this.publish();
  }

  private newReport(id: string, version: number, type: string, location: string): ProbeStatusReport {
    return { id, version, type, status: 'RECEIVED', message: '', location, hits: 0, emitted: 0, evaluationErrors: 0, rateLimited: 0 };
  }

  /** The probe's call returns at once from now on; the call itself stays until `sweep()`. */
  private unbind(e: Entry): void {
    const a = e.active;
    if (a !== null) {
      a.off = true;
      if (this.runtime.table[a.num] === a) this.runtime.table[a.num] = undefined;
      this.intake.dropMetric(e.report.id);
      e.active = null;
    }
    if (e.site !== null) {
      if (e.site.entry === e) e.site.entry = null;
      e.site = null;
    }
    e.report.status = 'RECEIVED';
  }

  /** Takes the calls no probe is bound to out of the code, where live edit exists; elsewhere they stay, inert. */
  private sweep(): void {
    if (this.stopped || this.editor.liveEdit === false) return;
    const free = [...this.sites.values()].filter((s) => s.entry === null);
    if (free.length === 0) return;
    try {
      this.editor.withDebugger(() => {
        if (!this.editor.canEdit()) return;
        for (const site of free) {
          try {
            this.editor.remove(site.path, site.key);
            this.sites.delete(site.num);
          } catch (err) {
            logger.warn(`[${Codes.PROBE_ERROR}] could not take a probe's call out of ${site.path} (${(err as Error).message}); it returns at once`, `probe-sweep-${site.path}`);
          }
        }
      });
    } catch (err) {
      logger.warn(`[${Codes.PROBE_ERROR}] could not take probe calls out (${(err as Error).message}); they return at once`, 'probe-sweep');
    }
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

  // ------------------------------------------------------------------ binding a probe to a call

  /** Compiles the probe against the names its call passes. */
  private activate(e: Entry, site: Site): ActiveProbe {
    const spec = e.spec!;
    return this.runtime.prepare({
      num: site.num,
      spec,
      report: e.report,
      names: site.names,
      argc: site.names.length,
      packed: site.names.length > MAX_POSITIONAL,
      off: false,
      overruns: 0,
      emitting: false,
      params: site.params,
      locals: site.locals,
      metric: spec.metric ? this.intake.metric(spec.id, spec.metric.metricName, spec.metric.kind) : null,
      tokens: spec.log?.snapshotsPerSecond ?? 0,
      perSecond: spec.log?.snapshotsPerSecond ?? 0,
      lastRefill: performance.now(),
      location: { file: spec.where.sourceFile, line: spec.where.methodName !== undefined ? site.genLine : spec.where.line },
      onOverrun: (p, ms) => this.overrun(p, ms),
      onNotInScope: (p, message) => this.notInScope(p, message),
      onFirstEmit: (p) => {
        const entry = this.entries.get(p.spec.id);
        if (entry !== undefined && entry.active === p) this.setStatus(entry, 'EMITTING', entry.report.message);
      },
    });
  }

  /** The call reaches this probe from now on. */
  private attach(e: Entry, site: Site, active: ActiveProbe, how: string): void {
    this.runtime.table[site.num] = active;
    site.entry = e;
    e.active = active;
    e.site = site;
    e.hint = '';
    e.report.technique = site.technique;
    e.report.installedAt = `${site.path}:${site.genLine}:${site.genCol}`;
    const through = site.through !== '' ? ` (${site.through} through its source map)` : '';
    this.setStatus(e, 'INSTALLED', `${how} ${e.report.installedAt}${through}, capturing ${site.names.length === 0 ? 'nothing' : site.names.join(', ')}`);
  }

  private newSite(path: string, place: Placement, names: string[], technique: Site['technique'], spec: ProbeSpec, mapped: MappedSource | null): Site {
    const num = this.nextNum++;
    const through = mapped !== null && spec.where.methodName === undefined ? `${spec.where.sourceFile}:${spec.where.line}` : '';
    return { num, path, key: `site-${num}`, offset: place.offset, names, params: place.params, locals: place.locals, genLine: place.genLine, genCol: place.genCol, technique, through, entry: null };
  }

  /**
   * Binds a waiting probe to a call already in its script at its place, no probe bound to it,
   * passing every name the probe reads: no code changes (the way a probe changed at run time
   * takes effect where code cannot change). Returns whether it did.
   */
  private bindToPlacedCall(e: Entry): boolean {
    if (e.spec === null || e.report.status !== 'RECEIVED' || this.sites.size === 0) return false;
    try {
      return this.bindToPlacedCallIn(e, e.spec);
    } catch (err) {
      logger.warn(`[${Codes.PROBE_ERROR}] probe ${e.report.id}: ${(err as Error)?.message ?? String(err)}`, `probe-bind-${e.report.id}`);
      return false;
    }
  }

  private bindToPlacedCallIn(e: Entry, spec: ProbeSpec): boolean {
    for (const path of this.editor.patchedPaths()) {
      const src = this.editor.originalOf(path);
      if (src === undefined) continue;
      let maps = this.placedMaps.get(path);
      if (maps === undefined) this.placedMaps.set(path, (maps = new MapLookup(path, src)));
      const match = matchFile(spec.where.sourceFile, path, src, maps);
      if (match === null) continue;
      let place: Placement;
      try {
        place = placeIn(spec, new SourcePlacer(src, path), match.mapped);
      } catch {
        return false; // the install that follows reports it
      }
      const there = [...this.sites.values()].filter((s) => s.path === path && s.offset === place.offset && s.entry === null);
      if (there.length === 0) return false;
      const names = namesFor(spec, place);
      const site = there.find((s) => names.every((n) => s.names.includes(n)));
      if (site === undefined) {
        const passes = there[0].names;
        const missing = names.filter((n) => !passes.includes(n));
        const call = there[0].technique === 'load-time' ? `the call placed in ${path} when it loaded` : `the call put in ${path} by live edit`;
        e.hint = `${call} passes ${passes.length === 0 ? 'no names' : passes.join(', ')}; this version of the probe also reads ${missing.join(', ')}`;
        return false;
      }
      this.attach(e, site, this.activate(e, site), `bound to the call ${site.technique === 'load-time' ? 'placed at load time' : 'put by live edit'} at`);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ placing at load time

  private updateEsmHook(): void {
    this.hooks.setEsm(!this.stopped && this.waiting());
  }

  /**
   * A module is about to be compiled: the calls of the probes waiting for it go into its text.
   * Returns the text to compile, or undefined to leave it as it is.
   */
  private onSource(path: string, src: string, format: SourceFormat): string | undefined {
    if (this.stopped) return undefined;
    if (format === 'module') this.esmLoaded.add(path);
    if (!this.waiting()) return undefined;
    const matches: { e: Entry; mapped: MappedSource | null }[] = [];
    let maps: MapLookup | undefined;
    for (const e of this.entries.values()) {
      if (e.spec === null || e.report.status !== 'RECEIVED') continue;
      const m = matchFile(e.spec.where.sourceFile, path, src, (maps ??= new MapLookup(path, src)));
      if (m !== null) matches.push({ e, mapped: m.mapped });
    }
    if (matches.length === 0) return undefined;
    const placer = new SourcePlacer(src, path);
    let planned: { e: Entry; site: Site; active: ActiveProbe; insert: Insert }[] = [];
    for (const { e, mapped } of matches) {
      try {
        const spec = e.spec!;
        if (mapped === null) {
          const others = this.loadedMatching(spec.where.sourceFile, path);
          if (others.length > 0) {
            throw new InstallError('AmbiguousFile', `"${spec.where.sourceFile}" matches ${others.length + 1} loaded scripts (${[...others.slice(0, 2), path].join(', ')}${others.length > 2 ? ', ...' : ''}); give more of the path`);
          }
        }
        const place = placeIn(spec, placer, mapped);
        const site = this.newSite(path, place, namesFor(spec, place), 'load-time', spec, mapped);
        planned.push({ e, site, active: this.activate(e, site), insert: { offset: place.offset, text: probeCall(site.num, site.names) } });
      } catch (err) {
        if (err instanceof InstallError) this.setError(e, err.errorType, err.message);
        else this.setError(e, 'InstallFailed', (err as Error)?.message ?? String(err));
      }
    }
    if (planned.length === 0) return undefined;
    // The text is compiled aside first: a module never fails to load because of a probe.
    let text = withCalls(src, planned.map((p) => p.insert));
    if (compileError(text, format) !== null) {
      const own = compileError(src, format);
      if (own !== null) {
        // Not something a call did: the text cannot be checked this way, so it is left as it is.
        this.notPlaced.set(path, `its text could not be checked before compiling (${own})`);
        return undefined;
      }
      planned = planned.filter((p) => {
        const why = compileError(withCalls(src, [p.insert]), format);
        if (why !== null) this.setError(p.e, 'NoStatement', `the call would not compile at this line (${why}); the module loads without it`);
        return why === null;
      });
      text = withCalls(src, planned.map((p) => p.insert));
      if (planned.length === 0) return undefined;
      if (compileError(text, format) !== null) {
        for (const p of planned) this.setError(p.e, 'NoStatement', 'the calls of the probes on this file would not compile together; the module loads without them');
        return undefined;
      }
    }
    this.editor.adopt(path, src, new Map(planned.map((p) => [p.site.key, p.insert])));
    for (const p of planned) {
      this.sites.set(p.site.num, p.site);
      this.attach(p.e, p.site, p.active, 'placed at load time in');
    }
    return text;
  }

  /** Modules already loaded, other than `path`, whose path ends with `file`. */
  private loadedMatching(file: string, path: string): string[] {
    const out: string[] = [];
    for (const p of Object.keys((Module as unknown as { _cache: Record<string, unknown> })._cache ?? {})) if (p !== path && matchesSuffix(p, file)) out.push(p);
    for (const p of this.esmLoaded) if (p !== path && !out.includes(p) && matchesSuffix(p, file)) out.push(p);
    return out;
  }

  /** A module has loaded: a probe still waiting for it is looked for now (CommonJS: before `require()` returns). */
  private afterLoad(path: string, format: SourceFormat | 'other'): void {
    if (this.stopped || !this.waiting()) return;
    const stem = stemOf(path);
    for (const e of this.entries.values()) {
      if (e.spec === null || e.report.status !== 'RECEIVED' || stemOf(e.spec.where.sourceFile) !== stem) continue;
      if (format === 'other' && matchesSuffix(path, e.spec.where.sourceFile)) this.notPlaced.set(path, 'load-time placement reads JavaScript, and Node compiles this file from another language itself');
      // An ES module is compiled right after its load hook returns: the check runs after that.
      if (format === 'commonjs') this.recheck();
      else this.scheduleRecheck(false);
      return;
    }
  }

  // ------------------------------------------------------------------ installing by live edit

  private waiting(): boolean {
    for (const e of this.entries.values()) if (e.spec !== null && e.report.status === 'RECEIVED') return true;
    return false;
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

  /** Tries to install every waiting probe: first on calls already placed, then with the debugger on once for the rest. */
  recheck(): void {
    if (this.stopped) return;
    const received = [...this.entries.values()].filter((e) => e.spec !== null && e.report.status === 'RECEIVED' && !this.bindToPlacedCall(e));
    if (received.length === 0) {
      this.updateEsmHook();
      return;
    }
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
    if (!this.editor.canEdit()) throw new InstallError('LoadedBeforeProbe', this.cannotEdit(e, script.path));
    const place = spec.where.methodName !== undefined ? this.editor.placeMethod(script, spec.where.typeName, spec.where.methodName) : this.editor.place(script, spec.where.line, mapped);
    const site = this.newSite(script.path, place, namesFor(spec, place), 'live-edit', spec, mapped);
    const active = this.activate(e, site);
    // In the table before the edit: the first call after it finds the probe.
    this.runtime.table[site.num] = active;
    try {
      this.editor.apply(script, site.key, { offset: place.offset, text: probeCall(site.num, site.names) });
    } catch (err) {
      this.runtime.table[site.num] = undefined;
      throw err;
    }
    this.sites.set(site.num, site);
    this.attach(e, site, active, 'live edit at');
  }

  /** Why a probe cannot be put in a script that has loaded, where V8 has no live edit. */
  private cannotEdit(e: Entry, path: string): string {
    const why = `Node ${process.versions.node} cannot change code that has loaded (V8 no longer has live edit)`;
    const skipped = this.notPlaced.get(path);
    if (skipped !== undefined) return `${path} loaded while this probe waited, but got no call then: ${skipped}; and ${why}`;
    if (e.hint !== '') return `${e.hint}, and ${why}; this version is placed when the file loads at the next start`;
    return `${path} was loaded before this probe was defined, and ${why}; the probe is placed when the file loads at the next start`;
  }

  private notInScope(p: ActiveProbe, message: string): void {
    const e = this.entries.get(p.spec.id);
    if (e === undefined || e.active !== p || this.stopped) return;
    this.unbind(e);
    this.sweep();
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

/** Where a probe goes in a script (a line, or a method's entry). */
function placeIn(spec: ProbeSpec, placer: SourcePlacer, mapped: MappedSource | null): Placement {
  return spec.where.methodName !== undefined ? placer.method(spec.where.typeName, spec.where.methodName) : placer.line(spec.where.line, mapped);
}

/** The source map of one script being loaded, read at most once, and only when it names the file asked for. */
class MapLookup {
  private text: string | null | undefined;
  private parsed: { sources: string[]; mappings: string } | null | undefined;
  private decoded: MappedSource['mappings'] | null = null;

  constructor(
    private readonly path: string,
    private readonly src: string,
  ) {}

  /** The mapped source of the script that ends with `file`, or null. */
  find(file: string): MappedSource | null {
    if (this.path.includes('/node_modules/')) return null;
    if (this.text === undefined) {
      const url = sourceMappingURLOf(this.src);
      try {
        this.text = url === '' ? null : readSourceMapText(this.path, url);
      } catch {
        this.text = null;
      }
    }
    // Cheap first: a map that does not even contain the file's name is not parsed.
    if (this.text === null || !this.text.includes(basename(file))) return null;
    if (this.parsed === undefined) {
      try {
        const { map, sources } = parseSourceMap(this.path, this.text);
        this.parsed = { sources, mappings: map.mappings };
      } catch {
        this.parsed = null;
      }
    }
    if (this.parsed === null) return null;
    const source = this.parsed.sources.findIndex((s) => matchesSuffix(s, file));
    if (source < 0) return null;
    this.decoded ??= decodeMappings(this.parsed.mappings);
    return { mappings: this.decoded, source };
  }
}

/** Is the script at `path` (text `src`) the probe's file, directly or through its source map? */
function matchFile(file: string, path: string, src: string, maps: MapLookup = new MapLookup(path, src)): { mapped: MappedSource | null } | null {
  if (matchesSuffix(path, file)) return { mapped: null };
  const mapped = maps.find(file);
  return mapped === null ? null : { mapped };
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

/**
 * The probe file's text, when nobody but this user (or root) can change it: the file (links
 * followed, as a Kubernetes ConfigMap mounts it) is a regular file owned by this user or root
 * and not writable by group or others, and so is the folder it really is in (or that folder
 * has the sticky bit). Read through the descriptor that was checked. Throws UnsafePathError.
 */
function readProbeFile(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const problem = probeFileProblem(fstatSync(fd), 'file') ?? probeFileProblem(statSync(dirname(realpathSync(file))), 'folder');
    if (problem !== null) throw new UnsafePathError(file, problem);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function probeFileProblem(st: Stats, what: 'file' | 'folder'): string | null {
  if (process.platform === 'win32') return null;
  const uid = process.getuid?.() ?? -1;
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  const where = what === 'file' ? 'is' : 'is in a folder';
  if (what === 'file' && !st.isFile()) return 'is not a regular file';
  if (st.uid !== uid && st.uid !== 0) return `${where} owned by uid ${st.uid}, not by this process's user (uid ${uid}) or root`;
  if ((st.mode & 0o022) !== 0 && (what === 'file' || (st.mode & 0o1000) === 0)) return `${where} writable by group or others (mode ${mode})`;
  return null;
}

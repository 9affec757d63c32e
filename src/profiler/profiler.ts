/**
 * The continuous profiler: a wall profile (line level, or span-linked with CPU time) and a
 * heap allocation profile, cut every `profilingUploadPeriodS`, gzip-encoded, and sent to the
 * agent and/or written to `profilingDir`. The last partial period is sent on shutdown (or,
 * when the process is ending through `process.exit()`, written synchronously).
 */
import { writeFile, writeFileSync } from 'node:fs';
import { ensurePrivateDir, UnsafePathError } from '../delivery/dead-letter/private-fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCb, gzipSync } from 'node:zlib';
import type { ProfilerConfig } from '../config/slices';
import { counters } from '../internal/counters';
import { Codes } from '../internal/errors';
import { describeError, logger } from '../internal/logger';
import { TRACER_VERSION } from '../internal/version';
import { contextStore, profilerHooks, type ProfiledSpan } from '../tracer/profiler-hooks';
import { loadBinding, type PprofBinding } from './binding';
import { asyncContextFrameActive, FrameWallProfiler, PlainWallProfiler } from './binding-internals';
import { endpointOf, LABEL_TRACE_ENDPOINT, rootEnded, SpanLabeler } from './labels';
import { SpanLinesProfiler, SpanTimeline } from './span-lines';
import { ProfileWriter, type LabelsOf, type RawHeapNode, type RawTimeProfile, type SlicedWriter } from './serialize';
import { buildProfileUpload, type FilePart, type ProfileEvent } from './multipart';
import { ProfileUploader } from './upload';

type Profile = ReturnType<PprofBinding['time']['stop']>;
type SourceMapper = Awaited<ReturnType<PprofBinding['SourceMapper']['create']>>;

const gzip = promisify(gzipCb);

/** Heap sampling: one sample per this many allocated bytes on average, stacks this deep. */
const HEAP_INTERVAL_BYTES = 512 * 1024;
const HEAP_STACK_DEPTH = 64;
/** Labels with few values: the binding shares one label object per value. */
const LOW_CARDINALITY_LABELS = [LABEL_TRACE_ENDPOINT];
/**
 * A cut wall profile is written in slices of about this many milliseconds, one per event-loop
 * turn (the clock is read every few nodes, so a slice can run a little over).
 */
const WRITE_SLICE_MS = 3;

interface Collected {
  start: Date;
  end: Date;
  /**
   * The binding's profile (where only its public API could be used), or the profile still to
   * write in slices (the cut tree, or span-lines' joined paths), or, once written, the encoded
   * pprof message.
   */
  wall: Profile | Buffer | SlicedWriter;
  /** The heap profile still to write in slices, then written. */
  heap: ProfileWriter | Buffer | null;
  endpointCounts: Record<string, number>;
}

function isSliced(wall: Profile | Buffer | SlicedWriter): wall is SlicedWriter {
  return !Buffer.isBuffer(wall) && typeof (wall as Partial<SlicedWriter>).step === 'function';
}

export class ContinuousProfiler {
  private mapper: SourceMapper | undefined;
  private labeler: SpanLabeler | null = null;
  /** Linked mode with async context frames: the wall profiler reading the tracer's own store. */
  private frameWall: FrameWallProfiler | null = null;
  /** Line mode, and linked mode without frames: the addon's wall profiler, cut raw. */
  private plainWall: PlainWallProfiler | null = null;
  private spanLines: SpanLinesProfiler | null = null;
  private readonly uploader: ProfileUploader | null;
  private timer: NodeJS.Timeout | null = null;
  private periodStart = new Date();
  private endpointCounts = new Map<string, number>();
  private running = false;
  /** The last period is being collected: no other collection may start. */
  private finishing = false;
  private readonly ready: Promise<void>;
  private readonly inflight = new Set<Promise<void>>();
  private seq = 0;
  private readonly tags: string;

  private constructor(
    private readonly config: ProfilerConfig,
    private readonly pprof: PprofBinding,
    runtimeId: string,
  ) {
    this.uploader = config.profilingUpload ? new ProfileUploader(config) : null;
    const clean = (v: string): string => v.replace(/,/g, '_');
    const tags = [
      `service:${clean(config.service)}`,
      `env:${clean(config.env)}`,
      `version:${clean(config.version)}`,
      'language:javascript',
      'runtime:nodejs',
      'format:pprof',
      `runtime-id:${runtimeId}`,
      `runtime_version:${process.version.slice(1)}`,
      `profiler_version:${TRACER_VERSION}`,
      `host:${clean(hostname())}`,
      `profiler_mode:${config.profilingMode}`,
    ];
    for (const [k, v] of Object.entries(config.tags)) tags.push(`${clean(k)}:${clean(v)}`);
    this.tags = tags.join(',');
    this.ready = this.begin();
  }

  /** Starts profiling, or says once why it cannot and returns null (tracing carries on). */
  static start(config: ProfilerConfig, runtimeId: string): ContinuousProfiler | null {
    const loaded = loadBinding();
    if ('error' in loaded) {
      logger.warn(`[${Codes.PROFILER_UNAVAILABLE}] profiling is off: @datadog/pprof could not be loaded on ${process.platform}-${process.arch} Node ${process.version} (${describeError(loaded.error)}); tracing is not affected`);
      return null;
    }
    return new ContinuousProfiler(config, loaded.binding, runtimeId);
  }

  private async begin(): Promise<void> {
    // The mapper is handed to the binding now and filled while profiling runs: it is read only
    // when a profile is serialized, and loading maps (a wasm parser) must not delay the start.
    let loading: Promise<void> = Promise.resolve();
    try {
      const mapper = new this.pprof.SourceMapper();
      this.mapper = mapper;
      loading = (async () => {
        for (const dir of this.config.profilingSourceMapDirs) await mapper.loadDirectory(dir);
      })().catch((err) => {
        logger.warn(`[${Codes.PROFILER_UNAVAILABLE}] source maps could not be read (${describeError(err)}); transpiled code is reported at its generated lines`, 'profiler-sourcemaps');
      });
    } catch (err) {
      logger.warn(`[${Codes.PROFILER_UNAVAILABLE}] source maps are not available (${describeError(err)}); transpiled code is reported at its generated lines`, 'profiler-sourcemaps');
    }
    try {
      const linked = this.config.profilingMode === 'linked';
      const frames = linked && asyncContextFrameActive();
      if (this.config.profilingMode === 'span-lines') {
        const timeline = new SpanTimeline();
        this.spanLines = new SpanLinesProfiler(timeline, this.config.profilingIntervalMs * 1000, Math.min(this.config.profilingUploadPeriodS * 1000, 5000), this.mapper);
        this.labeler = new SpanLabeler(timeline.record);
        this.labeler.install(false);
        this.spanLines.start();
      } else if (frames && this.startFrameWall()) {
        this.labeler = new SpanLabeler(() => {});
        const wall = this.frameWall!;
        this.labeler.installHolders((sample) => wall.holder(sample));
      } else if (this.startPlainWall(linked)) {
        if (linked) {
          const wall = this.plainWall!;
          this.labeler = new SpanLabeler((ctx) => wall.setContext(ctx));
          this.labeler.install(false);
        }
      } else {
        this.pprof.time.start({
          useCPED: frames,
          intervalMicros: this.config.profilingIntervalMs * 1000,
          sourceMapper: this.mapper,
          lineNumbers: !linked,
          withContexts: linked,
          collectCpuTime: linked,
          workaroundV8Bug: this.config.profilingV8BugWorkaround,
        });
        if (linked) {
          this.labeler = new SpanLabeler((ctx) => this.pprof.time.setContext(ctx));
          this.labeler.install(frames);
        }
      }
      if (this.config.profilingHeap) this.pprof.heap.start(HEAP_INTERVAL_BYTES, HEAP_STACK_DEPTH);
      profilerHooks.onLocalRootEnd = (span: ProfiledSpan) => {
        const e = endpointOf(span);
        if (e !== '') this.endpointCounts.set(e, (this.endpointCounts.get(e) ?? 0) + 1);
        rootEnded(span, e);
      };
      this.running = true;
      this.periodStart = new Date();
      // The binding stops its profiler in an 'exit' listener of its own, added when it loaded:
      // ours must run first, or the last period is gone before the exit hooks ask for it.
      process.prependListener('exit', this.onExit);
      this.timer = setInterval(() => this.track(this.period()), this.config.profilingUploadPeriodS * 1000);
      this.timer.unref();
      await loading;
      logger.info(`profiling (${this.config.profilingMode}${this.frameWall !== null ? ', span context read from the tracer\'s async context frames' : frames ? ', span context set in async context frames' : linked ? ', span context by async hook' : ''}, every ${this.config.profilingIntervalMs} ms, one profile per ${this.config.profilingUploadPeriodS} s)`);
    } catch (err) {
      logger.warn(`[${Codes.PROFILER_UNAVAILABLE}] profiling is off: the profiler could not start (${describeError(err)}); tracing is not affected`);
      this.teardown();
    }
  }

  /**
   * Line mode, or linked mode without frames, on the addon's profiler directly (so that a cut
   * can be written in slices); false (said once) where that cannot start: then the binding's
   * public API serializes each cut in one go, as before.
   */
  private startPlainWall(linked: boolean): boolean {
    try {
      this.plainWall = new PlainWallProfiler({
        intervalMicros: this.config.profilingIntervalMs * 1000,
        lineNumbers: !linked,
        withContexts: linked,
        workaroundV8Bug: this.config.profilingV8BugWorkaround,
      });
      return true;
    } catch (err) {
      logger.warn(`[${Codes.PROFILER_UNAVAILABLE}] the wall profile cannot be written in slices here (${describeError(err)}); each profile is serialized in one go, a longer pause`, 'profiler-plain');
      return false;
    }
  }

  /** Linked mode's wall profile read from the tracer's store; false (said once) where it cannot start. */
  private startFrameWall(): boolean {
    try {
      this.frameWall = new FrameWallProfiler(contextStore, {
        intervalMicros: this.config.profilingIntervalMs * 1000,
        sourceMapper: this.mapper,
        workaroundV8Bug: this.config.profilingV8BugWorkaround,
      });
      return true;
    } catch (err) {
      logger.warn(`[${Codes.PROFILER_UNAVAILABLE}] linked profiling cannot read span contexts from the tracer's store (${describeError(err)}); it sets a context per activation instead, at a higher cost per request`, 'profiler-frames');
      return false;
    }
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Records how long one synchronous step blocked the event loop. */
  private stall(t0: number, what: string): void {
    const ms = Math.round((performance.now() - t0) * 100) / 100;
    const p = counters.profiler;
    p.lastStallMs = ms;
    if (ms > p.maxStallMs) p.maxStallMs = ms;
    if (p.profilesCollected <= 1 && ms > p.firstProfileMaxStallMs) p.firstProfileMaxStallMs = ms;
    p.stallsMs.push(ms);
    if (p.stallsMs.length > 20) p.stallsMs.shift();
    logger.debug(`profiler: ${what} blocked ${ms} ms`);
  }

  /**
   * Stops the current period's wall profile (restarting it unless `last`) and serializes it:
   * the synchronous part, timed. The heap profile is taken in a later tick (`collectHeap`),
   * so the two pauses do not add up.
   */
  private collectWall(last: boolean): Collected | null {
    if (!this.running || this.finishing) return null;
    if (last) this.finishing = true;
    const t0 = performance.now();
    try {
      const end = new Date();
      const raw = this.frameWall ?? this.plainWall;
      const wall =
        this.spanLines !== null
          ? this.spanLines.collect(last)
          : raw !== null
            ? this.writer(raw.cutRaw(!last))
            : this.pprof.time.stop(!last, this.labeler?.labels, LOW_CARDINALITY_LABELS);
      if (!last && this.spanLines === null) this.checkV8Bug();
      // The last cut: nothing may call into the stopped profiler while the profile is finished.
      if (last) this.labeler?.uninstall();
      if (!(wall instanceof ProfileWriter)) this.labeler?.clear();
      const endpointCounts = Object.fromEntries(this.endpointCounts);
      this.endpointCounts = new Map();
      const c: Collected = { start: this.periodStart, end, wall, heap: null, endpointCounts };
      this.periodStart = end;
      counters.profiler.profilesCollected++;
      return c;
    } catch (err) {
      counters.profiler.dropped.collectFailed++;
      logger.error(`[${Codes.PROFILE_FAILED}] a profile could not be collected`, err, 'profile-collect');
      return null;
    } finally {
      this.stall(t0, this.frameWall !== null || this.plainWall !== null || this.spanLines !== null ? 'wall profile cut' : 'wall profile stop + serialize');
    }
  }

  /** The writer of a cut profile, with this period's labels (a cache of its own). */
  private writer(raw: RawTimeProfile): ProfileWriter {
    return ProfileWriter.time(raw, {
      intervalMicros: this.config.profilingIntervalMs * 1000,
      sourceMapper: this.mapper,
      labels: this.labeler?.labelsForOneProfile() as LabelsOf | undefined,
      lowCardinalityLabels: LOW_CARDINALITY_LABELS,
      timeNanos: Date.now() * 1e6,
    });
  }

  /**
   * A profile written in slices of about WRITE_SLICE_MS, one per event-loop turn, each timed as
   * a pause of its own; null when that failed (counted, said).
   */
  private async writeInSlices(w: SlicedWriter, what: 'wall' | 'heap'): Promise<Buffer | null> {
    for (let done = false; ; ) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const t0 = performance.now();
      try {
        // The parts put together (copies) in a turn of their own.
        if (done) return w.bytes();
        done = w.step(WRITE_SLICE_MS);
      } catch (err) {
        this.writeFailed(what, err);
        return null;
      } finally {
        this.stall(t0, `${what} profile write slice`);
      }
    }
  }

  /** At exit: a profile written in one go; null when that failed (counted, said). */
  private writeNow(w: SlicedWriter, what: 'wall' | 'heap'): Buffer | null {
    const t0 = performance.now();
    try {
      w.step(Infinity);
      return w.bytes();
    } catch (err) {
      this.writeFailed(what, err);
      return null;
    } finally {
      this.stall(t0, `${what} profile write`);
    }
  }

  /** A wall profile that cannot be written drops the upload (counted); a heap profile only itself (the wall profile goes alone). */
  private writeFailed(what: 'wall' | 'heap', err: unknown): void {
    if (what === 'wall') {
      counters.profiler.dropped.collectFailed++;
      logger.error(`[${Codes.PROFILE_FAILED}] a profile could not be serialized`, err, 'profile-collect');
    } else logger.error(`[${Codes.PROFILE_FAILED}] a heap profile could not be serialized; the wall profile is sent alone`, err, 'profile-heap');
  }

  /**
   * After a cut: did the binding find V8's profiler stuck (a profile with no samples) and
   * restart it? Counted; said once (with what to set if it keeps happening).
   */
  private checkV8Bug(): void {
    let detected = 0;
    try {
      const raw = this.frameWall ?? this.plainWall;
      detected = raw !== null ? raw.v8ProfilerStuckEventLoopDetected() : this.pprof.time.v8ProfilerStuckEventLoopDetected();
    } catch {
      return;
    }
    if (detected <= 0) return;
    counters.profiler.v8BugRecoveries++;
    logger.warn(
      `[${Codes.PROFILE_FAILED}] V8's CPU profiler was found stuck (${detected === 2 ? 'certainly' : 'possibly'}): that profile may be empty; the profiler was restarted${this.config.profilingV8BugWorkaround ? '' : ' (if this recurs, TRACEWELL_PROFILING_V8_BUG_WORKAROUND=true makes it less likely, at 10-20 ms of event-loop pause per profile)'}`,
      'profile-v8-bug',
    );
  }

  private collectHeap(c: Collected): void {
    if (!this.config.profilingHeap) return;
    const t0 = performance.now();
    try {
      // V8's allocation profile (the native step), written in slices afterwards; the binding's
      // `heap.profile()` would convert and serialize it in this same tick.
      const root = this.pprof.heap.v8Profile() as unknown as RawHeapNode;
      c.heap = ProfileWriter.heap(root, { intervalBytes: HEAP_INTERVAL_BYTES, sourceMapper: this.mapper, timeNanos: Date.now() * 1e6, external: process.memoryUsage().external });
    } catch (err) {
      logger.error(`[${Codes.PROFILE_FAILED}] a heap profile could not be collected; the wall profile is sent alone`, err, 'profile-heap');
    } finally {
      this.stall(t0, 'heap profile');
    }
  }

  private event(c: Collected, attachments: string[]): ProfileEvent {
    return {
      attachments,
      start: c.start.toISOString(),
      end: c.end.toISOString(),
      family: 'node',
      version: '4',
      tags_profiler: this.tags,
      endpoint_counts: c.endpointCounts,
    };
  }

  private async period(last = false): Promise<void> {
    const c = this.collectWall(last);
    if (c === null) {
      if (last) this.teardown();
      return;
    }
    if (isSliced(c.wall)) {
      const bytes = await this.writeInSlices(c.wall, 'wall');
      if (bytes === null) {
        if (last) this.teardown();
        return;
      }
      c.wall = bytes;
    }
    if (this.config.profilingHeap) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.collectHeap(c);
      // Without the heap profile the wall profile is still sent (as when it cannot be taken).
      if (c.heap instanceof ProfileWriter) c.heap = await this.writeInSlices(c.heap, 'heap');
    }
    if (last) this.teardown();
    let parts: FilePart[];
    try {
      const wall = c.wall as Profile | Buffer;
      parts = [{ name: 'wall.pprof', body: Buffer.isBuffer(wall) ? await gzip(wall) : await this.pprof.encode(wall) }];
      if (c.heap !== null) parts.push({ name: 'space.pprof', body: await gzip(c.heap as Buffer) });
    } catch (err) {
      counters.profiler.dropped.collectFailed++;
      logger.error(`[${Codes.PROFILE_FAILED}] a profile could not be encoded`, err, 'profile-encode');
      return;
    }
    this.deliver(c, parts, false);
  }

  /** To the profiling folder and/or the delivery layer (which sends, retries or keeps it). */
  private deliver(c: Collected, parts: FilePart[], sync: boolean): void {
    if (this.config.profilingDir !== '') this.writeFiles(c, parts, sync);
    if (this.uploader !== null) {
      const upload = buildProfileUpload(this.event(c, parts.map((p) => p.name)), parts);
      if (sync) this.uploader.persist(upload);
      else this.uploader.send(upload);
    }
  }

  private writeFiles(c: Collected, parts: FilePart[], sync: boolean): void {
    const dir = this.config.profilingDir;
    const stamp = c.end.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const n = this.seq++;
    try {
      // Checked like the dead-letter folder: ours, a real folder, not writable by others.
      ensurePrivateDir(dir);
    } catch (err) {
      counters.profiler.dropped.fileFailed += parts.length;
      if (err instanceof UnsafePathError) logger.warn(`[${Codes.PROFILE_FAILED}] the profiling folder ${dir} is not used: ${err.message}; profiles are not written to files (counted in stats().profiler.dropped.fileFailed)`, 'profile-file');
      else logger.error(`[${Codes.PROFILE_FAILED}] the profiling folder ${dir} could not be made`, err, 'profile-file');
      return;
    }
    for (const p of parts) {
      const file = join(dir, `${p.name.replace(/\.pprof$/, '')}-${stamp}-${process.pid}-${n}.pb.gz`);
      const done = (err: unknown): void => {
        if (err) {
          counters.profiler.dropped.fileFailed++;
          logger.error(`[${Codes.PROFILE_FAILED}] a profile could not be written to ${dir}`, err, 'profile-file');
        } else counters.profiler.filesWritten++;
      };
      // A new file each time (`wx`: an existing file or link at the name fails), 0600.
      if (sync) {
        try {
          writeFileSync(file, p.body, { flag: 'wx', mode: 0o600 });
          done(null);
        } catch (err) {
          done(err);
        }
      } else writeFile(file, p.body, { flag: 'wx', mode: 0o600 }, done);
    }
  }

  /** Something is recorded that has not been sent (for the exit hooks' `beforeExit`). */
  pending(): boolean {
    return this.running && !this.finishing;
  }

  /** The last partial period, sent within `deadlineMs` (what is not acknowledged by then is kept); profiling stops. */
  async flushWithin(deadlineMs: number): Promise<void> {
    const started = Date.now();
    await this.ready;
    if (this.running && !this.finishing) this.track(this.period(true));
    await Promise.all([...this.inflight]);
    await this.uploader?.flushWithin(Math.max(0, deadlineMs - (Date.now() - started)));
  }

  /** At `exit`: the last partial period, encoded and written synchronously (files and/or the dead-letter folder). */
  persistNow(): void {
    let c = this.collectWall(true);
    if (c !== null && isSliced(c.wall)) {
      const bytes = this.writeNow(c.wall, 'wall');
      if (bytes === null) c = null;
      else c.wall = bytes;
    }
    if (c !== null) {
      this.collectHeap(c);
      if (c.heap instanceof ProfileWriter) c.heap = this.writeNow(c.heap, 'heap');
    }
    this.teardown();
    if (c === null) {
      this.uploader?.persist(null);
      return;
    }
    try {
      const wall = c.wall as Profile | Buffer;
      const parts: FilePart[] = [{ name: 'wall.pprof', body: gzipSync(Buffer.isBuffer(wall) ? wall : wall.encode()) }];
      if (c.heap !== null) parts.push({ name: 'space.pprof', body: gzipSync(c.heap as Buffer) });
      this.deliver(c, parts, true);
    } catch (err) {
      counters.profiler.dropped.collectFailed++;
      logger.error(`[${Codes.PROFILE_FAILED}] the last profile could not be written at exit`, err, 'profile-exit');
    }
  }

  async shutdown(deadlineMs: number): Promise<void> {
    const started = Date.now();
    await this.flushWithin(deadlineMs);
    this.teardown();
    await this.uploader?.close(deadlineMs - (Date.now() - started));
  }

  private readonly onExit = (): void => {
    this.persistNow();
  };

  private teardown(): void {
    process.off('exit', this.onExit);
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.labeler?.uninstall();
    this.labeler = null;
    this.spanLines?.stop();
    this.spanLines = null;
    profilerHooks.onLocalRootEnd = null;
    if (this.running) {
      this.running = false;
      try {
        if (this.frameWall !== null) this.frameWall.dispose();
        else if (this.plainWall !== null) this.plainWall.dispose();
        else if (this.pprof.time.isStarted()) this.pprof.time.stop(false);
      } catch {
        /* already stopped */
      }
      try {
        if (this.config.profilingHeap) this.pprof.heap.stop();
      } catch {
        /* already stopped */
      }
    }
  }
}

/**
 * Runtime metrics (opt-in, `runtimeMetrics`): every 10 s, over DogStatsD, under the names
 * Datadog's Node.js runtime dashboard reads (`runtime.node.*`, as dd-trace-js sends them):
 * event-loop delay (a histogram: min, max, avg, median, 95th and 99th percentile, in ns),
 * event-loop utilisation, GC pauses (all and by type, ns), heap by space, heap used and total,
 * RSS, CPU user and system (percent of one core), and active handles by type; tagged with
 * service, env, version and runtime-id. When an OpenTelemetry MeterProvider is registered (by
 * the app, through `@opentelemetry/api`), the same values go to it too, under OpenTelemetry's
 * runtime names (`nodejs.eventloop.*`, `v8js.*`, `process.*`).
 *
 * Nothing here runs per request: one libuv timer samples the event-loop delay (every 10 ms),
 * a PerformanceObserver sees each GC, and the rest is read once per interval. One unref'd
 * UDP socket; datagrams of at most 1432 bytes (one Ethernet MTU); send errors are ignored.
 */
import { createSocket, type Socket } from 'node:dgram';
import { monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { createNoopMeter, metrics, type BatchObservableResult, type Histogram, type Meter, type Observable } from '@opentelemetry/api';
import type { ExportConfig } from '../config/slices';
import { dogstatsdTarget } from '../internal/dogstatsd';

const INTERVAL_MS = 10_000;
/** The event-loop delay sampling timer, ms (Node's default). */
const RESOLUTION_MS = 10;
/** GC pauses kept per interval (beyond it a pause still counts in sum and count, not in the percentiles). */
const MAX_GC_SAMPLES = 4096;
/** Largest datagram: one Ethernet MTU less the IP and UDP headers, so nothing is fragmented. */
const MAX_DATAGRAM = 1432;
/** When the app's MeterProvider is looked for (besides every interval): soon after start, once the app registered it. */
const METER_LOOK_MS = 1000;

/** Datadog's `gc_type` names by perf_hooks GC kind (dd-trace-js's). */
function gcType(kind: number): string {
  switch (kind) {
    case 1:
      return 'scavenge';
    case 2:
      return Number(process.versions.node.split('.')[0]) >= 22 ? 'minor_mark_sweep' : 'minor_mark_compact';
    case 4:
      return 'mark_sweep_compact';
    case 8:
      return 'incremental_marking';
    case 16:
      return 'process_weak_callbacks';
    default:
      return 'unknown';
  }
}

/** OpenTelemetry's `v8js.gc.type` by kind. */
function otelGcType(kind: number): string {
  return kind === 1 || kind === 2 ? 'minor' : kind === 4 ? 'major' : kind === 8 ? 'incremental' : kind === 16 ? 'weakcb' : 'unknown';
}

/** Durations (ns) seen in one interval. */
class Pauses {
  values: number[] = [];
  sum = 0;
  count = 0;
  add(duration: number): void {
    const ns = Math.round(duration);
    this.sum += ns;
    this.count++;
    if (this.values.length < MAX_GC_SAMPLES) this.values.push(ns);
  }
}

/** A value at quantile `q` of sorted `v`. */
function quantile(v: readonly number[], q: number): number {
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
}

/** A number as DogStatsD takes it (no exponent, at most 2 decimals). */
function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** What the last interval measured, for the OpenTelemetry instruments. */
interface Delay {
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

interface RuntimeMetrics {
  /** Sends what the current interval measured now, then stops (shutdown). */
  stop(): void;
}

export function startRuntimeMetrics(config: ExportConfig, runtimeId: string, intervalMs = INTERVAL_MS): RuntimeMetrics {
  const { host, port } = dogstatsdTarget(config.dogstatsdUrl);
  const tagList = [`service:${config.service}`];
  if (config.env) tagList.push(`env:${config.env}`);
  if (config.version) tagList.push(`version:${config.version}`);
  tagList.push(`runtime-id:${runtimeId}`);
  const tags = tagList.join(',');

  const delay: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  let lastDelay: Delay | null = null;
  const gcAll = new Pauses();
  const gcByType = new Map<string, Pauses>();
  let otelGc: Histogram | null = null;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0;
      const ns = entry.duration * 1e6;
      gcAll.add(ns);
      const type = gcType(kind);
      let p = gcByType.get(type);
      if (p === undefined) gcByType.set(type, (p = new Pauses()));
      p.add(ns);
      otelGc?.record(entry.duration / 1000, { 'v8js.gc.type': otelGcType(kind) });
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  let lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  let lastCpu = process.cpuUsage();
  let lastTime = performance.now();

  const lines: string[] = [];
  const gauge = (name: string, v: number, extra?: string): void => {
    if (Number.isFinite(v)) lines.push(`${name}:${num(v)}|g|#${tags}${extra ? ',' + extra : ''}`);
  };
  const count = (name: string, v: number, extra?: string): void => {
    if (Number.isFinite(v)) lines.push(`${name}:${num(v)}|c|#${tags}${extra ? ',' + extra : ''}`);
  };
  /** A histogram the way Datadog's dashboards read it (dd-trace-js's names). */
  const histogram = (name: string, s: { min: number; max: number; sum: number; count: number; median: number; p95: number; p99: number }, extra?: string): void => {
    gauge(`${name}.min`, s.min, extra);
    gauge(`${name}.max`, s.max, extra);
    count(`${name}.sum`, s.sum, extra);
    count(`${name}.total`, s.sum, extra);
    gauge(`${name}.avg`, s.count === 0 ? 0 : s.sum / s.count, extra);
    count(`${name}.count`, s.count, extra);
    gauge(`${name}.median`, s.median, extra);
    gauge(`${name}.95percentile`, s.p95, extra);
    gauge(`${name}.99percentile`, s.p99, extra);
  };
  const pauses = (name: string, p: Pauses, extra?: string): void => {
    if (p.count === 0) return;
    const v = p.values.sort((a, b) => a - b);
    histogram(name, { min: v[0], max: v[v.length - 1], sum: p.sum, count: p.count, median: quantile(v, 0.5), p95: quantile(v, 0.95), p99: quantile(v, 0.99) }, extra);
  };

  /** This interval's lines; the per-interval state starts again. */
  const collect = (): string[] => {
    lines.length = 0;
    const t = performance.now();
    const elapsedUs = (t - lastTime) * 1000;
    const cpu = process.cpuUsage();
    if (elapsedUs > 0) {
      const user = ((cpu.user - lastCpu.user) / elapsedUs) * 100;
      const system = ((cpu.system - lastCpu.system) / elapsedUs) * 100;
      gauge('runtime.node.cpu.user', user);
      gauge('runtime.node.cpu.system', system);
      gauge('runtime.node.cpu.total', user + system);
    }
    lastCpu = cpu;
    lastTime = t;

    const mem = process.memoryUsage();
    gauge('runtime.node.mem.rss', mem.rss);
    gauge('runtime.node.mem.heap_total', mem.heapTotal);
    gauge('runtime.node.mem.heap_used', mem.heapUsed);
    gauge('runtime.node.mem.external', mem.external);
    const heap = getHeapStatistics();
    gauge('runtime.node.heap.total_heap_size', heap.total_heap_size);
    gauge('runtime.node.heap.used_heap_size', heap.used_heap_size);
    gauge('runtime.node.heap.heap_size_limit', heap.heap_size_limit);
    gauge('runtime.node.heap.total_physical_size', heap.total_physical_size);
    gauge('runtime.node.heap.total_available_size', heap.total_available_size);
    gauge('runtime.node.heap.malloced_memory', heap.malloced_memory);
    for (const space of getHeapSpaceStatistics()) {
      const tag = `heap_space:${space.space_name}`;
      gauge('runtime.node.heap.size.by.space', space.space_size, tag);
      gauge('runtime.node.heap.used_size.by.space', space.space_used_size, tag);
      gauge('runtime.node.heap.available_size.by.space', space.space_available_size, tag);
      gauge('runtime.node.heap.physical_size.by.space', space.physical_space_size, tag);
    }
    gauge('runtime.node.process.uptime', Math.round(process.uptime()));

    const elu = performance.eventLoopUtilization(lastElu);
    lastElu = performance.eventLoopUtilization();
    gauge('runtime.node.event_loop.utilization', elu.utilization);

    if (delay.count > 0) {
      const d = delayNow(delay);
      lastDelay = d;
      histogram('runtime.node.event_loop.delay', { min: d.min, max: d.max, sum: Math.round(d.mean * delay.count), count: delay.count, median: d.p50, p95: d.p95, p99: d.p99 });
      delay.reset();
    }

    pauses('runtime.node.gc.pause', gcAll);
    for (const [type, p] of gcByType) pauses('runtime.node.gc.pause.by.type', p, `gc_type:${type}`);
    gcAll.values = [];
    gcAll.sum = gcAll.count = 0;
    gcByType.clear();

    const handles = activeHandles();
    let total = 0;
    for (const [type, n] of handles) {
      gauge('runtime.node.handles.active.by.type', n, `handle_type:${type}`);
      total += n;
    }
    gauge('runtime.node.handles.active', total);
    return lines.slice();
  };

  let socket: Socket | null = null;
  const send = (body: string[]): void => {
    try {
      socket ??= createSocket(host.includes(':') ? 'udp6' : 'udp4').on('error', () => undefined);
      socket.unref();
      let datagram = '';
      for (const line of body) {
        if (datagram !== '' && datagram.length + 1 + line.length > MAX_DATAGRAM) {
          socket.send(datagram, port, host, () => undefined);
          datagram = '';
        }
        datagram = datagram === '' ? line : datagram + '\n' + line;
      }
      if (datagram !== '') socket.send(datagram, port, host, () => undefined);
    } catch {
      /* metrics must never hurt the app */
    }
  };

  // ---------------------------------------------------------------- OpenTelemetry
  let meter: Meter | null = null;
  let otelElu: EventLoopUtilization = performance.eventLoopUtilization();
  const lookForMeter = (): void => {
    if (meter !== null) return;
    try {
      const m = metrics.getMeterProvider().getMeter('tracewell.runtime');
      if (m instanceof NOOP_METER) return;
      meter = m;
      registerOtel(m);
    } catch {
      /* a provider that throws gets nothing from us */
    }
  };
  const registerOtel = (m: Meter): void => {
    const seconds = { unit: 's' };
    const bytes = { unit: 'By' };
    const d = {
      min: m.createObservableGauge('nodejs.eventloop.delay.min', { ...seconds, description: 'Event loop minimum delay.' }),
      max: m.createObservableGauge('nodejs.eventloop.delay.max', { ...seconds, description: 'Event loop maximum delay.' }),
      mean: m.createObservableGauge('nodejs.eventloop.delay.mean', { ...seconds, description: 'Event loop mean delay.' }),
      p50: m.createObservableGauge('nodejs.eventloop.delay.p50', { ...seconds, description: 'Event loop 50th percentile delay.' }),
      p90: m.createObservableGauge('nodejs.eventloop.delay.p90', { ...seconds, description: 'Event loop 90th percentile delay.' }),
      p95: m.createObservableGauge('nodejs.eventloop.delay.p95', { ...seconds, description: 'Event loop 95th percentile delay.' }),
      p99: m.createObservableGauge('nodejs.eventloop.delay.p99', { ...seconds, description: 'Event loop 99th percentile delay.' }),
    };
    const utilization = m.createObservableGauge('nodejs.eventloop.utilization', { unit: '1', description: 'Event loop utilization.' });
    const heapUsed = m.createObservableGauge('v8js.memory.heap.used', { ...bytes, description: 'V8 heap memory used, by space.' });
    const heapSize = m.createObservableGauge('v8js.heap.space.size', { ...bytes, description: 'V8 heap space size, by space.' });
    const heapAvailable = m.createObservableGauge('v8js.heap.space.available_size', { ...bytes, description: 'V8 heap space available size.' });
    const heapLimit = m.createObservableGauge('v8js.memory.heap.limit', { ...bytes, description: 'V8 heap size limit.' });
    const rss = m.createObservableGauge('process.memory.usage', { ...bytes, description: 'Resident set size.' });
    const cpuTime = m.createObservableCounter('process.cpu.time', { ...seconds, description: 'CPU time, by mode.' });
    const handles = m.createObservableGauge('v8js.resource.active', { unit: '{resource}', description: 'Active resources keeping the event loop alive, by type.' });
    otelGc = m.createHistogram('v8js.gc.duration', { ...seconds, description: 'Garbage collection duration, by type.' });
    const all: Observable[] = [...Object.values(d), utilization, heapUsed, heapSize, heapAvailable, heapLimit, rss, cpuTime, handles];
    m.addBatchObservableCallback((r: BatchObservableResult) => {
      const last = lastDelay ?? (delay.count > 0 ? delayNow(delay) : null);
      if (last !== null) for (const k of Object.keys(d) as (keyof Delay)[]) r.observe(d[k], last[k] / 1e9);
      const elu = performance.eventLoopUtilization(otelElu);
      otelElu = performance.eventLoopUtilization();
      r.observe(utilization, elu.utilization);
      for (const space of getHeapSpaceStatistics()) {
        const a = { 'v8js.heap.space.name': space.space_name };
        r.observe(heapUsed, space.space_used_size, a);
        r.observe(heapSize, space.space_size, a);
        r.observe(heapAvailable, space.space_available_size, a);
      }
      r.observe(heapLimit, getHeapStatistics().heap_size_limit);
      r.observe(rss, process.memoryUsage.rss());
      const cpu = process.cpuUsage();
      r.observe(cpuTime, cpu.user / 1e6, { 'cpu.mode': 'user' });
      r.observe(cpuTime, cpu.system / 1e6, { 'cpu.mode': 'system' });
      for (const [type, n] of activeHandles()) r.observe(handles, n, { 'v8js.resource.type': type });
    }, all);
  };

  const timer = setInterval(() => {
    send(collect());
    lookForMeter();
  }, intervalMs);
  timer.unref();
  const look = setTimeout(lookForMeter, METER_LOOK_MS);
  look.unref();
  lookForMeter();

  return {
    stop() {
      clearInterval(timer);
      clearTimeout(look);
      send(collect());
      delay.disable();
      gcObserver.disconnect();
      const s = socket;
      socket = null;
      // Let the last datagrams leave before closing.
      if (s !== null) setImmediate(() => s.close());
    },
  };
}

/**
 * The event-loop delay the histogram holds, in ns. The timer-based histogram measures from one
 * sample to the next: the resolution is in every value, and is taken out (as dd-trace-js does
 * where Node has no per-iteration sampling).
 */
function delayNow(h: IntervalHistogram): Delay {
  const floor = RESOLUTION_MS * 1e6;
  const at = (q: number): number => Math.max(0, h.percentile(q) - floor);
  return { min: Math.max(0, h.min - floor), max: Math.max(0, h.max - floor), mean: Math.max(0, h.mean - floor), p50: at(50), p90: at(90), p95: at(95), p99: at(99) };
}

/** The NoopMeter class of @opentelemetry/api: what a MeterProvider gives when none is registered. */
const NOOP_METER = createNoopMeter().constructor as new () => Meter;

/** Active handles and requests by type (`process.getActiveResourcesInfo()`). */
function activeHandles(): Map<string, number> {
  const out = new Map<string, number>();
  const info = typeof process.getActiveResourcesInfo === 'function' ? process.getActiveResourcesInfo() : [];
  for (const type of info) out.set(type, (out.get(type) ?? 0) + 1);
  return out;
}

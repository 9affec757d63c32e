/**
 * Tracer health metrics (opt-in, `healthMetrics`): every 10 s the export counters go to
 * DogStatsD as `tracewell.exporter.*` — counts as deltas since the last send, gauges as they
 * are — tagged with service, env, version. One unref'd UDP socket; send errors are ignored.
 */
import { dogstatsdTarget } from '../internal/dogstatsd';
import { createSocket, type Socket } from 'node:dgram';
import type { ResolvedConfig } from '../config/options';
import { counters, type TracewellStats } from '../internal/counters';

const HEALTH_INTERVAL_MS = 10_000;

type Counted = [name: string, read: (s: TracewellStats) => number, tags?: string];

const COUNTS: Counted[] = [
  ['spans.sent', (s) => s.spansSent],
  ['payloads.sent', (s) => s.payloadsSent],
  ['retries', (s) => s.retries],
  ['spans.dead_lettered', (s) => s.deadLetter.spansWritten],
  ['spans.replayed', (s) => s.deadLetter.spansReplayed],
  ['spans.rejected', (s) => s.deadLetter.spansRejected],
  ['dead_letter.records_skipped', (s) => s.deadLetter.recordsSkipped],
  ['spans.dropped', (s) => s.dropped.bufferFull, 'reason:buffer_full'],
  ['spans.dropped', (s) => s.dropped.sendFailed, 'reason:send_failed'],
  ['spans.dropped', (s) => s.dropped.rejected, 'reason:rejected'],
  ['spans.dropped', (s) => s.dropped.encodeFailed, 'reason:encode_failed'],
  ['spans.dropped', (s) => s.dropped.shutdown, 'reason:shutdown'],
  ['spans.dropped', (s) => s.dropped.deadLetterFailed, 'reason:dead_letter_failed'],
  ['spans.dropped', (s) => s.dropped.evicted, 'reason:evicted'],
  ['spans.dropped', (s) => s.dropped.unsampled, 'reason:unsampled'],
];

/** The DogStatsD lines for the counters now, given the previous values (updated in place). */
function healthLines(prefix: string, tags: string, last: number[]): string[] {
  const lines: string[] = [];
  COUNTS.forEach(([name, read, extra], i) => {
    const v = read(counters);
    const d = v - (last[i] ?? 0);
    last[i] = v;
    if (d !== 0) lines.push(`${prefix}${name}:${d}|c|#${tags}${extra ? ',' + extra : ''}`);
  });
  lines.push(`${prefix}spans.pending:${counters.spansPending}|g|#${tags}`);
  lines.push(`${prefix}dead_letter.bytes:${counters.deadLetter.bytesOnDisk}|g|#${tags}`);
  lines.push(`${prefix}circuit.open:${counters.circuit === 'closed' ? 0 : 1}|g|#${tags}`);
  return lines;
}

export function startHealthMetrics(config: ResolvedConfig, intervalMs = HEALTH_INTERVAL_MS): { stop(): void } {
  const { host, port } = dogstatsdTarget(config.dogstatsdUrl);
  const tagList = [`service:${config.service}`, 'lang:nodejs'];
  if (config.env) tagList.push(`env:${config.env}`);
  if (config.version) tagList.push(`version:${config.version}`);
  const tags = tagList.join(',');
  const last: number[] = [];
  let socket: Socket | null = null;
  const send = (): void => {
    try {
      socket ??= createSocket(host.includes(':') ? 'udp6' : 'udp4').on('error', () => undefined);
      socket.unref();
      const body = healthLines('tracewell.exporter.', tags, last).join('\n');
      socket.send(body, port, host, () => undefined);
    } catch {
      /* metrics must never hurt the app */
    }
  };
  const timer = setInterval(send, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      send();
      const s = socket;
      socket = null;
      // Let the last datagram leave before closing.
      if (s !== null) setImmediate(() => s.close());
    },
  };
}

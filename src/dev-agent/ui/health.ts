/**
 * Export health: what each service sent this agent, what the agent refused or dropped, and the
 * dead-letter files in the default folder as `tracewell dlq ls` shows them (src/cli/dlq.ts,
 * read at most every few seconds: a folder can hold up to 128 MiB per service).
 */
import type { AgentStore } from '../store';
import { esc, fmtBytes, fmtTime, type View } from './html';

const DLQ_CACHE_MS = 5000;

interface DlqSummary {
  dir: string;
  lines: string[];
  refused: string[];
  files: number;
  bytes: number;
  pendingRecords: number;
  oldest: number | null;
  error: string | null;
  at: number;
}

let cache: DlqSummary | null = null;

function readDlq(dir: string): DlqSummary {
  const now = Date.now();
  if (cache !== null && cache.dir === dir && now - cache.at < DLQ_CACHE_MS) return cache;
  try {
    // Loaded here: the dead-letter reader brings the delivery layer, which the agent needs for nothing else.
    const dlq = require('../../cli/dlq') as typeof import('../../cli/dlq');
    const { files, lines, refused } = dlq.lsReport(dir);
    cache = {
      dir,
      lines,
      refused,
      files: files.length,
      bytes: files.reduce((a, f) => a + f.bytes, 0),
      pendingRecords: files.reduce((a, f) => a + dlq.pending(f).length, 0),
      oldest: files.length === 0 ? null : Math.min(...files.map((f) => f.time)),
      error: null,
      at: now,
    };
  } catch (err) {
    cache = { dir, lines: [], refused: [], files: 0, bytes: 0, pendingRecords: 0, oldest: null, error: (err as Error).message, at: now };
  }
  return cache;
}

export function healthView(store: AgentStore, dlqDir: string | null): View {
  const tallies = [...store.services.values()].sort((a, b) => a.service.localeCompare(b.service));
  const rows = tallies
    .map(
      (t) =>
        `<tr data-service="${esc(t.service)}"><td>${esc(t.service)}<div class="muted small">${esc(t.client)}</div></td><td class="num">${t.tracePayloads}</td><td class="num">${fmtBytes(t.traceBytes)}</td><td class="num">${t.chunks}</td><td class="num">${t.spans}</td><td class="num">${t.profiles}${t.profiles > 0 ? ` <span class="muted small">${fmtBytes(t.profileBytes)}</span>` : ''}</td><td class="num">${t.snapshots}</td><td class="num">${t.statuses}</td><td class="num">${t.processes.size}</td><td class="mono">${fmtTime(t.lastSeen)}</td></tr>`,
    )
    .join('');
  const services =
    tallies.length === 0
      ? '<div class="empty">Nothing received yet.</div>'
      : `<table class="services"><thead><tr><th>service</th><th class="num">trace payloads</th><th class="num">bytes</th><th class="num">trace chunks</th><th class="num">spans</th><th class="num">profiles</th><th class="num">probe log lines</th><th class="num">probe statuses</th><th class="num">processes</th><th>last received</th></tr></thead><tbody>${rows}</tbody></table>`;
  const e = store.evicted;
  const kept = `<table class="kv agent"><tbody>
<tr><td>traces kept</td><td>${store.traces.size} of at most ${store.limits.maxTraces} (${store.spanCount} spans, at most ${store.limits.maxSpans}); ${e.traces} dropped (${e.spans} spans), oldest first</td></tr>
<tr><td>spans over a trace's limit</td><td>${e.spansOverTraceLimit} (at most ${store.limits.maxSpansPerTrace} per trace)</td></tr>
<tr><td>profile uploads kept</td><td>${store.profiles.length} (the last ${store.limits.maxProfilesPerService} per service, ${store.limits.maxProfiles} in all); ${e.profiles} dropped</td></tr>
<tr><td>probe log lines kept</td><td>${store.snapshots.length} of at most ${store.limits.maxSnapshots}; ${e.snapshots} dropped</td></tr>
<tr><td>payloads refused</td><td>${store.rejected}</td></tr>
<tr><td>running since</td><td>${new Date(store.started).toLocaleString()}</td></tr>
</tbody></table>`;
  const rejections =
    store.rejections.length === 0
      ? ''
      : `<h3>Refused payloads (the most recent)</h3><table class="rejections"><thead><tr><th>time</th><th>endpoint</th><th>why</th></tr></thead><tbody>${[...store.rejections]
          .reverse()
          .map((r) => `<tr><td class="mono">${fmtTime(r.time)}</td><td class="mono">${esc(r.path)}</td><td>${esc(r.message)}</td></tr>`)
          .join('')}</tbody></table>`;
  let dead = '<p class="muted">Not looked at (this agent was started without a dead-letter folder).</p>';
  if (dlqDir !== null) {
    const d = readDlq(dlqDir);
    dead =
      d.error !== null
        ? `<p>Could not read <code>${esc(d.dir)}</code>: ${esc(d.error)}</p>`
        : `<div class="facts dlq-summary" data-files="${d.files}">${d.files} file${d.files === 1 ? '' : 's'} · ${fmtBytes(d.bytes)} · ${d.pendingRecords} pending record${d.pendingRecords === 1 ? '' : 's'}${d.oldest !== null ? ` · oldest from ${new Date(d.oldest).toLocaleString()}` : ''} · in <code>${esc(d.dir)}</code></div>
<p class="muted small">What <code>npx tracewell dlq ls</code> prints (payloads the SDKs of this machine could not send; <code>tracewell dlq replay</code> sends them, docs/export.md):</p><pre class="dlq-ls">${esc(d.lines.join('\n'))}</pre>${d.refused.map((r) => `<p class="badge err">refused: ${esc(r)}</p>`).join('')}`;
  }
  return {
    title: 'Export health',
    tab: 'health',
    live: `<h2>Received, per service</h2>${services}<h2>This agent</h2>${kept}${rejections}<h2>Dead-letter files</h2>${dead}`,
    etag: `h${store.version}.${Math.floor(Date.now() / DLQ_CACHE_MS)}`,
  };
}

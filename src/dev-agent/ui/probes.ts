/**
 * Probes: each probe's status in each process that reported it (received, installed, emitting,
 * error with its reason), the tags it put on spans and the log lines it sent, linked to their
 * traces by the same 128-bit id as everywhere else.
 */
import { traceIdOf, type AgentStore } from '../store';
import { esc, fmtTime, redacted, type View } from './html';
import { snapshotTable } from './traces';

/** Recent outputs shown per probe. */
const RECENT = 10;

export function probesView(store: AgentStore): View {
  const etag = `q${store.probeVersion}.${store.traceVersion}`;
  const ids = new Set<string>([...store.probes.values()].map((p) => p.probeId));
  for (const s of store.snapshots) ids.add(s.debugger.snapshot.probe.id);
  for (const d of store.decorations) ids.add(d.probeId);
  if (ids.size === 0) {
    return {
      title: 'Probes',
      tab: 'probes',
      live: `<div class="empty">No probes reported yet. Define one with <code>TRACEWELL_PROBES</code> or <code>TRACEWELL_PROBES_FILE</code> (docs/dynamic-probes.md), e.g. <code>TRACEWELL_PROBES='src/users.js:42 request.headers'</code>: its status, the tags it puts on spans and the log lines it sends show up here.</div>`,
      etag,
    };
  }
  const states = [...store.probes.values()];
  const statusRows = states
    .map((p) => {
      const d = p.latest;
      const reason = d.exception ? `<b>${esc(d.exception.type)}</b>: ${esc(d.exception.message)}` : '';
      return `<tr class="probe-status" data-probe="${esc(p.probeId)}" data-status="${esc(d.status)}"><td class="mono">${esc(p.probeId)}</td><td>${esc(p.service)}<div class="muted small">${esc(p.runtimeId)}</div></td><td><span class="badge status-${esc(d.status)}">${esc(d.status)}</span></td><td>${reason}</td><td class="small">${p.history.map(esc).join(' → ')}</td><td class="mono">${fmtTime(d.time)}</td></tr>`;
    })
    .join('');
  const statusTable = states.length === 0 ? '<p class="muted">No statuses received (the probes below sent output only).</p>' : `<table class="statuses"><thead><tr><th>probe</th><th>service / process</th><th>status</th><th>reason</th><th>statuses seen</th><th>last report</th></tr></thead><tbody>${statusRows}</tbody></table>`;
  const sections = [...ids]
    .map((id) => {
      const tags = store.decorations.filter((d) => d.probeId === id).slice(-RECENT).reverse();
      const logs = store.snapshots.filter((s) => s.debugger.snapshot.probe.id === id).slice(-RECENT).reverse();
      if (tags.length === 0 && logs.length === 0) return '';
      const parts = [`<h3 class="mono">${esc(id)}</h3>`];
      if (tags.length > 0) {
        parts.push(
          `<table class="decorations"><thead><tr><th>time</th><th>service</th><th>tag on the span</th><th>trace</th></tr></thead><tbody>${tags
            .map((d) => {
              const t = store.traces.get(d.traceLow);
              const id = t !== undefined ? traceIdOf(t) : '';
              return `<tr><td class="mono">${fmtTime(d.time)}</td><td>${esc(d.service)}</td><td>${esc(d.tag)} ${d.error ? `<span class="badge err">evaluation error</span> ${esc(d.value)}` : `= <code>${redacted(d.value)}</code>`}</td><td>${t !== undefined ? `<a class="mono" href="/ui/trace/${id}?span=${d.spanHex}">${id}</a>` : '<span class="muted">dropped</span>'}</td></tr>`;
            })
            .join('')}</tbody></table>`,
        );
      }
      if (logs.length > 0) parts.push(snapshotTable(logs, undefined, (low) => store.traces.get(low)));
      return parts.join('');
    })
    .join('');
  const dropped = store.evicted.snapshots > 0 ? `<p class="muted small">${store.evicted.snapshots} older log lines dropped (the agent keeps ${store.limits.maxSnapshots}).</p>` : '';
  return { title: 'Probes', tab: 'probes', live: `<h2>Probe statuses</h2>${statusTable}<h2>Recent output</h2>${sections || '<p class="muted">No tags or log lines yet.</p>'}${dropped}`, etag };
}

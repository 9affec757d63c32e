/**
 * Traces: the list (filtered by service, resource, errors, duration) and one trace as a
 * waterfall across every service and process that sent a part of it, with a span's tags,
 * metrics, error, the values probes captured on it and links to what was hot under it.
 */
import { spanTree } from '../print';
import { hex64, probeTags, traceIdOf, type AgentStore, type StoredSnapshot, type StoredSpan, type StoredTrace } from '../store';
import { chip, esc, fmtDuration, fmtTime, qs, redacted, serviceColor, type View } from './html';
import { LABEL_TRACE_ENDPOINT } from '../../profiler/labels';

/** Rows the list shows at most (the newest that match). */
const MAX_ROWS = 200;

interface TraceSummary {
  id: string;
  root: StoredSpan;
  start: bigint;
  durationNs: number;
  services: string[];
  processes: number;
  errors: number;
  spans: number;
  status: string;
}

/** One pass over the spans (the list summarizes every trace it filters). */
function summarize(t: StoredTrace): TraceSummary {
  const ids = new Set(t.spans.map((s) => s.span_id));
  let root: StoredSpan | undefined;
  let start = t.spans[0].start;
  let end = start;
  let errors = 0;
  const firstStart = new Map<string, bigint>();
  const processes = new Set<string>();
  for (const s of t.spans) {
    if (s.start < start) start = s.start;
    if (s.start + s.duration > end) end = s.start + s.duration;
    if (s.error === 1) errors++;
    processes.add(`${s.service}\u0000${s.runtimeId || s.pid}`);
    const seen = firstStart.get(s.service);
    if (seen === undefined || s.start < seen) firstStart.set(s.service, s.start);
    // The root: the earliest span whose parent is not here (what the waterfall puts first).
    if ((s.parent_id === 0n || !ids.has(s.parent_id)) && (root === undefined || s.start < root.start)) root = s;
  }
  root ??= t.spans[0];
  const services = [...firstStart.entries()].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).map(([name]) => name);
  return { id: traceIdOf(t), root, start, durationNs: Number(end - start), services, processes: processes.size, errors, spans: t.spans.length, status: statusOf(root) };
}

function statusOf(s: StoredSpan): string {
  if (s.meta['http.status_code']) return s.meta['http.status_code'];
  if (s.metrics['grpc.status.code'] !== undefined) return `grpc ${s.metrics['grpc.status.code']}`;
  return '';
}

export function traceListView(store: AgentStore, q: URLSearchParams): View {
  const service = q.get('service') ?? '';
  const resource = (q.get('resource') ?? '').trim();
  const errorsOnly = q.get('errors') === '1';
  const minMs = Number(q.get('min') ?? '');
  const services = [...store.services.values()].filter((s) => s.spans > 0).map((s) => s.service).sort();
  const form = `<form class="bar" id="filters" method="get" action="/ui">
<label>service <select name="service"><option value="">any</option>${services.map((s) => `<option${s === service ? ' selected' : ''}>${esc(s)}</option>`).join('')}</select></label>
<label>resource <input name="resource" value="${esc(resource)}" placeholder="GET /users/:id" size="22"></label>
<label><input type="checkbox" name="errors" value="1"${errorsOnly ? ' checked' : ''}> errors only</label>
<label>min duration <input name="min" value="${Number.isFinite(minMs) && minMs > 0 ? minMs : ''}" size="5" inputmode="decimal"> ms</label>
<button>filter</button>${service || resource || errorsOnly || minMs > 0 ? ' <a href="/ui">clear</a>' : ''}
</form>`;
  const match: TraceSummary[] = [];
  let matching = 0;
  const all = [...store.traces.values()];
  for (let i = all.length - 1; i >= 0; i--) {
    const t = all[i];
    if (t.spans.length === 0) continue;
    if (service && !t.spans.some((s) => s.service === service)) continue;
    if (resource && !t.spans.some((s) => s.resource.toLowerCase().includes(resource.toLowerCase()))) continue;
    if (errorsOnly && !t.spans.some((s) => s.error === 1)) continue;
    const sum = summarize(t);
    if (Number.isFinite(minMs) && minMs > 0 && sum.durationNs < minMs * 1e6) continue;
    matching++;
    if (match.length < MAX_ROWS) match.push(sum);
  }
  const note = `${store.traces.size} trace${store.traces.size === 1 ? '' : 's'} kept (the last ${store.limits.maxTraces}${store.evicted.traces > 0 ? `; ${store.evicted.traces} older ones dropped` : ''})${matching > match.length ? `; showing the newest ${match.length} of ${matching} that match` : matching !== store.traces.size ? `; ${matching} match` : ''}`;
  const rows = match
    .map((t) => {
      const href = `/ui/trace/${t.id}`;
      return `<tr class="${t.errors > 0 ? 'err' : ''}" data-trace="${t.id}"><td class="mono">${fmtTime(Number(t.start / 1_000_000n))}</td><td><a class="mono" href="${href}">${t.id}</a></td><td><a href="${href}">${esc(t.root.service)} <b>${esc(t.root.resource)}</b></a></td><td>${t.services.map(chip).join('')}</td><td class="num">${fmtDuration(t.durationNs)}</td><td class="num">${t.spans}</td><td>${esc(t.status)}</td><td class="num">${t.errors > 0 ? `<span class="badge err">${t.errors}</span>` : ''}</td></tr>`;
    })
    .join('');
  const live =
    `<p class="muted small">${esc(note)}</p>` +
    (match.length === 0
      ? `<div class="empty">${store.traces.size === 0 ? 'No traces yet. Point a traced service at this agent (<code>DD_TRACE_AGENT_URL</code>) and send it a request; traces show up here as they arrive.' : 'No trace matches these filters.'}</div>`
      : `<table class="traces"><thead><tr><th>started</th><th>trace id</th><th>root</th><th>services</th><th class="num">duration</th><th class="num">spans</th><th>status</th><th class="num">errors</th></tr></thead><tbody>${rows}</tbody></table>`);
  return { title: 'Traces', tab: 'traces', before: form, live, etag: `t${store.traceVersion}`, status: 200 };
}

/** The span of the same process a span hangs under at the top (its local root). */
function localRoot(span: StoredSpan, byId: Map<bigint, StoredSpan>): StoredSpan {
  let s = span;
  for (let i = 0; i < 10_000; i++) {
    const parent = byId.get(s.parent_id);
    if (parent === undefined || parent === s || parent.service !== s.service || parent.runtimeId !== s.runtimeId || parent.pid !== s.pid) return s;
    s = parent;
  }
  return s;
}

/** Services with profiles, for links from the trace view. */
function profiledServices(store: AgentStore): Set<string> {
  return new Set(store.profiles.map((p) => p.profile.tags.service ?? ''));
}

/** Links to the flame graph: what was hot under the span's endpoint, and under its request (linked profiles). */
function profileLinks(store: AgentStore, span: StoredSpan, root: StoredSpan): string {
  if (!profiledServices(store).has(span.service)) return '';
  const endpoint = root.resource;
  // Linked profiles label samples with the local root span's id (decimal) and its resource as the endpoint.
  const labelled = store.profiles.some((p) => p.profile.tags.service === span.service && Object.values(p.profile.profiles).some((pp) => pp.samples.some((s) => s.labels[LABEL_TRACE_ENDPOINT] !== undefined)));
  const links = [`<a href="/ui/profiles${esc(qs({ service: span.service }))}">${esc(span.service)}'s profiles</a>`];
  if (labelled) {
    links.push(`<a class="hot-endpoint" href="/ui/profiles${esc(qs({ service: span.service, endpoint }))}">what was hot under ${esc(endpoint)}</a>`);
    links.push(`<a class="hot-span" href="/ui/profiles${esc(qs({ service: span.service, span: root.span_id.toString() }))}">under this request (span ${hex64(root.span_id)})</a>`);
  }
  return links.join(' · ');
}

export function traceView(store: AgentStore, id: string, q: URLSearchParams): View {
  const t = store.trace(id);
  if (t === undefined || t.spans.length === 0) {
    return { title: 'Trace not found', tab: 'traces', live: `<div class="empty">No trace <code>${esc(id)}</code> here: it was never received, or it was dropped (the agent keeps the last ${store.limits.maxTraces} traces). <a href="/ui">All traces</a></div>`, etag: 'none', status: 404 };
  }
  const sum = summarize(t);
  const order = spanTree(t.spans);
  const byId = new Map(t.spans.map((s) => [s.span_id, s]));
  const t0 = sum.start;
  const total = Math.max(sum.durationNs, 1);
  const procs = new Map<string, { service: string; pid: number | null; runtimeId: string }>();
  for (const { span } of order) {
    const key = `${span.service}\u0000${span.runtimeId || span.pid}`;
    if (!procs.has(key)) procs.set(key, { service: span.service, pid: span.pid, runtimeId: span.runtimeId });
  }
  const legend = [...procs.values()].map((p) => `${chip(p.service)}<span class="muted small" title="runtime id ${esc(p.runtimeId)}">${p.pid !== null ? `pid ${esc(p.pid)}` : ''}</span>`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<span style="left:${f * 100}%">${f === 0 ? '0' : fmtDuration(total * f)}</span>`).join('');
  const logsBySpan = new Map<string, number>();
  for (const s of t.snapshots) if (s.spanHex !== null) logsBySpan.set(s.spanHex, (logsBySpan.get(s.spanHex) ?? 0) + 1);
  const rows = order
    .map(({ span: s, depth }) => {
      const parent = byId.get(s.parent_id);
      const crossed = parent === undefined || parent.service !== s.service || parent.runtimeId !== s.runtimeId;
      const left = (Number(s.start - t0) / total) * 100;
      const width = Math.max((Number(s.duration) / total) * 100, 0.15);
      const probes = probeTags(s).length;
      const logs = logsBySpan.get(hex64(s.span_id)) ?? 0;
      const status = statusOf(s);
      return `<div class="row${s.error === 1 ? ' error' : ''}" role="button" tabindex="0" data-span="${hex64(s.span_id)}" data-service="${esc(s.service)}" data-depth="${depth}"><div class="lbl" style="padding-left:${6 + depth * 14}px"><i class="dot" style="background:${serviceColor(s.service)}"></i> ${crossed ? `<span class="svc">${esc(s.service)}</span> ` : ''}<span class="op">${esc(s.name)}</span> <span class="res">${esc(s.resource)}</span>${status ? ` <span class="badge">${esc(status)}</span>` : ''}${s.error === 1 ? ' <span class="badge err">error</span>' : ''}${probes > 0 ? ` <span class="badge probe" title="values captured by a dynamic probe">probe</span>` : ''}${logs > 0 ? ` <span class="badge probe" title="probe log lines">log ${logs}</span>` : ''}</div><div class="track"><div class="b" style="left:${left.toFixed(3)}%;width:${width.toFixed(3)}%;background:${serviceColor(s.service)}"></div></div><div class="dur">${fmtDuration(Number(s.duration))}</div></div>`;
    })
    .join('');
  const rootLinks = profileLinks(store, sum.root, localRoot(sum.root, byId));
  const logs = t.snapshots.length === 0 ? '' : `<h3>Probe log lines in this trace</h3>${snapshotTable(t.snapshots, t)}`;
  const live = `<h2>trace <code class="trace-id">${sum.id}</code></h2>
<div class="facts"><b>${esc(sum.root.service)} ${esc(sum.root.resource)}</b> · ${fmtDuration(sum.durationNs)} · ${sum.spans} spans · ${sum.services.length} service${sum.services.length === 1 ? '' : 's'} · ${procs.size} process${procs.size === 1 ? '' : 'es'} · started ${fmtTime(Number(t0 / 1_000_000n))}${sum.errors > 0 ? ` · <span class="badge err">${sum.errors} error${sum.errors === 1 ? '' : 's'}</span>` : ''}${t.spansDropped > 0 ? ` · ${t.spansDropped} more spans not kept` : ''}</div>
<div class="facts">${legend}</div>${rootLinks ? `<div class="facts">Profiles: ${rootLinks}</div>` : ''}
<div class="wf"><div class="wf-axis"><div></div><div class="ticks">${ticks}</div><div></div></div>${rows}</div>${logs}`;
  const selected = q.get('span') ?? '';
  const sel = /^[0-9a-f]{16}$/.test(selected) ? t.spans.find((s) => hex64(s.span_id) === selected) : undefined;
  const after = `</section><aside id="detail" data-base="/ui/trace/${sum.id}"${sel ? ` data-span="${selected}"` : ''}>${sel ? spanDetail(store, t, sel) : '<p class="muted">Click a span for its tags, metrics, error and what probes captured on it.</p>'}</aside></div>`;
  return { title: `Trace ${sum.id}`, tab: 'traces', before: '<div class="trace-grid"><section>', live, after, etag: `s${t.spans.length}.${t.snapshots.length}.${profiledServices(store).size}`, status: 200 };
}

/** The details of one span (the fragment the script puts in the side panel). */
export function spanDetail(store: AgentStore, t: StoredTrace, s: StoredSpan): string {
  const byId = new Map(t.spans.map((x) => [x.span_id, x]));
  const root = localRoot(s, byId);
  const facts: [string, string][] = [
    ['service', chip(s.service)],
    ['operation', esc(s.name)],
    ['resource', `<b>${esc(s.resource)}</b>`],
    ['type', esc(s.type)],
    ['duration', fmtDuration(Number(s.duration))],
    ['start', `${fmtTime(Number(s.start / 1_000_000n))} (+${fmtDuration(Number(s.start - t.spans.reduce((m, x) => (x.start < m ? x.start : m), s.start)))})`],
    ['trace id', `<code>${traceIdOf(t)}</code>`],
    ['span id', `<code>${hex64(s.span_id)}</code>`],
    ['parent id', s.parent_id === 0n ? '<span class="muted">none (a root)</span>' : `<code>${hex64(s.parent_id)}</code>${byId.has(s.parent_id) ? '' : ' <span class="muted">(not received)</span>'}`],
    ['process', `${s.pid !== null ? `pid ${esc(s.pid)} ` : ''}<span class="muted small">${esc(s.runtimeId)}</span> <span class="muted small">via ${s.via === 'otlp' ? 'OTLP' : 'Datadog'}</span>`],
  ];
  const parts = [`<h3>${esc(s.service)} · ${esc(s.resource)}</h3>`, `<table class="kv">${facts.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('')}</table>`];
  if (s.error === 1 || s.meta['error.message'] !== undefined || s.meta['error.stack'] !== undefined) {
    parts.push(`<h4>Error</h4><div class="panel"><b>${esc(s.meta['error.type'] ?? 'error')}</b>${s.meta['error.message'] ? `: ${esc(s.meta['error.message'])}` : ''}${s.meta['error.stack'] ? `<pre class="stack">${esc(s.meta['error.stack'])}</pre>` : ''}</div>`);
  }
  const probes = probeTags(s);
  if (probes.length > 0) {
    parts.push(
      `<h4>Captured by dynamic probes</h4><table class="kv probe-tags">${probes
        .map((p) => `<tr data-tag="${esc(p.tag)}"><td>${esc(p.tag)}<div class="muted small">probe ${esc(p.probeId)}</div></td><td>${p.error ? `<span class="badge err">evaluation error</span> ${esc(p.value)}` : `<code>${redacted(p.value)}</code>`}</td></tr>`)
        .join('')}</table>`,
    );
  }
  const snaps = t.snapshots.filter((x) => x.spanHex === hex64(s.span_id));
  if (snaps.length > 0) parts.push(`<h4>Probe log lines on this span</h4>${snaps.map((x) => snapshotBlock(x)).join('')}`);
  const links = profileLinks(store, s, root);
  if (links) parts.push(`<h4>Profiles</h4><div>${links}</div>`);
  const metaKeys = Object.keys(s.meta).sort();
  parts.push(`<h4>Tags (${metaKeys.length})</h4><table class="kv tags">${metaKeys.map((k) => `<tr><td>${esc(k)}</td><td>${redacted(s.meta[k])}</td></tr>`).join('')}</table>`);
  const metricKeys = Object.keys(s.metrics).sort();
  if (metricKeys.length > 0) parts.push(`<h4>Metrics (${metricKeys.length})</h4><table class="kv metrics">${metricKeys.map((k) => `<tr><td>${esc(k)}</td><td class="mono">${esc(s.metrics[k])}</td></tr>`).join('')}</table>`);
  return parts.join('\n');
}

/** A captured value (Datadog snapshot shape) as a small tree, redactions marked. */
function capturedValue(v: unknown, depth = 0): string {
  if (v === null || typeof v !== 'object') return `<span class="mono">${esc(JSON.stringify(v))}</span>`;
  const x = v as { type?: string; value?: unknown; fields?: Record<string, unknown>; elements?: unknown[]; entries?: [unknown, unknown][]; notCapturedReason?: string; size?: number; truncated?: boolean; isNull?: boolean };
  if (x.notCapturedReason === 'redactedIdent' || x.notCapturedReason === 'redactedType') return '<mark class="redacted" title="hidden by redaction: the value never left the process">redacted</mark>';
  const type = x.type !== undefined ? `<span class="muted small">${esc(x.type)}</span> ` : '';
  const cut = x.notCapturedReason !== undefined ? ` <span class="nc">(not captured: ${esc(x.notCapturedReason)}${x.size !== undefined ? `, ${esc(x.size)} in all` : ''})</span>` : x.truncated ? ` <span class="nc">(truncated${x.size !== undefined ? `, ${esc(x.size)} characters` : ''})</span>` : '';
  if (x.isNull) return `${type}<span class="mono">null</span>`;
  if (x.value !== undefined) return `${type}<span class="mono">${esc(typeof x.value === 'string' ? JSON.stringify(x.value) : String(x.value))}</span>${cut}`;
  if (depth > 6) return `${type}…`;
  const items: string[] = [];
  if (x.fields !== undefined) for (const [k, f] of Object.entries(x.fields).slice(0, 100)) items.push(`<li>${esc(k)}: ${capturedValue(f, depth + 1)}</li>`);
  if (x.elements !== undefined) x.elements.slice(0, 100).forEach((e, i) => items.push(`<li>[${i}] ${capturedValue(e, depth + 1)}</li>`));
  if (x.entries !== undefined) for (const [k, e] of x.entries.slice(0, 100)) items.push(`<li>${capturedValue(k, depth + 1)} → ${capturedValue(e, depth + 1)}</li>`);
  return `${type}${cut}${items.length > 0 ? `<ul class="tree">${items.join('')}</ul>` : ''}`;
}

/** Arguments and locals of a snapshot (a line probe's `captures.lines[n]`, a method probe's `captures.entry`). */
function capturesOf(s: StoredSnapshot): string {
  const captures = s.debugger.snapshot.captures as { lines?: Record<string, Record<string, Record<string, unknown>>>; entry?: Record<string, Record<string, unknown>> } | undefined;
  if (captures === undefined || captures === null || typeof captures !== 'object') return '';
  const groups: [string, Record<string, unknown>][] = [];
  for (const at of Object.values(captures.lines ?? {})) for (const [k, v] of Object.entries(at ?? {})) groups.push([k, v ?? {}]);
  for (const [k, v] of Object.entries(captures.entry ?? {})) groups.push([`entry ${k}`, v ?? {}]);
  return groups
    .filter(([, vars]) => Object.keys(vars).length > 0)
    .map(([k, vars]) => `<div><span class="muted small">${esc(k)}</span><ul class="tree">${Object.entries(vars).map(([name, v]) => `<li>${esc(name)}: ${capturedValue(v)}</li>`).join('')}</ul></div>`)
    .join('');
}

function snapshotBlock(s: StoredSnapshot): string {
  const caps = capturesOf(s);
  return `<div class="panel snapshot"><div><span class="mono small">${fmtTime(s.received)}</span> <b>${esc(s.message)}</b></div><div class="muted small">probe ${esc(s.debugger.snapshot.probe.id)}</div>${caps ? `<details><summary>captured values</summary>${caps}</details>` : ''}</div>`;
}

/** Probe log lines as rows, each linked to its trace (and span) when the agent has it. */
export function snapshotTable(list: StoredSnapshot[], only?: StoredTrace, lookup?: (low: string) => StoredTrace | undefined): string {
  const rows = list
    .map((s) => {
      const t = only ?? (s.traceLow !== null ? lookup?.(s.traceLow) : undefined);
      const id = t !== undefined ? traceIdOf(t) : s.traceLow !== null ? `${'?'.repeat(16)}${s.traceLow}` : '';
      const link = t !== undefined ? `<a class="mono" href="/ui/trace/${id}${s.spanHex !== null ? `?span=${s.spanHex}` : ''}">${id}</a>` : id ? `<span class="mono muted" title="the trace did not reach this agent (or was dropped): only its low half is known">${id}</span>` : '';
      const caps = capturesOf(s);
      return `<tr class="log-line"><td class="mono">${fmtTime(s.received)}</td><td>${esc(s.service)}</td><td><b>${esc(s.message)}</b>${caps ? `<details><summary class="small">captured values</summary>${caps}</details>` : ''}</td><td>${link}${s.spanHex !== null ? `<div class="muted small">span ${s.spanHex}</div>` : ''}</td></tr>`;
    })
    .join('');
  return `<table class="logs"><thead><tr><th>time</th><th>service</th><th>message</th><th>trace</th></tr></thead><tbody>${rows}</tbody></table>`;
}

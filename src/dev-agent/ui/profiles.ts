/**
 * Profiles: a service's uploads read as one flame graph (src/profiler/analyze.ts and
 * flame-page.ts, the same code as `tracewell profile`), by function or by line, for one
 * endpoint or one request (linked profiles label samples with both), with the hottest frames.
 */
import { flameTree, top, type Selection } from '../../profiler/analyze';
import { flameData, scriptJson } from '../../profiler/flame-page';
import { LABEL_TRACE_ENDPOINT } from '../../profiler/labels';
import type { PprofProfile } from '../../profiler/pprof';
import type { AgentStore } from '../store';
import { esc, fmtBytes, fmtTime, qs, type View } from './html';

function fmtValue(v: number, unit: string): string {
  if (unit === 'nanoseconds') return v >= 1e9 ? `${(v / 1e9).toFixed(2)} s` : `${(v / 1e6).toFixed(1)} ms`;
  if (unit === 'bytes') return v >= 1048576 ? `${(v / 1048576).toFixed(1)} MiB` : `${(v / 1024).toFixed(1)} KiB`;
  return String(v);
}

export function profilesView(store: AgentStore, q: URLSearchParams): View {
  const etag = `p${store.profileVersion}`;
  const received = store.profiles;
  if (received.length === 0) {
    return {
      title: 'Profiles',
      tab: 'profiles',
      live: `<div class="empty">No profiles yet. Start a service with <code>DD_PROFILING_ENABLED=true</code> (and <code>TRACEWELL_PROFILING_MODE=linked</code> to see what was hot under each endpoint and request); each upload (every <code>DD_PROFILING_UPLOAD_PERIOD</code> seconds, 60 by default) shows up here.</div>`,
      etag,
    };
  }
  const services = [...new Set(received.map((p) => p.profile.tags.service ?? '?'))].sort();
  const wanted = q.get('service') ?? '';
  const service = services.includes(wanted) ? wanted : (received.at(-1)!.profile.tags.service ?? '?');
  const mine = received.filter((p) => (p.profile.tags.service ?? '?') === service);
  const kinds = [...new Set(mine.flatMap((p) => Object.keys(p.profile.profiles).map((n) => n.replace(/\.pprof$/, ''))))];
  const kind = kinds.includes(q.get('kind') ?? '') ? q.get('kind')! : kinds.includes('wall') ? 'wall' : kinds[0];
  const pprofs = mine.map((p) => p.profile.profiles[`${kind}.pprof`]).filter((p): p is PprofProfile => p !== undefined);
  const types = pprofs.length > 0 ? pprofs[0].sampleTypes.map((t) => t.type) : [];
  const type = types.includes(q.get('type') ?? '') ? q.get('type')! : undefined;
  const by = q.get('by') === 'line' ? 'line' : 'function';
  // Endpoints: from the samples' labels (linked profiles) and the uploads' request counts.
  const endpoints = new Map<string, number>();
  for (const p of mine) for (const [e, n] of Object.entries(p.profile.event.endpoint_counts ?? {})) endpoints.set(e, (endpoints.get(e) ?? 0) + n);
  for (const p of pprofs) for (const s of p.samples) {
    const e = s.labels[LABEL_TRACE_ENDPOINT];
    if (typeof e === 'string' && !endpoints.has(e)) endpoints.set(e, 0);
  }
  const endpoint = q.get('endpoint') ?? '';
  const span = /^[0-9]{1,20}$/.test(q.get('span') ?? '') ? q.get('span')! : '';
  const sel: Selection = { by, ...(type ? { type } : {}), ...(endpoint ? { endpoint } : {}), ...(span ? { spanId: span } : {}) };
  const modes = [...new Set(mine.map((p) => p.profile.tags.profiler_mode).filter(Boolean))];

  const opt = (v: string, label: string, cur: string): string => `<option value="${esc(v)}"${v === cur ? ' selected' : ''}>${esc(label)}</option>`;
  const form = `<form class="bar" id="filters" method="get" action="/ui/profiles">
<label>service <select name="service">${services.map((s) => opt(s, s, service)).join('')}</select></label>
<label>endpoint <select name="endpoint">${opt('', 'all', endpoint)}${[...endpoints.entries()].sort((a, b) => b[1] - a[1]).map(([e, n]) => opt(e, n > 0 ? `${e} (${n} requests)` : e, endpoint)).join('')}${endpoint && !endpoints.has(endpoint) ? opt(endpoint, endpoint, endpoint) : ''}</select></label>
<label>by <select name="by">${opt('function', 'function', by)}${opt('line', 'line', by)}</select></label>
<label>profile <select name="kind">${kinds.map((k) => opt(k, k, kind)).join('')}</select></label>
<label>sample type <select name="type">${opt('', 'default', type ?? '')}${types.map((t) => opt(t, t, type ?? '')).join('')}</select></label>
${span ? `<input type="hidden" name="span" value="${esc(span)}"><span class="badge">request: local root span ${esc(span)}</span> <a href="/ui/profiles${esc(qs({ service, endpoint, by, kind, type }))}">all requests</a>` : ''}
</form>`;

  const { root, weighed } = flameTree(pprofs, sel);
  const first = mine[0];
  const last = mine.at(-1)!;
  const what = [endpoint ? `endpoint ${endpoint}` : '', span ? `request ${span}` : ''].filter(Boolean).join(', ');
  const head = `<div class="facts"><b>${esc(service)}</b> · ${mine.length} upload${mine.length === 1 ? '' : 's'} (${fmtBytes(mine.reduce((a, p) => a + p.bytes, 0))}) from ${fmtTime(Date.parse(first.profile.event.start))} to ${fmtTime(Date.parse(last.profile.event.end))}${modes.length > 0 ? ` · mode ${esc(modes.join(', '))}` : ''}${store.evicted.profiles > 0 ? ` · older uploads dropped (the agent keeps the last ${store.limits.maxProfilesPerService} per service)` : ''}</div>`;
  if (weighed.sum === 0) {
    return { title: 'Profiles', tab: 'profiles', live: `${form}${head}<div class="empty">No ${esc(weighed.type)} samples${what ? ` for ${esc(what)}` : ''} in these uploads.${span ? ' Linked profiles only label requests that were on the CPU when sampled; try the endpoint.' : ''}</div>`, etag };
  }
  const { entries, apart } = top(pprofs, sel);
  const hottest = entries[0];
  const lineNote = by === 'line' && modes.includes('linked') ? ' <span class="muted small">(linked mode names each function at its declaration line: <code>TRACEWELL_PROFILING_MODE=span-lines</code> gives lines and spans)</span>' : '';
  const summary = `<div class="facts">${esc(weighed.type)}: <b>${fmtValue(weighed.sum, weighed.unit)}</b>${what ? ` under ${esc(what)}` : ''}${hottest ? ` · hottest ${by}: <b class="hottest">${esc(hottest.name)}</b> <span class="mono small">${esc(hottest.kind !== 'code' ? `(${hottest.kind})` : hottest.line > 0 ? `${hottest.file.split('/').pop()}:${hottest.line}` : hottest.file.split('/').pop() ?? '')}</span> ${((100 * hottest.self) / weighed.sum).toFixed(1)}% self` : ''}${lineNote}</div>`;
  const flame = `<div class="flame-wrap"><input id="flame-search" placeholder="highlight functions or files matching..." aria-label="search" size="34"><div id="flame-info"></div><div id="graph" class="flame-graph"></div></div>
<script type="application/json" id="flame-data">${scriptJson(flameData(root, weighed, hottest))}</script>`;
  const rows = entries
    .slice(0, 25)
    .map((e) => `<tr><td class="num">${fmtValue(e.self, weighed.unit)}</td><td class="num">${((100 * e.self) / weighed.sum).toFixed(1)}%</td><td class="num">${fmtValue(e.total, weighed.unit)}</td><td class="num">${((100 * e.total) / weighed.sum).toFixed(1)}%</td><td><b>${esc(e.name)}</b></td><td class="mono small">${esc(e.kind !== 'code' ? `(${e.kind})` : e.line > 0 ? `${e.file}:${e.line}` : e.file)}</td></tr>`)
    .join('');
  const table = `<h3>Hottest ${by === 'line' ? 'lines' : 'functions'} by self ${esc(weighed.type)}</h3><table class="top"><thead><tr><th class="num">self</th><th class="num">self%</th><th class="num">total</th><th class="num">total%</th><th>function</th><th>location</th></tr></thead><tbody>${rows}</tbody></table>${apart.map((a) => `<p class="muted small">not ranked: ${esc(a.name)} ${fmtValue(a.value, weighed.unit)} (${((100 * a.value) / weighed.sum).toFixed(1)}%), ${esc(a.what)}</p>`).join('')}`;
  // The form is live too: new uploads may bring endpoints.
  return { title: 'Profiles', tab: 'profiles', live: form + head + summary + flame + table, etag };
}

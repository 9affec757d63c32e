/**
 * The page's frame: the layout every view shares, its stylesheet and its one small script
 * (live updates, span selection, the flame graph). Everything a view renders goes through
 * `esc` (or `redacted`, which escapes too): span names, tags and captured values are whatever
 * the traced app or its callers put there.
 */
import { escapeHtml, FLAME_CSS, FLAME_SCRIPT } from '../../profiler/flame-page';

export const esc = (v: unknown): string => escapeHtml(String(v));

/** Escapes `text` and marks each `[redacted]` a probe wrote in place of a value. */
export function redacted(text: string): string {
  return text
    .split("'[redacted]'")
    .map((part) => part.split('[redacted]').map(esc).join(REDACTED_MARK))
    .join(REDACTED_MARK);
}

const REDACTED_MARK = '<mark class="redacted" title="hidden by redaction: the value never left the process">[redacted]</mark>';

/** A query string from parameters, empty ones left out (escape it again to put it in an attribute). */
export function qs(params: Record<string, string | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s === '' ? '' : `?${s}`;
}

export function fmtDuration(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(1)} ms`;
  return `${(ns / 1e3).toFixed(0)} µs`;
}

export function fmtTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A stable color per service name. */
export function serviceColor(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360},55%,52%)`;
}

export const chip = (service: string): string => `<span class="chip"><i class="dot" style="background:${serviceColor(service)}"></i>${esc(service)}</span>`;

type Tab = 'traces' | 'profiles' | 'probes' | 'health';

/** What a view renders: static parts around the live part, which the script refreshes when `etag` changes. */
export interface View {
  title: string;
  tab: Tab;
  before?: string;
  live: string;
  after?: string;
  etag: string;
  status?: number;
}

const TABS: [Tab, string, string][] = [
  ['traces', '/ui', 'Traces'],
  ['profiles', '/ui/profiles', 'Profiles'],
  ['probes', '/ui/probes', 'Probes'],
  ['health', '/ui/health', 'Export health'],
];

export function layout(v: View, nonce: string): string {
  const nav = TABS.map(([tab, href, label]) => `<a href="${href}"${tab === v.tab ? ' class="on" aria-current="page"' : ''}>${label}</a>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(v.title)} · Tracewell dev agent</title>
<style>${CSS}${FLAME_CSS}</style></head>
<body>
<header><span class="brand">Tracewell <span>dev agent</span></span><nav>${nav}</nav><span class="muted small">live · this machine only · nothing leaves it</span></header>
<main>${v.before ?? ''}<div id="live" data-etag="${esc(v.etag)}">${v.live}</div>${v.after ?? ''}</main>
<script nonce="${nonce}">${FLAME_SCRIPT}${SCRIPT}</script>
</body></html>
`;
}

const CSS = `
*{box-sizing:border-box}
body{font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{display:flex;align-items:center;gap:18px;padding:0 16px;height:40px;background:#1d2430;color:#fff}
.brand{font-weight:600}.brand span{font-weight:400;color:#aab}
nav{display:flex;gap:2px;flex:1}nav a{color:#cfd6e4;text-decoration:none;padding:10px 12px}nav a.on{color:#fff;box-shadow:inset 0 -3px #5b9cff}
header .muted{color:#aab}
main{padding:12px 16px}
h2{font-size:16px;margin:4px 0 6px}h3{font-size:14px;margin:10px 0 6px}h4{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#667;margin:14px 0 4px}
a{color:#1f5fbf}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.muted{color:#667}.small{font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e6e8ec;vertical-align:top}
th{font-weight:600;color:#556;background:#fafbfc;position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.err td{background:#fff4f4}
.kv td:first-child{width:34%;color:#445;word-break:break-all}.kv td{word-break:break-word}
.chip{display:inline-flex;align-items:center;gap:4px;margin-right:8px;white-space:nowrap}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%}
.badge{display:inline-block;padding:0 5px;border-radius:3px;font-size:11px;background:#e8ebf0;color:#334;margin-left:4px}
.badge.err,.status-ERROR{background:#fbe0e0;color:#a01010}.status-EMITTING{background:#dcf3e2;color:#11652f}
.status-INSTALLED{background:#dde9fb;color:#1b4f9c}.status-RECEIVED{background:#eceef2;color:#445}.status-BLOCKED{background:#fdeccc;color:#7a4b00}
.badge.probe{background:#efe3fb;color:#5a2590}
mark.redacted{background:#ffe9a8;color:#6b4a00;border-radius:3px;padding:0 3px;font-weight:600}
form.bar{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin-bottom:10px;background:#fff;padding:8px 10px;border:1px solid #e6e8ec}
form.bar label{display:flex;gap:5px;align-items:center}
input,select,button{font:inherit}
.panel{background:#fff;border:1px solid #e6e8ec;padding:8px 12px;margin-bottom:10px}
.empty{padding:24px;color:#667;background:#fff;border:1px dashed #cdd}
pre{white-space:pre-wrap;word-break:break-word;background:#f3f4f7;padding:6px 8px;margin:4px 0;font-size:12px}
.trace-grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(340px,38%);gap:12px;align-items:start}
@media (max-width:1000px){.trace-grid{grid-template-columns:1fr}}
aside#detail{background:#fff;border:1px solid #e6e8ec;padding:8px 12px;position:sticky;top:8px;max-height:calc(100vh - 16px);overflow:auto}
.facts{color:#445;margin-bottom:6px}.facts b{color:#1d2430}
.wf{background:#fff;border:1px solid #e6e8ec}
.wf-axis,.row{display:grid;grid-template-columns:minmax(0,44%) minmax(0,1fr) 72px}
.wf-axis{font-size:11px;color:#778;border-bottom:1px solid #e6e8ec;height:20px}
.wf-axis .ticks{position:relative}.wf-axis .ticks span{position:absolute;top:3px;transform:translateX(-50%);white-space:nowrap}
.wf-axis .ticks span:first-child{transform:none}.wf-axis .ticks span:last-child{transform:translateX(-100%)}
.row{min-height:22px;border-bottom:1px solid #f0f1f4;cursor:pointer;align-items:center}
.row:hover{background:#f4f7fc}.row.sel{background:#e4edfc}.row:focus{outline:2px solid #5b9cff;outline-offset:-2px}
.row .lbl{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-right:6px}
.row .op{color:#778}.row .res{font-weight:600}
.row .track{position:relative;height:22px;border-left:1px solid #eef0f3}
.row .track .b{position:absolute;top:5px;height:12px;min-width:2px;border-radius:2px}
.row.error .track .b{box-shadow:inset 0 -3px #d11}
.row .dur{text-align:right;padding-right:8px;font-variant-numeric:tabular-nums;color:#445}
.tree{margin:0;padding-left:16px}.tree li{list-style:none;word-break:break-word}
.nc{color:#889;font-style:italic}
.flame-wrap{background:#fff;border:1px solid #e6e8ec;padding:6px}
#flame-info{color:#445;min-height:17px;margin:2px 0 4px;font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
`;

/** Live updates (polls the page with its etag; 204 = unchanged), span selection, the flame graph. */
const SCRIPT = `
(function () {
  'use strict';
  var live = document.getElementById('live');
  var detail = document.getElementById('detail');
  var selected = detail ? detail.getAttribute('data-span') : null;
  function mark() {
    var rows = document.querySelectorAll('.row[data-span]');
    for (var i = 0; i < rows.length; i++) rows[i].classList.toggle('sel', rows[i].getAttribute('data-span') === selected);
  }
  function flame() {
    var g = document.getElementById('graph'), d = document.getElementById('flame-data');
    if (g && d) twFlame(g, document.getElementById('flame-info'), document.getElementById('flame-search'), JSON.parse(d.textContent));
  }
  function select(id) {
    selected = id;
    mark();
    var url = new URL(location.href);
    url.searchParams.set('span', id);
    history.replaceState(null, '', url.toString());
    fetch(detail.getAttribute('data-base') + '/span/' + encodeURIComponent(id), { cache: 'no-store' })
      .then(function (r) { return r.text(); })
      .then(function (html) { if (selected === id) { detail.innerHTML = html; detail.setAttribute('data-span', id); } });
  }
  function rowOf(e) { return e.target && e.target.closest ? e.target.closest('.row[data-span]') : null; }
  document.addEventListener('click', function (e) {
    var row = rowOf(e);
    if (row && detail) { e.preventDefault(); select(row.getAttribute('data-span')); }
  });
  document.addEventListener('keydown', function (e) {
    var row = rowOf(e);
    if (!row || !detail) return;
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(row.getAttribute('data-span')); }
    else if (e.key === 'ArrowDown' && row.nextElementSibling) { e.preventDefault(); row.nextElementSibling.focus(); }
    else if (e.key === 'ArrowUp' && row.previousElementSibling && row.previousElementSibling.classList.contains('row')) { e.preventDefault(); row.previousElementSibling.focus(); }
  });
  document.addEventListener('change', function (e) {
    var form = e.target && e.target.form;
    if (form && form.id === 'filters' && e.target.type !== 'text') { if (form.requestSubmit) form.requestSubmit(); else form.submit(); }
  });
  function poll() {
    if (!live || document.hidden) { setTimeout(poll, 1000); return; }
    fetch(location.href, { headers: { 'x-tw-live': live.getAttribute('data-etag') || '' }, cache: 'no-store' })
      .then(function (r) {
        if (r.status !== 200) return;
        var etag = r.headers.get('x-tw-etag') || '';
        return r.text().then(function (html) { live.innerHTML = html; live.setAttribute('data-etag', etag); mark(); flame(); });
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 1000); });
  }
  mark();
  flame();
  setTimeout(poll, 1000);
})();
`;

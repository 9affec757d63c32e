/**
 * The flame graph: the call tree as JSON and a small renderer, no network. Used by
 * `tracewell profile flame` (a self-contained page) and by the dev agent's page (`/ui/profiles`).
 *
 * Icicle layout: the root at the top, callees below, widths by weight, row heights fitted to
 * the window so the whole depth is on the first screen (rows shrink to 4 px before anything
 * leaves it; past that the view opens zoomed onto the hottest frame's branch). The hottest
 * frame (most self weight) is outlined. Click a box to zoom into it, click the top row to zoom
 * out; hover for the value and share; type to highlight. Names and files are set as text, never
 * as markup.
 */
import type { FlameNode, TopEntry, Weighed } from './analyze';

/** Compact tree for the page: [name, location, value, children]. */
type Packed = [string, string, number, Packed[]];

const locOf = (file: string, line: number): string => (file === '' ? '' : line > 0 ? `${file}:${line}` : file);

function pack(n: FlameNode, minValue: number): Packed {
  return [n.name, locOf(n.file, n.line), n.value, n.children.filter((c) => c.value >= minValue).map((c) => pack(c, minValue))];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a `<script>` element (no `</script>`, no `<!--`). */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * What the renderer takes: the tree (boxes narrower than 1/5000 of the whole are left out:
 * invisible, and they bloat the page), the unit, and the hottest frame `[name, location]`.
 */
export function flameData(root: FlameNode, weighed: Weighed, hottest?: Pick<TopEntry, 'name' | 'file' | 'line'>): { tree: Packed; meta: { type: string; unit: string }; hot: [string, string] | null } {
  return {
    tree: pack(root, root.value / 5000),
    meta: { type: weighed.type, unit: weighed.unit },
    hot: hottest === undefined ? null : [hottest.name, locOf(hottest.file, hottest.line)],
  };
}

export const FLAME_CSS = `
.flame-graph{position:relative;width:100%;overflow:hidden}
.f{position:absolute;box-sizing:border-box;border:1px solid #fff;overflow:hidden;white-space:nowrap;padding:0 3px;cursor:pointer;color:#111}
.f.hit{outline:2px solid #06c;z-index:1}
.f.hot{outline:2px solid #b00;z-index:2}
`;

/**
 * Defines `twFlame(graph, info, search, data)`: draws `data` (from `flameData`) into `graph`,
 * writes hover text into `info`, highlights what `search` (an input, or null) matches.
 */
export const FLAME_SCRIPT = `
function twFlame(graph, info, search, data) {
  var tree = data.tree, meta = data.meta, hot = data.hot, MIN = 4, MAX = 18;
  function fmt(v) {
    if (meta.unit === 'nanoseconds') return v >= 1e9 ? (v / 1e9).toFixed(2) + ' s' : (v / 1e6).toFixed(1) + ' ms';
    if (meta.unit === 'bytes') return v >= 1048576 ? (v / 1048576).toFixed(1) + ' MiB' : (v / 1024).toFixed(1) + ' KiB';
    return String(v);
  }
  function depth(n) { var d = 0; for (var i = 0; i < n[3].length; i++) d = Math.max(d, depth(n[3][i])); return d + 1; }
  function color(name) {
    var h = 0; for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return 'hsl(' + (10 + h % 40) + ',' + (70 + h % 20) + '%,' + (55 + h % 15) + '%)';
  }
  function isHot(n) { return hot !== null && n[0] === hot[0] && n[1] === hot[1]; }
  // The path from the root to the widest box of the hottest frame.
  function hotPath() {
    var best = null, bestValue = -1;
    (function walk(n, path) {
      path.push(n);
      if (isHot(n) && n[2] > bestValue) { best = path.slice(); bestValue = n[2]; }
      for (var i = 0; i < n[3].length; i++) walk(n[3][i], path);
      path.pop();
    })(tree, []);
    return best;
  }
  function available() {
    var top = graph.getBoundingClientRect().top + (window.scrollY || 0);
    return Math.max(120, window.innerHeight - top - 10);
  }
  var focus = tree, total = tree[2], query = '', note = '';
  // Too deep for the window even at the smallest rows: open on the hottest frame's branch.
  var path = hotPath(), fit = Math.floor(available() / MIN);
  if (path !== null && depth(tree) > fit && path.length > fit) {
    focus = path[path.length - fit];
    note = 'zoomed onto the hottest frame\\'s branch (the whole tree is ' + depth(tree) + ' frames deep); click the top row to zoom out. ';
  }
  function draw() {
    graph.textContent = '';
    var levels = depth(focus);
    var H = Math.max(MIN, Math.min(MAX, Math.floor(available() / levels)));
    graph.style.height = (levels * H + 2) + 'px';
    var width = graph.clientWidth || 1000;
    var font = Math.min(11, H - 4);
    function box(n, x, w, level) {
      if (w < 0.5) return;
      var d = document.createElement('div');
      d.className = 'f' + (query && (n[0] + ' ' + n[1]).toLowerCase().indexOf(query) >= 0 ? ' hit' : '') + (isHot(n) ? ' hot' : '');
      d.style.left = x + 'px'; d.style.width = w + 'px'; d.style.top = (level * H) + 'px';
      d.style.height = H + 'px'; d.style.lineHeight = (H - 2) + 'px'; d.style.fontSize = Math.max(font, 1) + 'px';
      if (font < 7) d.style.color = 'transparent';
      d.style.background = level === 0 && n === tree ? '#ddd' : color(n[0]);
      d.title = n[0] + (n[1] ? ' (' + n[1] + ')' : '') + ': ' + fmt(n[2]) + ', ' + (100 * n[2] / total).toFixed(1) + '%';
      d.textContent = w > 30 ? n[0] + (n[1] ? ' ' + n[1].split('/').pop() : '') : '';
      d.setAttribute('data-name', n[0]);
      d.setAttribute('data-loc', n[1]);
      d.addEventListener('mouseover', function () { info.textContent = d.title; });
      d.addEventListener('click', function () { focus = n === focus ? tree : n; note = ''; draw(); });
      graph.appendChild(d);
      var cx = x;
      for (var i = 0; i < n[3].length; i++) {
        var cw = w * n[3][i][2] / n[2];
        box(n[3][i], cx, cw, level + 1);
        cx += cw;
      }
    }
    box(focus, 0, width, 0);
  }
  if (search) search.addEventListener('input', function () { query = search.value.toLowerCase(); draw(); });
  // Drawn again into a new element (the page's live update): the old one stops listening.
  if (twFlame.off) twFlame.off();
  window.addEventListener('resize', draw);
  twFlame.off = function () { window.removeEventListener('resize', draw); };
  info.textContent = note + meta.type + ': ' + fmt(total) + ' in all' + (hot ? '; hottest frame (outlined): ' + hot[0] + (hot[1] ? ' ' + hot[1].split('/').pop() : '') : '') + '; click a frame to zoom';
  draw();
}
`;

export function flamePage(root: FlameNode, weighed: Weighed, title: string, hottest?: Pick<TopEntry, 'name' | 'file' | 'line'>): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:12px/1.3 system-ui,sans-serif;margin:0;padding:12px;background:#fff;color:#222}
h1{font-size:15px;margin:0 0 4px}#info{color:#555;margin-bottom:8px;min-height:16px}
#search{margin-bottom:8px;width:260px}
${FLAME_CSS}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<input id="search" placeholder="highlight functions or files matching..." aria-label="search">
<div id="info"></div>
<div id="graph" class="flame-graph"></div>
<script type="application/json" id="flame-data">${scriptJson(flameData(root, weighed, hottest))}</script>
<script>
${FLAME_SCRIPT}
twFlame(document.getElementById('graph'), document.getElementById('info'), document.getElementById('search'), JSON.parse(document.getElementById('flame-data').textContent));
</script>
</body></html>
`;
}

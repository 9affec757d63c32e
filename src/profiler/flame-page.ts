/**
 * A self-contained flame graph page: the call tree as JSON and a small renderer, inline, no
 * network. Frames are drawn as boxes (root at the bottom), widths by weight; click a box to
 * zoom into it, click the root to zoom out; hover for the value and share; type to highlight.
 */
import type { FlameNode, Weighed } from './analyze';

/** Compact tree for the page: [name, location, value, children]. */
type Packed = [string, string, number, Packed[]];

function pack(n: FlameNode, minValue: number): Packed {
  const loc = n.file === '' ? '' : n.line > 0 ? `${n.file}:${n.line}` : n.file;
  return [n.name, loc, n.value, n.children.filter((c) => c.value >= minValue).map((c) => pack(c, minValue))];
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function flamePage(root: FlameNode, weighed: Weighed, title: string): string {
  // Boxes narrower than 1/5000 of the whole are left out: invisible, and they bloat the page.
  const data = JSON.stringify(pack(root, root.value / 5000)).replace(/</g, '\\u003c');
  const meta = JSON.stringify({ type: weighed.type, unit: weighed.unit }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:12px/1.3 system-ui,sans-serif;margin:0;padding:12px;background:#fff;color:#222}
h1{font-size:15px;margin:0 0 4px}#info{color:#555;margin-bottom:8px;min-height:16px}
#search{margin-bottom:8px;width:260px}
#graph{position:relative;width:100%}
.f{position:absolute;height:17px;box-sizing:border-box;border:1px solid #fff;overflow:hidden;white-space:nowrap;padding:0 3px;cursor:pointer;font-size:11px;line-height:15px}
.f.hit{outline:2px solid #06c;z-index:1}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<input id="search" placeholder="highlight functions or files matching..." aria-label="search">
<div id="info"></div>
<div id="graph"></div>
<script>
(function () {
  var tree = ${data};
  var meta = ${meta};
  var H = 17, graph = document.getElementById('graph'), info = document.getElementById('info');
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
  var focus = tree, total = tree[2], query = '';
  function draw() {
    graph.innerHTML = '';
    var levels = depth(focus);
    graph.style.height = (levels * H + 4) + 'px';
    var width = graph.clientWidth || 1000;
    function box(n, x, w, level) {
      if (w < 0.5) return;
      var d = document.createElement('div');
      d.className = 'f' + (query && (n[0] + ' ' + n[1]).toLowerCase().indexOf(query) >= 0 ? ' hit' : '');
      d.style.left = x + 'px'; d.style.width = w + 'px'; d.style.top = ((levels - level - 1) * H) + 'px';
      d.style.background = level === 0 ? '#ddd' : color(n[0]);
      d.textContent = w > 30 ? n[0] + (n[1] ? ' ' + n[1].split('/').pop() : '') : '';
      var label = n[0] + (n[1] ? ' (' + n[1] + ')' : '') + ': ' + fmt(n[2]) + ', ' + (100 * n[2] / total).toFixed(1) + '%';
      d.title = label;
      d.onmouseover = function () { info.textContent = label; };
      d.onclick = function () { focus = n === focus ? tree : n; draw(); };
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
  document.getElementById('search').oninput = function (e) { query = e.target.value.toLowerCase(); draw(); };
  window.onresize = draw;
  info.textContent = meta.type + ': ' + fmt(total) + ' in all; click a frame to zoom';
  draw();
})();
</script>
</body></html>
`;
}

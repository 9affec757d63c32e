/** A trace as a readable tree for a terminal. */
import type { DecodedSpan } from './decode-traces';

const hex = (v: bigint): string => v.toString(16).padStart(16, '0');

export function formatTrace(spans: DecodedSpan[], color = false): string {
  const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<bigint, DecodedSpan[]>();
  const roots: DecodedSpan[] = [];
  for (const s of [...spans].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))) {
    if (s.parent_id !== 0n && ids.has(s.parent_id)) {
      const list = children.get(s.parent_id) ?? [];
      list.push(s);
      children.set(s.parent_id, list);
    } else roots.push(s);
  }
  const head = spans.find((s) => s.meta['_dd.p.tid']);
  const traceId = head ? head.meta['_dd.p.tid'] + hex(spans[0].trace_id) : hex(spans[0].trace_id);
  const lines = [paint('1', `trace ${traceId}`) + ` (${spans.length} span${spans.length === 1 ? '' : 's'})`];
  const walk = (s: DecodedSpan, prefix: string, last: boolean, top: boolean): void => {
    const ms = (Number(s.duration) / 1e6).toFixed(1);
    const status = s.meta['http.status_code'] ? ` [${s.meta['http.status_code']}]` : s.metrics['grpc.status.code'] !== undefined ? ` [grpc ${s.metrics['grpc.status.code']}]` : '';
    const branch = top ? '' : last ? '└─ ' : '├─ ';
    let line = `${prefix}${branch}${paint('36', s.service)}  ${s.name}  ${paint('1', s.resource)}  ${ms} ms${status}`;
    if (s.error === 1) {
      const what = [s.meta['error.type'], s.meta['error.message']].filter(Boolean).join(': ');
      line += '  ' + paint('31', what ? `ERROR ${what}` : 'ERROR');
    }
    lines.push(line);
    const kids = children.get(s.span_id) ?? [];
    kids.forEach((k, i) => walk(k, top ? '' : prefix + (last ? '   ' : '│  '), i === kids.length - 1, false));
  };
  roots.forEach((r, i) => walk(r, '', i === roots.length - 1, true));
  return lines.join('\n');
}

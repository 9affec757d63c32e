/**
 * Enough of source maps (v3) to place a probe defined on a `.ts` line: decode the `mappings`
 * (base64 VLQ) and find the first generated position of an original line. Install time only.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

interface RawSourceMap {
  version: number;
  sources: string[];
  sourceRoot?: string;
  mappings: string;
}

/** One mapping segment: generated line/column (0-based) to source index, original line/column (0-based). */
export interface Mapping {
  genLine: number;
  genCol: number;
  source: number;
  line: number;
  col: number;
}

const B64 = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (B64[c.charCodeAt(0)] = i));

export function decodeMappings(mappings: string): Mapping[] {
  const out: Mapping[] = [];
  let genLine = 0;
  let genCol = 0;
  let source = 0;
  let line = 0;
  let col = 0;
  let i = 0;
  const fields: number[] = [];
  while (i <= mappings.length) {
    const c = mappings.charCodeAt(i);
    if (i === mappings.length || c === 59 /* ; */ || c === 44 /* , */) {
      if (fields.length >= 4) {
        genCol += fields[0];
        source += fields[1];
        line += fields[2];
        col += fields[3];
        out.push({ genLine, genCol, source, line, col });
      } else if (fields.length >= 1) genCol += fields[0];
      fields.length = 0;
      if (c === 59) {
        genLine++;
        genCol = 0;
      }
      i++;
      continue;
    }
    let value = 0;
    let shift = 0;
    for (;;) {
      const d = B64[mappings.charCodeAt(i++)] ?? -1;
      if (d < 0) throw new Error(`bad character in source map mappings at ${i - 1}`);
      value += (d & 31) << shift;
      shift += 5;
      if ((d & 32) === 0) break;
    }
    fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
  }
  return out;
}

/** Loads the map a script names (`sourceMappingURL`): a data: URL, or a file next to the script. */
export function loadSourceMap(scriptPath: string, sourceMapURL: string): { map: RawSourceMap; sources: string[] } {
  return parseSourceMap(scriptPath, readSourceMapText(scriptPath, sourceMapURL));
}

/** The text of the map a script names: a data: URL, or a file next to the script. */
export function readSourceMapText(scriptPath: string, sourceMapURL: string): string {
  if (sourceMapURL.startsWith('data:')) {
    const comma = sourceMapURL.indexOf(',');
    const meta = sourceMapURL.slice(5, comma);
    const body = sourceMapURL.slice(comma + 1);
    return meta.endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
  }
  const p = sourceMapURL.startsWith('file:') ? fileURLToPath(sourceMapURL) : resolvePath(dirname(scriptPath), sourceMapURL);
  return readFileSync(p, 'utf8');
}

/** A map's JSON, checked, with its sources as absolute paths (resolved from the script's folder). */
export function parseSourceMap(scriptPath: string, text: string): { map: RawSourceMap; sources: string[] } {
  const map = JSON.parse(text) as RawSourceMap;
  if (map.version !== 3 || !Array.isArray(map.sources) || typeof map.mappings !== 'string') throw new Error('not a version 3 source map');
  const root = map.sourceRoot ?? '';
  const sources = map.sources.map((s) => {
    const joined = root !== '' && !s.startsWith('/') ? root.replace(/\/?$/, '/') + s : s;
    if (joined.startsWith('file:')) return fileURLToPath(joined);
    return resolvePath(dirname(scriptPath), joined).replace(/\\/g, '/');
  });
  return { map, sources };
}

/**
 * The URL in a script's last `//# sourceMappingURL=` (or `//@`) comment, '' when it has none:
 * what V8 reports as the script's `sourceMapURL`, read from the text before it is compiled.
 */
export function sourceMappingURLOf(src: string): string {
  let at = src.length;
  for (let guard = 0; guard < 8; guard++) {
    const i = Math.max(src.lastIndexOf('//# sourceMappingURL=', at), src.lastIndexOf('//@ sourceMappingURL=', at));
    if (i < 0) return '';
    // Only a comment at the start of its line (after blanks) counts; one inside a string does not.
    let j = i - 1;
    while (j >= 0 && (src.charCodeAt(j) === 32 || src.charCodeAt(j) === 9)) j--;
    if (j < 0 || src.charCodeAt(j) === 10 || src.charCodeAt(j) === 13) {
      const start = i + 21;
      let end = start;
      while (end < src.length && src.charCodeAt(end) > 32) end++;
      return src.slice(start, end);
    }
    at = i - 1;
    if (at < 0) return '';
  }
  return '';
}

/** The first generated position (0-based line, column) of `line` (1-based) of source `source`, or null. */
export function generatedFor(mappings: Mapping[], source: number, line: number): { genLine: number; genCol: number } | null {
  let best: Mapping | null = null;
  for (const m of mappings) {
    if (m.source !== source || m.line !== line - 1) continue;
    if (best === null || m.genLine < best.genLine || (m.genLine === best.genLine && m.genCol < best.genCol)) best = m;
  }
  return best === null ? null : { genLine: best.genLine, genCol: best.genCol };
}

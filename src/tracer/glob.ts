/**
 * Glob patterns as Datadog's sampling rules define them (`*` any run of characters, `?` exactly
 * one), compiled once at start-up into the cheapest test that decides them: always, equal, a
 * prefix, a suffix, or the general two-pointer match (linear backtracking on the last `*`, no
 * regular expression). Sampling rules compare without case; request paths and URLs with case.
 */

/** A compiled pattern: true when `subject` matches. */
export type Glob = (subject: string) => boolean;

const ALWAYS: Glob = () => true;

/** True when every character of `p` is `*` (such a pattern matches anything, even a missing value). */
export function matchesAll(p: string): boolean {
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) !== 42) return false;
  return p.length > 0;
}

/** `pattern` against `s`, both already in the same case. */
function globMatch(pattern: string, s: string): boolean {
  let p = 0;
  let i = 0;
  // Where the last `*` was, and the subject position it is retried from.
  let star = -1;
  let retry = 0;
  while (i < s.length) {
    const c = pattern.charCodeAt(p);
    if (p < pattern.length && c === 42 /* * */) {
      star = p++;
      retry = i;
    } else if (p < pattern.length && (c === 63 /* ? */ || c === s.charCodeAt(i))) {
      p++;
      i++;
    } else if (star >= 0) {
      p = star + 1;
      i = ++retry;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}

/** Compiles one pattern. */
export function compileGlob(pattern: string, ignoreCase: boolean): Glob {
  if (matchesAll(pattern)) return ALWAYS;
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const norm = ignoreCase ? (s: string): string => s.toLowerCase() : (s: string): string => s;
  const star = p.indexOf('*');
  const hasWild = star >= 0 || p.includes('?');
  if (!hasWild) return ignoreCase ? (s) => s.length === p.length && s.toLowerCase() === p : (s) => s === p;
  if (!p.includes('?') && star === p.length - 1 && p.indexOf('*') === p.lastIndexOf('*')) {
    const prefix = p.slice(0, -1);
    return (s) => norm(s).startsWith(prefix);
  }
  if (!p.includes('?') && star === 0 && p.lastIndexOf('*') === 0) {
    const suffix = p.slice(1);
    return (s) => norm(s).endsWith(suffix);
  }
  return (s) => globMatch(p, norm(s));
}

/**
 * A list of patterns as one test (request paths, outbound URLs): patterns without wildcards
 * are one `Set` lookup, the rest are tried in order. `null` for an empty list, so a caller's
 * "configured at all?" is one comparison.
 */
export function compileGlobList(patterns: readonly string[]): Glob | null {
  if (patterns.length === 0) return null;
  const exact = new Set<string>();
  const globs: Glob[] = [];
  for (const p of patterns) {
    if (p.includes('*') || p.includes('?')) globs.push(compileGlob(p, false));
    else exact.add(p);
  }
  if (globs.length === 0) return (s) => exact.has(s);
  return (s) => {
    if (exact.has(s)) return true;
    for (let i = 0; i < globs.length; i++) if (globs[i](s)) return true;
    return false;
  };
}

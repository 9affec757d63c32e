/**
 * SQL statements made safe to leave the process: every literal value becomes `?` before a
 * span is encoded, so a password in an `INSERT`, a card number in a `WHERE` or a token in a
 * comment never reaches the agent. One pass over the text, no regular expression:
 * - strings (`'...'` with `''`, `E'...'`/`N'...'`/`B'...'`/`X'...'` prefixes; backslash
 *   escapes in MySQL and in PostgreSQL's `E'...'`), PostgreSQL dollar-quoted strings
 *   (`$$...$$`, `$tag$...$tag$`), MySQL double-quoted strings, numbers (`42`, `-1.5e3`,
 *   `0x1F`) become `?`;
 * - comments (`-- ...`, `/* ... *\/`, nested in PostgreSQL, and MySQL's `# ...`) are removed:
 *   a comment can hold anything;
 * - a list of values (`(?, ?, ?)`, `VALUES (?, ?), (?, ?)`) becomes one `( ? )`, so a query
 *   built with 3 or 300 values has one resource (a single value in parentheses stays `(?)`);
 * - identifiers, keywords, quoted identifiers (PostgreSQL `"..."`, MySQL backticks) and bind
 *   placeholders (`$1`, `?`, `:name`) stay; runs of white space become one space.
 *
 * Results are cached per statement text (`StatementCache`), so the common parameterised
 * query costs one Map lookup.
 */

export type SqlDialect = 'postgres' | 'mysql';

const SPACE = 32;
const QUOTE = 39; // '
const DQUOTE = 34; // "
const BACKTICK = 96;
const DOLLAR = 36;
const DASH = 45;
const SLASH = 47;
const STAR = 42;
const HASH = 35;
const BACKSLASH = 92;
const DOT = 46;
const LPAREN = 40;
const RPAREN = 41;
const COMMA = 44;
const QMARK = 63;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Letters, digits, `_`, `$` (inside an identifier) and anything beyond ASCII. */
function isIdentChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isDigit(c) || c === 95 || c === DOLLAR || c >= 128;
}

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}

function isSpace(c: number): boolean {
  return c === SPACE || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}

/** After a string prefix letter (`E`, `N`, `B`, `X`, `U&`), the index of its quote, or -1. */
function prefixedQuote(sql: string, i: number): number {
  const c = sql.charCodeAt(i) | 32;
  if ((c === 101 || c === 110 || c === 98 || c === 120) && sql.charCodeAt(i + 1) === QUOTE) return i + 1; // e n b x
  if (c === 117 && sql.charCodeAt(i + 1) === 38 && sql.charCodeAt(i + 2) === QUOTE) return i + 2; // u&'
  return -1;
}

/** End (exclusive) of a quoted run opened at `i` by `q`; a doubled quote is part of it, a backslash escapes when `backslash`. */
function quotedEnd(sql: string, i: number, q: number, backslash: boolean): number {
  const n = sql.length;
  let j = i + 1;
  while (j < n) {
    const c = sql.charCodeAt(j);
    if (backslash && c === BACKSLASH) {
      j += 2;
      continue;
    }
    if (c === q) {
      if (sql.charCodeAt(j + 1) === q) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return n;
}

/** A PostgreSQL dollar-quote tag (`$$` or `$tag$`) starting at `i`, or '' when there is none. */
function dollarTag(sql: string, i: number): string {
  const n = sql.length;
  let j = i + 1;
  if (j < n && sql.charCodeAt(j) === DOLLAR) return '$$';
  if (j >= n || !isIdentStart(sql.charCodeAt(j))) return '';
  while (j < n && isIdentChar(sql.charCodeAt(j)) && sql.charCodeAt(j) !== DOLLAR) j++;
  return j < n && sql.charCodeAt(j) === DOLLAR ? sql.slice(i, j + 1) : '';
}

/** End (exclusive) of a number starting at `i` (digits, one dot, an exponent; or 0x hex). */
function numberEnd(sql: string, i: number): number {
  const n = sql.length;
  let j = i;
  if (sql.charCodeAt(j) === 48 && (sql.charCodeAt(j + 1) | 32) === 120) {
    j += 2;
    while (j < n) {
      const c = sql.charCodeAt(j) | 32;
      if (isDigit(c) || (c >= 97 && c <= 102)) j++;
      else break;
    }
    return j;
  }
  while (j < n && isDigit(sql.charCodeAt(j))) j++;
  if (sql.charCodeAt(j) === DOT) {
    j++;
    while (j < n && isDigit(sql.charCodeAt(j))) j++;
  }
  if ((sql.charCodeAt(j) | 32) === 101) {
    let k = j + 1;
    const s = sql.charCodeAt(k);
    if (s === 43 || s === DASH) k++;
    if (isDigit(sql.charCodeAt(k))) {
      j = k;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
    }
  }
  return j;
}

/** Literals the last `obfuscateSql` call replaced by `?`, and comments it removed. */
let hiddenParts = 0;

/**
 * The statement with every literal replaced by `?` and comments removed (see the module
 * comment). Never throws on malformed SQL: an unterminated string or comment runs to the end
 * and is replaced or removed whole.
 */
function obfuscateSql(sql: string, dialect: SqlDialect): string {
  hiddenParts = 0;
  const pg = dialect === 'postgres';
  const n = sql.length;
  let out = '';
  /** Where each open parenthesis was written in `out`. */
  const opens: number[] = [];
  let i = 0;
  /** The last character written was a space (or nothing yet): no second one. */
  let spaced = true;
  const space = (): void => {
    if (!spaced) {
      out += ' ';
      spaced = true;
    }
  };
  const put = (s: string): void => {
    out += s;
    spaced = false;
  };
  /** A literal (string, number, dollar-quoted text) written as `?`. */
  const value = (): void => {
    out += '?';
    spaced = false;
    hiddenParts++;
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      space();
      i++;
      continue;
    }
    // comments
    if (c === DASH && sql.charCodeAt(i + 1) === DASH) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      space();
      hiddenParts++;
      continue;
    }
    if (c === HASH && !pg) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      space();
      hiddenParts++;
      continue;
    }
    if (c === SLASH && sql.charCodeAt(i + 1) === STAR) {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql.charCodeAt(j) === STAR && sql.charCodeAt(j + 1) === SLASH) {
          depth--;
          j += 2;
        } else if (pg && sql.charCodeAt(j) === SLASH && sql.charCodeAt(j + 1) === STAR) {
          depth++;
          j += 2;
        } else {
          j++;
        }
      }
      i = j;
      space();
      hiddenParts++;
      continue;
    }
    // strings
    if (c === QUOTE) {
      i = quotedEnd(sql, i, QUOTE, !pg);
      value();
      continue;
    }
    if (c === DQUOTE) {
      const end = quotedEnd(sql, i, DQUOTE, !pg);
      // PostgreSQL: an identifier. MySQL: a string (unless ANSI_QUOTES, which apps rarely set).
      if (pg) put(sql.slice(i, end));
      else value();
      i = end;
      continue;
    }
    if (c === BACKTICK) {
      const end = quotedEnd(sql, i, BACKTICK, false);
      put(sql.slice(i, end));
      i = end;
      continue;
    }
    if (c === DOLLAR && pg) {
      if (isDigit(sql.charCodeAt(i + 1))) {
        // $1: a bind placeholder
        let j = i + 1;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        put(sql.slice(i, j));
        i = j;
        continue;
      }
      const tag = dollarTag(sql, i);
      if (tag !== '') {
        const close = sql.indexOf(tag, i + tag.length);
        i = close < 0 ? n : close + tag.length;
        value();
        continue;
      }
    }
    // identifiers and keywords (and string prefixes: E'...', X'...', U&'...')
    if (isIdentStart(c)) {
      const q = prefixedQuote(sql, i);
      if (q >= 0) {
        i = quotedEnd(sql, q, QUOTE, pg ? (c | 32) === 101 : true);
        value();
        continue;
      }
      let j = i + 1;
      while (j < n && isIdentChar(sql.charCodeAt(j))) j++;
      put(sql.slice(i, j));
      i = j;
      continue;
    }
    // numbers (an identifier's digits were taken with it above)
    if (isDigit(c) || (c === DOT && isDigit(sql.charCodeAt(i + 1)))) {
      i = numberEnd(sql, i);
      value();
      continue;
    }
    if (c === LPAREN) {
      opens.push(out.length);
      put('(');
      i++;
      continue;
    }
    if (c === RPAREN) {
      i++;
      const at = opens.pop();
      if (at !== undefined && isList(out, at + 1)) {
        out = out.slice(0, at) + '( ? )';
        spaced = false;
        collapseRepeat();
        continue;
      }
      put(')');
      continue;
    }
    put(sql[i]);
    i++;
  }
  if (spaced && out.length > 0) out = out.slice(0, -1);
  return out;

  /** `( ? ), ( ? )` at the end of `out` (a VALUES list) becomes one `( ? )`. */
  function collapseRepeat(): void {
    const tail = '( ? )';
    while (out.endsWith(tail)) {
      let k = out.length - tail.length - 1;
      while (k >= 0 && out.charCodeAt(k) === SPACE) k--;
      if (k < 0 || out.charCodeAt(k) !== COMMA) return;
      k--;
      while (k >= 0 && out.charCodeAt(k) === SPACE) k--;
      if (k < tail.length - 1 || out.slice(k - tail.length + 1, k + 1) !== tail) return;
      out = out.slice(0, k + 1);
    }
  }
}

/** True when `out` from `from` on is a list of values: only `?`, commas and spaces, with a comma (a single `(?)` stays as written). */
function isList(out: string, from: number): boolean {
  let comma = false;
  for (let k = from; k < out.length; k++) {
    const c = out.charCodeAt(k);
    if (c === COMMA) comma = true;
    else if (c !== QMARK && c !== SPACE) return false;
  }
  return comma;
}

/** The statement's first keyword, upper case (`SELECT`, `INSERT`...), '' when it starts otherwise. */
function sqlOperation(obfuscated: string): string {
  let i = 0;
  const n = obfuscated.length;
  while (i < n && (obfuscated.charCodeAt(i) === SPACE || obfuscated.charCodeAt(i) === LPAREN)) i++;
  let j = i;
  while (j < n && isIdentStart(obfuscated.charCodeAt(j))) j++;
  return obfuscated.slice(i, j).toUpperCase();
}

/** Longest resource kept (the agent's own limit): longer statements are cut, `...` added. */
const MAX_RESOURCE = 5000;
/** Statements longer than this are obfuscated each time, not cached (they are rarely repeated text). */
const MAX_CACHED_TEXT = 16 * 1024;

/** What a statement's spans carry: the resource (obfuscated, or raw when configured) and its operation. */
interface Statement {
  readonly resource: string;
  readonly operation: string;
  /** Something was hidden in `resource`: a value replaced by `?` or a comment removed (false when there was none, or with `sqlRawStatements`). */
  readonly obfuscated: boolean;
  /** The span name (`<operation> <database>`) for `nameDb`, the database of the last statement made with it. */
  name: string;
  nameDb: string | undefined;
}

/**
 * Obfuscated statements by text, at most `max` of them; the oldest entry goes when a new one
 * needs room, counted in `onEvict`. Built once per dialect.
 */
export class StatementCache {
  private readonly map = new Map<string, Statement>();

  constructor(
    private readonly dialect: SqlDialect,
    private readonly raw: boolean,
    private readonly max: number,
    private readonly onEvict: () => void,
  ) {}

  get(text: string): Statement {
    const hit = this.map.get(text);
    if (hit !== undefined) return hit;
    const clean = obfuscateSql(text, this.dialect);
    let resource = this.raw ? text.trim() : clean;
    if (resource.length > MAX_RESOURCE) resource = resource.slice(0, MAX_RESOURCE - 3) + '...';
    const operation = sqlOperation(clean);
    const st: Statement = { resource, operation, obfuscated: !this.raw && hiddenParts > 0, name: operation, nameDb: undefined };
    if (text.length <= MAX_CACHED_TEXT) {
      if (this.map.size >= this.max) {
        const oldest = this.map.keys().next().value as string;
        this.map.delete(oldest);
        this.onEvict();
      }
      this.map.set(text, st);
    }
    return st;
  }

  get size(): number {
    return this.map.size;
  }
}

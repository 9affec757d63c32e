/**
 * A small JavaScript tokenizer, enough to find where a statement can be inserted and which
 * names are in scope at a point: strings, template literals (with nested `${}`), comments,
 * regular expressions (by the previous token), numbers, names and punctuators. It never
 * throws; an unterminated construct ends at the end of the source. Used at install time only.
 */

export const enum Tok {
  Name = 0,
  Punct = 1,
  String = 2,
  Template = 3,
  Regex = 4,
  Number = 5,
  Private = 6,
}

export interface Tokens {
  /** Kind of each token; its length is the token count. */
  kind: Uint8Array;
  start: Int32Array;
  end: Int32Array;
  /** Text of names and punctuators ('' for other kinds). */
  text: string[];
  /** 0-based line of each token's start. */
  line: Int32Array;
  /** Offsets where each line starts. */
  lineStarts: number[];
}

const PUNCT3 = new Set(['===', '!==', '**=', '...', '<<=', '>>=', '>>>', '&&=', '||=', '??=']);
const PUNCT2 = new Set(['=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<', '>>', '**']);
/** Characters that can be the second of a punctuator (`==`, `=>`, `...`, `?.`, `**`, `&&`...). */
const PUNCT_NEXT = new Uint8Array(128);
for (const c of '=<>&|?.*+-%^!/') PUNCT_NEXT[c.charCodeAt(0)] = 1;
/** After these names a `/` starts a regular expression. */
const REGEX_AFTER_NAME = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

function isIdStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 36 || c === 95 || c > 127 || c === 92;
}
function isIdPart(c: number): boolean {
  return isIdStart(c) || (c >= 48 && c <= 57);
}

function lineStartsOf(src: string): number[] {
  const out = [0];
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 10) out.push(i + 1);
    else if (c === 13) {
      if (src.charCodeAt(i + 1) === 10) i++;
      out.push(i + 1);
    } else if (c === 0x2028 || c === 0x2029) out.push(i + 1);
  }
  return out;
}

export function tokenize(src: string, until = src.length): Tokens {
  const lineStarts = lineStartsOf(src);
  const n = Math.min(src.length, until);
  // Typed arrays grown by doubling: a 200 KB file has ~50k tokens, and number arrays pushed
  // one by one cost more in copies and garbage than the scan itself.
  let cap = Math.max(64, n >> 2);
  let kind = new Uint8Array(cap);
  let start = new Int32Array(cap);
  let end = new Int32Array(cap);
  let line = new Int32Array(cap);
  const text: string[] = [];
  let count = 0;
  let curLine = 0;
  /** Brace depth per open template literal expression. */
  const templateStack: number[] = [];
  let braceDepth = 0;
  let i = 0;
  if (src.startsWith('#!')) {
    while (i < n && src.charCodeAt(i) !== 10) i++;
  }
  const push = (k: Tok, s: number, e: number, x: string): void => {
    if (count === cap) {
      cap *= 2;
      const grow = <T extends Uint8Array | Int32Array>(a: T, b: T): T => (b.set(a), b);
      kind = grow(kind, new Uint8Array(cap));
      start = grow(start, new Int32Array(cap));
      end = grow(end, new Int32Array(cap));
      line = grow(line, new Int32Array(cap));
    }
    while (curLine + 1 < lineStarts.length && lineStarts[curLine + 1] <= s) curLine++;
    kind[count] = k;
    start[count] = s;
    end[count] = e;
    line[count] = curLine;
    text.push(x);
    count++;
  };
  const regexAllowed = (): boolean => {
    const k = count - 1;
    if (k < 0) return true;
    const kd = kind[k];
    if (kd === Tok.Name) return REGEX_AFTER_NAME.has(text[k]);
    if (kd === Tok.Punct) {
      const p = text[k];
      return p !== ')' && p !== ']' && p !== '++' && p !== '--';
    }
    return false;
  };
  /** Scans a template chunk starting after '`' or '}'; returns the index after its end. */
  const scanTemplate = (from: number, s: number): number => {
    let j = from;
    while (j < n) {
      const c = src.charCodeAt(j);
      if (c === 92) {
        j += 2;
        continue;
      }
      if (c === 96) {
        push(Tok.Template, s, j + 1, '');
        return j + 1;
      }
      if (c === 36 && src.charCodeAt(j + 1) === 123) {
        push(Tok.Template, s, j + 2, '');
        templateStack.push(braceDepth);
        braceDepth++;
        return j + 2;
      }
      j++;
    }
    push(Tok.Template, s, n, '');
    return n;
  };
  while (i < n) {
    const c = src.charCodeAt(i);
    // whitespace
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12 || c === 0xa0 || c === 0xfeff || c === 0x2028 || c === 0x2029) {
      i++;
      continue;
    }
    // comments
    if (c === 47 && src.charCodeAt(i + 1) === 47) {
      while (i < n && src.charCodeAt(i) !== 10 && src.charCodeAt(i) !== 13) i++;
      continue;
    }
    if (c === 47 && src.charCodeAt(i + 1) === 42) {
      const e = src.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
      continue;
    }
    const s = i;
    if (c === 39 || c === 34) {
      i++;
      while (i < n) {
        const d = src.charCodeAt(i);
        if (d === 92) i += 2;
        else if (d === c || d === 10) {
          i++;
          break;
        } else i++;
      }
      push(Tok.String, s, Math.min(i, n), '');
      continue;
    }
    if (c === 96) {
      i = scanTemplate(i + 1, s);
      continue;
    }
    if (c === 35 && isIdStart(src.charCodeAt(i + 1))) {
      i++;
      while (i < n && isIdPart(src.charCodeAt(i))) i++;
      push(Tok.Private, s, i, src.slice(s, i));
      continue;
    }
    if (isIdStart(c)) {
      i++;
      while (i < n) {
        const d = src.charCodeAt(i);
        if (d === 92) i += 6;
        else if (isIdPart(d)) i++;
        else break;
      }
      push(Tok.Name, s, i, src.slice(s, i));
      continue;
    }
    if ((c >= 48 && c <= 57) || (c === 46 && src.charCodeAt(i + 1) >= 48 && src.charCodeAt(i + 1) <= 57)) {
      i++;
      while (i < n) {
        const d = src.charCodeAt(i);
        if (isIdPart(d) || d === 46) i++;
        else if ((d === 43 || d === 45) && (src.charCodeAt(i - 1) | 32) === 101 && !/^0[xX]/.test(src.slice(s, i))) i++;
        else break;
      }
      push(Tok.Number, s, i, '');
      continue;
    }
    if (c === 47 && regexAllowed()) {
      i++;
      let inClass = false;
      while (i < n) {
        const d = src.charCodeAt(i);
        if (d === 92) i += 2;
        else if (d === 10) break;
        else if (d === 91) {
          inClass = true;
          i++;
        } else if (d === 93) {
          inClass = false;
          i++;
        } else if (d === 47 && !inClass) {
          i++;
          break;
        } else i++;
      }
      while (i < n && isIdPart(src.charCodeAt(i))) i++;
      push(Tok.Regex, s, i, '');
      continue;
    }
    // punctuators
    if (c === 123) {
      braceDepth++;
      push(Tok.Punct, s, i + 1, '{');
      i++;
      continue;
    }
    if (c === 125) {
      if (templateStack.length > 0 && templateStack[templateStack.length - 1] === braceDepth - 1) {
        templateStack.pop();
        braceDepth--;
        i = scanTemplate(i + 1, s);
        continue;
      }
      braceDepth--;
      push(Tok.Punct, s, i + 1, '}');
      i++;
      continue;
    }
    const c1 = src.charCodeAt(i + 1);
    if (c1 < 128 && PUNCT_NEXT[c1] === 1) {
      const three = src.slice(i, i + 3);
      if (three === '>>>' && src.charCodeAt(i + 3) === 61) {
        push(Tok.Punct, s, i + 4, '>>>=');
        i += 4;
        continue;
      }
      if (PUNCT3.has(three)) {
        push(Tok.Punct, s, i + 3, three);
        i += 3;
        continue;
      }
      const two = src.slice(i, i + 2);
      // `?.5` is a conditional and a number, not optional chaining.
      if (PUNCT2.has(two) && !(two === '?.' && src.charCodeAt(i + 2) >= 48 && src.charCodeAt(i + 2) <= 57)) {
        push(Tok.Punct, s, i + 2, two);
        i += 2;
        continue;
      }
    }
    push(Tok.Punct, s, i + 1, src[i]);
    i++;
  }
  return { kind: kind.subarray(0, count), start: start.subarray(0, count), end: end.subarray(0, count), line: line.subarray(0, count), text, lineStarts };
}

/** Index of the last token that starts before `offset`, or -1. */
export function tokenBefore(t: Tokens, offset: number): number {
  let lo = 0;
  let hi = t.start.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (t.start[mid] < offset) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** Index of the first token that starts at or after `offset`, or the token count. */
export function tokenAt(t: Tokens, offset: number): number {
  return tokenBefore(t, offset) + 1;
}

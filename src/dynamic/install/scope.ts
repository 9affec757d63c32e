/**
 * What the tokenizer's tokens say about a script's structure, for the installer: the kind of
 * each `{ }` (function body, block, class body), each function's name and parameter names,
 * the names declared in each block, and the innermost bracket around every token. It is a
 * heuristic, not a parser: what it gets wrong is caught by V8 (a patch that does not compile
 * is refused) or at run time (a name that is not in scope reads as undefined).
 */
import { Tok, tokenize, tokenBefore, type Tokens } from './tokenizer';

export const enum BlockKind {
  Function = 0,
  Block = 1,
  Class = 2,
}

interface Block {
  /** Token index of `{`, or -1 for the script's top level. */
  open: number;
  /** Token index of `}` (the token count when unclosed or for the top level). */
  close: number;
  kind: BlockKind;
  /** For functions. */
  name: string;
  params: string[];
  isArrow: boolean;
  isConstructor: boolean;
  /** Names declared directly in this block (`var` goes to the function), with the offset where each is bound. */
  decls: { name: string; at: number }[];
}

/** Innermost bracket of a token: a block index (>= 0), or one of these. */
const IN_PAREN = -2;
const IN_BRACKET = -3;

const LOOP_OR_CONTROL = new Set(['if', 'for', 'while', 'switch', 'catch', 'with']);
const NOT_BINDINGS = new Set(['this', 'super', 'null', 'true', 'false', 'undefined', 'arguments', 'new', 'typeof', 'void', 'await', 'yield']);
const STATEMENT_KEYWORDS = new Set(['const', 'let', 'var', 'function', 'class', 'if', 'for', 'while', 'do', 'return', 'throw', 'try', 'switch', 'break', 'continue', 'export', 'import']);

interface ScopeAt {
  /** The innermost function around the point (null at the top level). */
  fn: Block | null;
  params: string[];
  locals: string[];
}

export class ScriptScopes {
  readonly t: Tokens;
  readonly blocks: Block[] = [];
  /** Innermost bracket in effect right after each token (see IN_PAREN, IN_BRACKET). */
  afterFrame: Int32Array = new Int32Array(0);
  /** Matching `(` for each `)` token index. */
  readonly openParen = new Map<number, number>();

  constructor(readonly src: string) {
    this.t = tokenize(src);
    this.build();
  }

  private build(): void {
    const t = this.t;
    const n = t.kind.length;
    const top: Block = { open: -1, close: n, kind: BlockKind.Function, name: '', params: [], isArrow: false, isConstructor: false, decls: [] };
    this.blocks.push(top);
    // Stack of frames: block index (>= 0) or IN_PAREN / IN_BRACKET with the token index.
    const stack: { frame: number; at: number }[] = [{ frame: 0, at: -1 }];
    let pendingForDecls: { name: string; at: number }[] | null = null;
    // Made once, not per token: a closure per token is most of the garbage on a large file.
    const setPending = (d: { name: string; at: number }[] | null): void => void (pendingForDecls = d);
    const getPending = (): { name: string; at: number }[] | null => pendingForDecls;
    const afterFrame = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const kind = t.kind[i];
      const text = t.text[i];
      const cur = stack[stack.length - 1];
      this.step(i, kind, text, cur, stack, setPending, getPending);
      afterFrame[i] = stack[stack.length - 1].frame;
    }
    this.afterFrame = afterFrame;
    for (let k = stack.length - 1; k > 0; k--) if (stack[k].frame >= 0) this.blocks[stack[k].frame].close = n;
  }

  private step(
    i: number,
    kind: Tok,
    text: string,
    cur: { frame: number; at: number },
    stack: { frame: number; at: number }[],
    setPending: (d: { name: string; at: number }[] | null) => void,
    getPending: () => { name: string; at: number }[] | null,
  ): void {
    const t = this.t;
    const n = t.kind.length;
    {
      if (kind === Tok.Punct) {
        if (text === '(') stack.push({ frame: IN_PAREN, at: i });
        else if (text === '[') stack.push({ frame: IN_BRACKET, at: i });
        else if (text === ')' || text === ']') {
          const want = text === ')' ? IN_PAREN : IN_BRACKET;
          // Pop to the matching bracket; a stray closer is ignored.
          for (let k = stack.length - 1; k > 0; k--) {
            if (stack[k].frame === want) {
              if (want === IN_PAREN) this.openParen.set(i, stack[k].at);
              stack.length = k;
              break;
            }
            if (stack[k].frame >= 0) break;
          }
        } else if (text === '{') {
          const b = this.classify(i);
          const pending = getPending();
          if (pending !== null && b.kind === BlockKind.Block) {
            b.decls.push(...pending);
            setPending(null);
          }
          this.blocks.push(b);
          stack.push({ frame: this.blocks.length - 1, at: i });
        } else if (text === '}') {
          for (let k = stack.length - 1; k > 0; k--) {
            const f = stack[k].frame;
            if (f >= 0) {
              this.blocks[f].close = i;
              stack.length = k;
              break;
            }
          }
        }
        return;
      }
      if (kind !== Tok.Name) return;
      if (text === 'const' || text === 'let' || text === 'var') {
        const next = i + 1;
        if (next >= n) return;
        const nk = t.kind[next];
        const nt = t.text[next];
        if (!(nk === Tok.Name || nt === '{' || nt === '[')) return;
        if (text === 'let' && nk === Tok.Name && (nt === 'in' || nt === 'instanceof' || nt === 'of')) return;
        const names: { name: string; at: number }[] = [];
        this.declarators(next, names);
        if (cur.frame === IN_PAREN) {
          // for (const x of ...): visible in the body that follows.
          setPending([...(getPending() ?? []), ...names]);
        } else {
          const target = text === 'var' ? this.functionOf(stack) : this.nearestBlock(stack);
          this.blocks[target].decls.push(...names);
        }
      } else if ((text === 'function' || text === 'class') && i + 1 < n && t.kind[i + 1] === Tok.Name) {
        // Declarations are hoisted (functions) or at least named in their block.
        const prev = i > 0 ? t.text[i - 1] : ';';
        const isExpression = prev === '=' || prev === '(' || prev === ',' || prev === ':' || prev === 'return' || prev === '?';
        if (!isExpression) this.blocks[this.nearestBlock(stack)].decls.push({ name: t.text[i + 1], at: t.start[i] });
      } else if (text === 'catch' && i + 1 < n && t.text[i + 1] === '(') {
        const names: { name: string; at: number }[] = [];
        this.pattern(i + 2, names);
        setPending(names);
      }
    }
  }

  private nearestBlock(stack: { frame: number }[]): number {
    for (let k = stack.length - 1; k >= 0; k--) if (stack[k].frame >= 0) return stack[k].frame;
    return 0;
  }

  private functionOf(stack: { frame: number }[]): number {
    for (let k = stack.length - 1; k >= 0; k--) {
      const f = stack[k].frame;
      if (f >= 0 && this.blocks[f].kind === BlockKind.Function) return f;
    }
    return 0;
  }

  /** What the `{` at token `i` opens. */
  private classify(i: number): Block {
    const t = this.t;
    const b: Block = { open: i, close: t.kind.length, kind: BlockKind.Block, name: '', params: [], isArrow: false, isConstructor: false, decls: [] };
    const prev = i - 1;
    if (prev < 0) return b;
    const pt = t.text[prev];
    if (pt === '=>') {
      b.kind = BlockKind.Function;
      b.isArrow = true;
      const p = prev - 1;
      if (p >= 0 && t.text[p] === ')') {
        const open = this.openParen.get(p);
        if (open !== undefined) {
          this.params(open, b.params);
          b.name = this.assignedName(open - (t.text[open - 1] === 'async' ? 1 : 0));
        }
      } else if (p >= 0 && t.kind[p] === Tok.Name) {
        b.params.push(t.text[p]);
        b.name = this.assignedName(p - (t.text[p - 1] === 'async' ? 1 : 0));
      }
      return b;
    }
    if (pt === ')') {
      const open = this.openParen.get(prev);
      if (open === undefined) return b;
      const before = open - 1;
      const bt = before >= 0 ? t.text[before] : '';
      if (t.kind[before] === Tok.Name && (LOOP_OR_CONTROL.has(bt) || (bt === 'await' && t.text[before - 1] === 'for'))) return b;
      b.kind = BlockKind.Function;
      this.params(open, b.params);
      if (t.kind[before] === Tok.Name || t.kind[before] === Tok.Private) {
        if (bt === 'function') b.name = this.assignedName(before - (t.text[before - 1] === 'async' ? 1 : 0));
        else {
          b.name = bt;
          b.isConstructor = bt === 'constructor';
        }
      } else if (bt === ']' || t.kind[before] === Tok.String) {
        b.name = '<computed>';
      }
      return b;
    }
    // class Name extends Base {
    for (let k = prev, steps = 0; k >= 0 && steps < 12; k--, steps++) {
      const x = t.text[k];
      if (t.kind[k] === Tok.Name && x === 'class') {
        b.kind = BlockKind.Class;
        b.name = t.kind[k + 1] === Tok.Name && t.text[k + 1] !== 'extends' ? t.text[k + 1] : '';
        break;
      }
      if (t.kind[k] === Tok.Punct && (x === ';' || x === '{' || x === '}' || x === '=' || x === '(' || x === ',')) break;
    }
    return b;
  }

  /** `name = function`, `name: (a) =>`, `function name` -> name. */
  private assignedName(k: number): string {
    const t = this.t;
    if (t.text[k] === 'function') {
      if (t.kind[k + 1] === Tok.Name) return t.text[k + 1];
      if (t.text[k + 1] === '*' && t.kind[k + 2] === Tok.Name) return t.text[k + 2];
    }
    const p = k - 1;
    if (p >= 1 && (t.text[p] === '=' || t.text[p] === ':') && (t.kind[p - 1] === Tok.Name || t.kind[p - 1] === Tok.String)) {
      return t.kind[p - 1] === Tok.String ? this.src.slice(t.start[p - 1] + 1, t.end[p - 1] - 1) : t.text[p - 1];
    }
    return '';
  }

  /** Parameter names of the parenthesised list opening at token `open`. */
  private params(open: number, out: string[]): void {
    const names: { name: string; at: number }[] = [];
    const t = this.t;
    let i = open + 1;
    const n = t.kind.length;
    while (i < n && t.text[i] !== ')') {
      if (t.text[i] === ',') {
        i++;
        continue;
      }
      const before = i;
      i = this.pattern(i, names);
      if (t.text[i] === '=') i = this.skipExpression(i + 1);
      if (i === before) i++;
    }
    for (const x of names) out.push(x.name);
  }

  /** `const a = 1, { b, c: d } = x` from the first binding: collects the bound names. */
  private declarators(i: number, out: { name: string; at: number }[]): void {
    const t = this.t;
    const n = t.kind.length;
    for (let guard = 0; guard < 64 && i < n; guard++) {
      i = this.pattern(i, out);
      if (t.text[i] === '=') i = this.skipExpression(i + 1);
      if (t.text[i] !== ',') return;
      i++;
    }
  }

  /** Collects the names a binding pattern at token `i` binds; returns the index after it. */
  private pattern(i: number, out: { name: string; at: number }[]): number {
    const t = this.t;
    const n = t.kind.length;
    if (i >= n) return i;
    if (t.kind[i] === Tok.Name) {
      if (!NOT_BINDINGS.has(t.text[i])) out.push({ name: t.text[i], at: t.start[i] });
      return i + 1;
    }
    if (t.text[i] === '...') return this.pattern(i + 1, out);
    if (t.text[i] === '{') {
      i++;
      for (let guard = 0; guard < 1000 && i < n && t.text[i] !== '}'; guard++) {
        if (t.text[i] === ',') {
          i++;
          continue;
        }
        if (t.text[i] === '...') {
          i = this.pattern(i + 1, out);
          continue;
        }
        // key: a name, a string, a number or [computed]
        let key = i;
        if (t.text[i] === '[') i = this.skipBracket(i);
        else i++;
        if (t.text[i] === ':') i = this.pattern(i + 1, out);
        else if (t.kind[key] === Tok.Name && !NOT_BINDINGS.has(t.text[key])) out.push({ name: t.text[key], at: t.start[key] });
        if (t.text[i] === '=') i = this.skipExpression(i + 1);
        if (i === key) i++;
        key = -1;
      }
      return i + 1;
    }
    if (t.text[i] === '[') {
      i++;
      for (let guard = 0; guard < 1000 && i < n && t.text[i] !== ']'; guard++) {
        if (t.text[i] === ',') {
          i++;
          continue;
        }
        const before = i;
        i = this.pattern(i, out);
        if (t.text[i] === '=') i = this.skipExpression(i + 1);
        if (i === before) i++;
      }
      return i + 1;
    }
    return i;
  }

  private skipBracket(i: number): number {
    const t = this.t;
    let depth = 0;
    for (; i < t.kind.length; i++) {
      const x = t.kind[i] === Tok.Punct ? t.text[i] : '';
      if (x === '(' || x === '[' || x === '{') depth++;
      else if (x === ')' || x === ']' || x === '}') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return i;
  }

  /** Skips an initializer: to a `,` `;` or closer at depth 0, or a statement keyword on a new line. */
  private skipExpression(i: number): number {
    const t = this.t;
    let depth = 0;
    const startLine = t.line[i] ?? 0;
    for (; i < t.kind.length; i++) {
      const x = t.kind[i] === Tok.Punct ? t.text[i] : '';
      if (x === '(' || x === '[' || x === '{') depth++;
      else if (x === ')' || x === ']' || x === '}') {
        if (depth === 0) return i;
        depth--;
      } else if (depth === 0 && (x === ',' || x === ';')) return i;
      else if (depth === 0 && t.kind[i] === Tok.Name && t.line[i] > startLine && STATEMENT_KEYWORDS.has(t.text[i])) return i;
    }
    return i;
  }

  /** Enclosing blocks of the offset, innermost first, ending with the top level. */
  chainAt(offset: number): Block[] {
    const out: Block[] = [];
    let best = 0;
    for (let b = 1; b < this.blocks.length; b++) {
      const blk = this.blocks[b];
      if (this.t.start[blk.open] < offset && (blk.close >= this.t.kind.length || this.t.start[blk.close] >= offset)) {
        if (best === 0 || this.t.start[blk.open] > this.t.start[this.blocks[best].open]) best = b;
      }
    }
    for (let b = best, guard = 0; b >= 0 && guard < 10_000; guard++) {
      out.push(this.blocks[b]);
      if (b === 0) break;
      b = this.enclosing(b);
    }
    return out;
  }

  private enclosing(b: number): number {
    const open = this.blocks[b].open;
    let best = 0;
    for (let k = 1; k < this.blocks.length; k++) {
      if (k === b) continue;
      const blk = this.blocks[k];
      if (blk.open < open && blk.close > open && (best === 0 || blk.open > this.blocks[best].open)) best = k;
    }
    return best;
  }

  /** The function around `offset` and the names in scope there (declared before it). */
  scopeAt(offset: number): ScopeAt {
    const chain = this.chainAt(offset);
    const locals: string[] = [];
    const seen = new Set<string>();
    let fn: Block | null = null;
    for (const b of chain) {
      for (const d of b.decls) {
        if (d.at < offset && !seen.has(d.name)) {
          seen.add(d.name);
          locals.push(d.name);
        }
      }
      if (b.kind === BlockKind.Function && b.open >= 0) {
        fn = b;
        break;
      }
    }
    const params = fn ? fn.params.filter((p) => !seen.has(p)) : [];
    return { fn, params, locals };
  }

  /** The innermost bracket around the position `offset`: a block index, IN_PAREN or IN_BRACKET. */
  frameAt(offset: number): number {
    const k = tokenBefore(this.t, offset);
    return k < 0 ? 0 : this.afterFrame[k];
  }
}

/**
 * A probe's call in a script's source, as text: where it goes (the first statement of the
 * probe's line, or the entry of a method) and the source rebuilt from the original text plus
 * the calls it has now. Both ways of putting calls in use this: placement at load time (the
 * text given to V8 to compile) and live edit (the text given to `Debugger.setScriptSource`).
 *
 * The call is inserted on the probe's line, without a new line: line numbers and stack traces
 * keep their lines. It passes the values the probe reads, and is wrapped so that nothing it
 * does reaches the app: `;try{__tracewell$probe(3,request,body)}catch(e){__tracewell$probe.error(3,e)};`.
 */
import { ScriptScopes, BlockKind } from './scope';
import { Tok, tokenAt } from './tokenizer';
import { generatedFor, type Mapping } from '../sourcemap';

/** The global the inserted calls go through. */
export const HOOK = '__tracewell$probe';

/** Most names passed as separate arguments; more go in one array. */
export const MAX_POSITIONAL = 8;

export class InstallError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where a probe goes in a script's original source. */
export interface Placement {
  /** Offset in the original source where the call is inserted. */
  offset: number;
  /** 1-based generated line and column, for the status. */
  genLine: number;
  genCol: number;
  /** Parameters and locals in scope at that point (declared before it). */
  params: string[];
  locals: string[];
  /** Whether the probe's line is in a function (`this` has a meaning there). */
  inFunction: boolean;
}

/** One call to insert: at `offset` of the original source. */
export interface Insert {
  offset: number;
  text: string;
}

/** A compiled script's source map, with the index of the source a probe names. */
export interface MappedSource {
  mappings: Mapping[];
  source: number;
}

/** Does `path` end with `suffix` on a path boundary? (`src/member.ts` matches `/srv/app/src/member.ts`.) */
export function matchesSuffix(path: string, suffix: string): boolean {
  const s = suffix.replace(/^\.\//, '');
  if (s.startsWith('/')) return path === s;
  return path === s || (path.endsWith(s) && path.charCodeAt(path.length - s.length - 1) === 47 /* / */);
}

/** The guarded call of probe `num`, passing `names` (in one array when there are more than MAX_POSITIONAL). */
export function probeCall(num: number, names: readonly string[]): string {
  const args = names.length > MAX_POSITIONAL ? `[${names.join(',')}]` : names.join(',');
  // One line, no new line: the app's line numbers stay as they were.
  return `;try{${HOOK}(${num}${args === '' ? '' : ',' + args})}catch(e){${HOOK}.error(${num},e)};`;
}

/** The original source with the calls in it. */
export function withCalls(original: string, inserts: Iterable<Insert>): string {
  const list = [...inserts].sort((a, b) => b.offset - a.offset);
  let src = original;
  for (const ins of list) src = src.slice(0, ins.offset) + ins.text + src.slice(ins.offset);
  return src;
}

/** Finds where probes go in one script's original source (its tokens and scopes built once). */
export class SourcePlacer {
  private scopesCache: ScriptScopes | null = null;

  constructor(
    readonly src: string,
    /** The script's path, for messages. */
    readonly path: string,
  ) {}

  private get scopes(): ScriptScopes {
    return (this.scopesCache ??= new ScriptScopes(this.src));
  }

  /** Where a probe on `line` (1-based, of the file or, through the map, of its source) goes. */
  line(line: number, mapped: MappedSource | null): Placement {
    const src = this.src;
    const scopes = this.scopes;
    const t = scopes.t;
    let genLine = line - 1;
    let from = -1;
    if (mapped !== null) {
      const g = generatedFor(mapped.mappings, mapped.source, line);
      if (g === null) throw new InstallError('NoCode', `line ${line} has no code in the compiled script (per its source map)`);
      genLine = g.genLine;
      from = (t.lineStarts[genLine] ?? src.length) + g.genCol;
    }
    // A new line at the end of the file ends its last line; it does not start one more.
    const lineCount = t.lineStarts.length - (src.length > 0 && t.lineStarts[t.lineStarts.length - 1] === src.length ? 1 : 0);
    if (genLine >= lineCount) throw new InstallError('NoCode', `line ${line} is past the end of the file (${lineCount} line${lineCount === 1 ? '' : 's'})`);
    const lineStart = from >= 0 ? from : t.lineStarts[genLine];
    const lineEnd = genLine + 1 < t.lineStarts.length ? t.lineStarts[genLine + 1] : src.length;
    const k = tokenAt(t, lineStart);
    if (k >= t.kind.length || t.start[k] >= lineEnd) throw new InstallError('NoCode', `line ${line} has no code (blank or a comment)`);
    const first = t.text[k];
    if (t.kind[k] === Tok.Punct && first !== '(' && first !== '[' && first !== '!' && first !== '-' && first !== '+' && first !== '`' && first !== ';') {
      throw new InstallError('NoStatement', `line ${line} does not start a statement (it starts with "${first}")`);
    }
    if (t.kind[k] === Tok.Name && ['else', 'catch', 'finally', 'case', 'default', 'in', 'of', 'instanceof'].includes(first)) {
      throw new InstallError('NoStatement', `line ${line} does not start a statement (it starts with "${first}")`);
    }
    if (!statementStart(scopes, k)) throw new InstallError('NoStatement', `line ${line} continues the statement of an earlier line; put the probe on the line where the statement starts`);
    const frame = scopes.frameAt(t.start[k]);
    if (frame < 0) throw new InstallError('NoStatement', `line ${line} is inside parentheses or brackets; put the probe on the line where the statement starts`);
    if (scopes.blocks[frame]?.kind === BlockKind.Class) throw new InstallError('NoStatement', `line ${line} is a class member declaration, not a statement`);
    const scope = scopes.scopeAt(t.start[k]);
    const col = t.start[k] - t.lineStarts[genLine];
    return { offset: t.start[k], genLine: genLine + 1, genCol: col + 1, params: scope.params, locals: scope.locals, inFunction: scope.fn !== null && !scope.fn.isArrow };
  }

  /** Where a probe on the entry of `typeName.methodName` (or function `methodName`) goes: before the first statement of its body. */
  method(typeName: string | undefined, methodName: string): Placement {
    const scopes = this.scopes;
    const t = scopes.t;
    const classOf = (open: number): string => {
      for (const b of scopes.chainAt(t.start[open])) if (b.kind === BlockKind.Class) return b.name;
      return '';
    };
    const hits = scopes.blocks.filter((b) => b.kind === BlockKind.Function && b.open >= 0 && b.name === methodName && (typeName === undefined || classOf(b.open) === typeName));
    const what = `${typeName ? typeName + '.' : ''}${methodName}`;
    if (hits.length === 0) throw new InstallError('UnknownMethod', `no ${typeName ? 'method' : 'function'} ${what} in ${this.path}`);
    if (hits.length > 1) throw new InstallError('AmbiguousMethod', `${what} is defined ${hits.length} times in ${this.path} (lines ${hits.map((b) => t.line[b.open] + 1).join(', ')}); use a line probe`);
    const b = hits[0];
    const k = b.open + 1;
    if (k >= t.kind.length) throw new InstallError('NoCode', `${what} has no body`);
    const offset = t.start[k];
    const line = t.line[k];
    return { offset, genLine: line + 1, genCol: offset - t.lineStarts[line] + 1, params: b.params.slice(), locals: [], inFunction: !b.isArrow };
  }
}

/** Is token k the start of a statement? */
function statementStart(scopes: ScriptScopes, k: number): boolean {
  const t = scopes.t;
  if (k === 0) return true;
  const p = k - 1;
  const prev = t.text[p];
  if (t.kind[p] === Tok.Punct) {
    if (prev === ';' || prev === '{' || prev === '}') return true;
    if (prev === ')' && t.line[p] < t.line[k]) {
      // `if (x)\n  stmt`: the statement belongs to the if; inserting before it would change that.
      const open = scopes.openParen.get(p);
      const before = open === undefined ? -1 : open - 1;
      if (before >= 0 && t.kind[before] === Tok.Name && ['if', 'for', 'while', 'with'].includes(t.text[before])) return false;
      return t.kind[k] === Tok.Name;
    }
    if (prev === ']' && t.line[p] < t.line[k]) return t.kind[k] === Tok.Name;
    return false;
  }
  // A name, number, string or template ending the previous line, then a new line starting with a name: ASI.
  if (t.line[p] < t.line[k] && t.kind[k] === Tok.Name) {
    if (t.kind[p] === Tok.Name && ['else', 'do', 'return', 'typeof', 'new', 'await', 'yield', 'void', 'delete', 'in', 'of', 'instanceof', 'case'].includes(prev)) return false;
    return true;
  }
  return false;
}

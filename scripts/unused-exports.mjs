// Exported names of src/ that nothing else uses, found with the TypeScript compiler API, and
// unused locals and parameters (`noUnusedLocals`, `noUnusedParameters`). Exits 1 when it finds
// any, listing each; `npm test` runs it first.
//
// An export counts as used when another file of src/ refers to it (an import, a re-export, a
// `typeof import(...)`, a namespace member), when its module is a public entry point, or when
// its module is loaded from dist/ by a file outside src/ (tests, benchmarks, bin, examples,
// scripts) that names it (read as text: a name that appears anywhere in such a file counts).
// `--verbose` also prints how each finding is used in its own file.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ts = createRequire(import.meta.url)('typescript');
const root = join(fileURLToPath(import.meta.url), '..', '..');
const verbose = process.argv.includes('--verbose');

/** Entry points: the package's (`src/index.ts`, the public API; `src/register.ts`) and each folder's `index.ts`. Every export of theirs counts as used. */
const isEntryPoint = (file) => file === 'src/index.ts' || file === 'src/register.ts' || /^src\/[\w-]+\/index\.ts$/.test(file);

/** Exports kept although nothing names them, each with its reason. */
const ALLOWED = {
  'src/tracer/finished-span.ts': {
    FinishedTrace: 'the read-only trace type of the exporter boundary, named in FinishedSpan (exporters may name it too)',
  },
  'src/tracer/instrumentations/esm-loader.ts': {
    load: 'the load hook Node calls by name in the module that `module.register` is given (esm-hook.ts)',
  },
};

// Files left out of the check (none now; a branch rewriting a file may list it here for a while).
const SKIP = [];
const skipped = (file) => SKIP.some((s) => (s.endsWith('/') ? file.startsWith(s) : file === s));

const rel = (f) => relative(root, f).split(sep).join('/');

// ---- the program, with the unused-locals checks on ----
const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')) });
const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true, noUnusedLocals: true, noUnusedParameters: true } });
const checker = program.getTypeChecker();
const sources = program.getSourceFiles().filter((f) => !f.isDeclarationFile && rel(f.fileName).startsWith('src/'));

function fail(message) {
  process.stderr.write(`unused-exports: ${message}\n`);
  process.exit(2);
}

const problems = [];

// Unused locals and parameters (TS6133 and kin), outside the skipped files.
const UNUSED_CODES = new Set([6133, 6138, 6192, 6196, 6198, 6199, 6205]);
for (const d of ts.getPreEmitDiagnostics(program)) {
  if (d.file === undefined) continue;
  const file = rel(d.file.fileName);
  if (!UNUSED_CODES.has(d.code)) {
    if (d.category === ts.DiagnosticCategory.Error) fail(`${file}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')} (the build should have caught this)`);
    continue;
  }
  if (skipped(file)) continue;
  const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
  problems.push(`${file}:${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

// ---- which files refer to each symbol ----
/** symbol -> files (relative) that refer to it, the declaring file included. */
const refs = new Map();
function note(sym, file) {
  let s = refs.get(sym);
  if (s === undefined) refs.set(sym, (s = new Set()));
  s.add(file);
}
function isDeclarationName(node) {
  const p = node.parent;
  return p !== undefined && p.name === node && (ts.isDeclarationStatement?.(p) || ts.isVariableDeclaration(p) || ts.isFunctionDeclaration(p) || ts.isClassDeclaration(p) || ts.isInterfaceDeclaration(p) || ts.isTypeAliasDeclaration(p) || ts.isEnumDeclaration(p));
}
for (const sf of sources) {
  const file = rel(sf.fileName);
  const visit = (node) => {
    // `import * as agent from './agent'` (a command table): every export of that module is used.
    if (ts.isNamespaceImport(node)) {
      const target = checker.getSymbolAtLocation(node.parent.parent.moduleSpecifier);
      if (target !== undefined) for (const sym of checker.getExportsOfModule(target)) note(sym, file);
    }
    if (ts.isIdentifier(node) && !isDeclarationName(node)) {
      let sym = checker.getSymbolAtLocation(node);
      // `const { A: B } = require('./x') as typeof import('./x')`: the property name is the export.
      if (sym === undefined && ts.isBindingElement(node.parent) && node.parent.propertyName === node) {
        const type = checker.getTypeAtLocation(node.parent.parent);
        sym = type.getProperty(node.text);
      }
      const seen = new Set();
      while (sym !== undefined && !seen.has(sym)) {
        seen.add(sym);
        const exported = checker.getExportSymbolOfSymbol(sym);
        note(exported, file);
        if (exported !== sym) note(sym, file);
        if (!(sym.flags & ts.SymbolFlags.Alias)) break;
        sym = checker.getImmediateAliasedSymbol(sym);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

// ---- what is loaded from dist/ outside src/, and the names those files mention ----
const OUTSIDE = ['test', 'benchmarks', 'bin', 'examples', 'scripts'];
const loadedFromDist = new Set();
const namesOutside = new Set();
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'results' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(mjs|cjs|js|ts|mts|cts)$/.test(name)) {
      const text = readFileSync(p, 'utf8');
      const joined = text.replace(/['"]\s*,\s*['"]/g, '/');
      for (const m of joined.matchAll(/dist\/cjs\/([\w./-]+?)\.js\b/g)) loadedFromDist.add(`src/${m[1]}.ts`);
      for (const m of joined.matchAll(/\bdist\(\s*['"]([\w./-]+?)\.js['"]/g)) loadedFromDist.add(`src/${m[1]}.ts`);
      for (const m of text.matchAll(/[A-Za-z_$][\w$]*/g)) namesOutside.add(m[0]);
    }
  }
}
for (const d of OUTSIDE) {
  try {
    walk(join(root, d));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
}

// ---- every export of every module ----
for (const sf of sources) {
  const file = rel(sf.fileName);
  if (isEntryPoint(file) || skipped(file)) continue;
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  if (moduleSymbol === undefined) continue;
  for (const sym of checker.getExportsOfModule(moduleSymbol)) {
    const name = sym.escapedName.toString();
    if (ALLOWED[file]?.[name] !== undefined) continue;
    const files = refs.get(sym) ?? new Set();
    if ([...files].some((f) => f !== file)) continue;
    if (loadedFromDist.has(file) && namesOutside.has(name)) continue;
    const local = files.has(file);
    const decl = sym.declarations?.[0];
    const line = decl ? decl.getSourceFile().getLineAndCharacterOfPosition(decl.getStart()).line + 1 : 0;
    problems.push(`${file}:${line}: ${name} is exported but no other file uses it${local ? ' (used in its own file: drop `export`)' : ' (unused: delete it)'}`);
    if (verbose) problems.push(`    referenced from: ${[...files].join(', ') || 'nowhere'}`);
  }
}

// Allow-list entries that no longer match anything are stale.
for (const [file, names] of Object.entries(ALLOWED)) {
  const sf = sources.find((s) => rel(s.fileName) === file);
  const exported = sf === undefined ? [] : checker.getExportsOfModule(checker.getSymbolAtLocation(sf)).map((s) => s.escapedName.toString());
  for (const name of Object.keys(names)) if (!exported.includes(name)) problems.push(`scripts/unused-exports.mjs: the allow-list names ${file} ${name}, which is not exported any more`);
}

if (problems.length > 0) {
  process.stderr.write(`unused exports and locals (${problems.length}):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`unused-exports: none in ${sources.length} files of src/\n`);

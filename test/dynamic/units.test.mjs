// Definitions, expressions, capture and redaction, on their own (no child process needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { require, root, compileTs } from '../helpers/common.mjs';

const { parseDefinitions } = require(join(root, 'dist/cjs/dynamic/definitions.js'));
const { compile, parseDsl, toExpr } = require(join(root, 'dist/cjs/dynamic/expr.js'));
const { CaptureContext, render } = require(join(root, 'dist/cjs/dynamic/capture.js'));
const { Redactor, normalizeName } = require(join(root, 'dist/cjs/internal/redact.js'));
const { decodeMappings, generatedFor, loadSourceMap, sourceMappingURLOf } = require(join(root, 'dist/cjs/dynamic/sourcemap.js'));
const { compileError, moduleAsFunctionBody } = require(join(root, 'dist/cjs/dynamic/install/load-time.js'));
const { SourcePlacer, probeCall, withCalls } = require(join(root, 'dist/cjs/dynamic/install/placement.js'));
const { DEFAULT_LIMITS } = require(join(root, 'dist/cjs/dynamic/types.js'));

/** Evaluates an expression (string form or JSON tree) against named values. */
function evaluate(expr, vars) {
  const names = Object.keys(vars);
  const slots = new Map(names.map((n, i) => [n, i]));
  const fn = compile(typeof expr === 'string' ? parseDsl(expr) : expr, { slot: (n) => (slots.has(n) ? slots.get(n) : (slots.set(n, slots.size), slots.size - 1)) });
  const frame = names.map((n) => vars[n]);
  return fn(frame);
}

test('the compact form: decoration, named tags, log, metric; each bad entry is its own error', () => {
  const { probes, bad } = parseDefinitions('member.ts:42 request; src/a.js:7 request=call.request, body.items ;log a.js:3 got {x.id};count a.js:3 hits.total; gauge a.js:4 q.size len(queue); nope; a.js:0 x; a.js:5 x ==', 'TRACEWELL_PROBES');
  assert.deepEqual(probes.map((p) => [p.type, p.where.sourceFile, p.where.line]), [
    ['SPAN_DECORATION_PROBE', 'member.ts', 42],
    ['SPAN_DECORATION_PROBE', 'src/a.js', 7],
    ['LOG_PROBE', 'a.js', 3],
    ['METRIC_PROBE', 'a.js', 3],
    ['METRIC_PROBE', 'a.js', 4],
  ]);
  assert.deepEqual(probes[1].decoration.decorations[0].tags.map((t) => t.name), ['request', 'body.items']);
  assert.deepEqual(probes[1].decoration.decorations[0].tags[0].value[0].json, { getmember: [{ ref: 'call' }, 'request'] });
  assert.equal(probes[2].log.captureSnapshot, true);
  assert.equal(probes[2].log.snapshotsPerSecond, 1);
  assert.deepEqual(probes[4].metric, { kind: 'GAUGE', metricName: 'q.size', value: { dsl: 'len(queue)', json: { len: { ref: 'queue' } } } });
  assert.deepEqual(bad.map((b) => [b.id, b.errorType]), [['nope', 'BadDefinition'], ['a.js:0 x', 'BadDefinition'], ['a.js:5 x ==', 'BadExpression']]);
  assert.match(bad[2].message, /the expression ends too early/);
  // A compact probe's id is its text: the message says why, not the probe again.
  for (const b of bad) assert.ok(!b.message.includes(b.id), `${b.id}: ${b.message}`);
});

test('Datadog probe JSON: every kind, defaults, and a clear error per bad probe', () => {
  const defs = [
    { id: 'log1', version: 3, type: 'LOG_PROBE', where: { sourceFile: 'src/m.ts', lines: ['12'] }, template: 'member {member.id}', segments: [{ str: 'member ' }, { dsl: 'member.id', json: { getmember: [{ ref: 'member' }, 'id'] } }], captureSnapshot: true, capture: { maxReferenceDepth: 2 }, when: { dsl: 'member.id != null', json: { ne: [{ getmember: [{ ref: 'member' }, 'id'] }, null] } } },
    { id: 'deco', type: 'SPAN_DECORATION_PROBE', targetSpan: 'ROOT', where: { sourceFile: 'm.js', lines: [5] }, decorations: [{ when: { dsl: 'isDefined(x)' }, tags: [{ name: 'x', value: { template: '{x}' } }] }] },
    { id: 'met', type: 'METRIC_PROBE', kind: 'HISTOGRAM', metricName: 'cart.size', value: { json: { len: { ref: 'cart' } } }, where: { sourceFile: 'm.js', lines: [6] } },
    { id: 'no-type', where: { sourceFile: 'm.js', lines: [1] } },
    { id: 'method', type: 'LOG_PROBE', where: { typeName: 'Member', methodName: 'get' } },
    { id: 'two-lines', type: 'LOG_PROBE', where: { sourceFile: 'm.js', lines: [1, 2] } },
    { id: 'bad-expr', type: 'METRIC_PROBE', kind: 'GAUGE', metricName: 'g', value: { json: { frobnicate: [1] } }, where: { sourceFile: 'm.js', lines: [1] } },
    { id: 'gauge-no-value', type: 'METRIC_PROBE', kind: 'GAUGE', metricName: 'g', where: { sourceFile: 'm.js', lines: [1] } },
    { id: 'return-ref', type: 'LOG_PROBE', template: '{@return}', where: { sourceFile: 'm.js', lines: [1] } },
  ];
  const { probes, bad } = parseDefinitions(JSON.stringify(defs), 'probes.json');
  assert.deepEqual(probes.map((p) => p.id), ['log1', 'deco', 'met']);
  assert.equal(probes[0].version, 3);
  assert.equal(probes[0].limits.maxReferenceDepth, 2);
  assert.equal(probes[0].limits.maxFieldCount, 20);
  assert.equal(probes[0].log.template.length, 2);
  assert.equal(probes[1].decoration.targetSpan, 'ROOT');
  assert.equal(probes[2].metric.kind, 'HISTOGRAM');
  const why = Object.fromEntries(bad.map((b) => [b.id, `${b.errorType}: ${b.message}`]));
  assert.match(why['no-type'], /^BadDefinition: .*"type" must be LOG_PROBE/);
  assert.match(why.method, /^Unsupported: .*method probes/);
  assert.match(why['two-lines'], /exactly one line/);
  assert.match(why['bad-expr'], /^BadExpression: .*unknown operator "frobnicate"/);
  assert.match(why['gauge-no-value'], /needs a "value"/);
  assert.match(why['return-ref'], /^BadExpression: .*@return is only defined for method probes/);
  const broken = parseDefinitions('[{"id": "x",', 'probes.json');
  assert.equal(broken.probes.length, 0);
  assert.equal(broken.bad[0].errorType, 'BadJson');
  assert.match(broken.bad[0].message, /^not valid JSON: /);
  assert.equal(broken.bad[0].origin, 'probes.json');
  for (const b of bad) assert.ok(!b.message.includes(`probe ${b.id}`), `${b.id}: ${b.message}`);
});

test('expressions: the string form and the JSON tree mean the same; comparisons, functions, @it', () => {
  const vars = { request: { member_no: 'M-1', items: [{ price: 5 }, { price: 50 }], tags: new Set(['a']), meta: new Map([['k', 2]]) }, n: 3 };
  assert.deepEqual(parseDsl('request.member_no != null'), { ne: [{ getmember: [{ ref: 'request' }, 'member_no'] }, null] });
  assert.equal(evaluate('request.member_no != null', vars), true);
  assert.equal(evaluate({ ne: [{ getmember: [{ ref: 'request' }, 'member_no'] }, null] }, vars), true);
  assert.equal(evaluate('request.missing == null', vars), true);
  assert.equal(evaluate('len(request.items) == 2 && n >= 3', vars), true);
  assert.equal(evaluate('any(request.items, @it.price > 10)', vars), true);
  assert.equal(evaluate('all(request.items, @it.price > 10)', vars), false);
  assert.deepEqual(evaluate('filter(request.items, @it.price > 10)', vars), [{ price: 50 }]);
  assert.equal(evaluate('request.items[1].price', vars), 50);
  assert.equal(evaluate('request.meta["k"]', vars), 2);
  assert.equal(evaluate('contains(request.tags, "a") && startsWith(request.member_no, "M-") && matches(request.member_no, "^M-\\\\d+$")', vars), true);
  assert.equal(evaluate('substring(request.member_no, 0, 1)', vars), 'M');
  assert.equal(evaluate('request instanceof "Object" && !isEmpty(request.items)', vars), true);
  assert.equal(evaluate('isDefined(nothing.at.all)', { nothing: undefined }), false);
  for (const bad of ['a ==', 'len(a, b)', 'foo(a)', 'a.', '"open', 'a @ b']) assert.throws(() => parseDsl(bad), { name: 'BadExpression' }, bad);
  assert.throws(() => toExpr({ json: { ref: '@it' } }, 'x'), /@it is only defined inside/);
});

test('expressions only read: no getter, Proxy trap, valueOf or toString of the app runs', () => {
  let ran = 0;
  const trap = () => {
    ran++;
    throw new Error('app code ran');
  };
  const withGetter = { get secret() { return trap(); } };
  const proxy = new Proxy({}, { get: trap, getOwnPropertyDescriptor: trap, has: trap, ownKeys: trap, getPrototypeOf: trap });
  const coercing = { valueOf: trap, toString: trap };
  assert.throws(() => evaluate('o.secret', { o: withGetter }), /getter, which is not called/);
  assert.throws(() => evaluate('o.x', { o: proxy }), /Proxy/);
  assert.throws(() => evaluate('o > 1', { o: coercing }), /compares primitives only/);
  assert.throws(() => evaluate('len(o)', { o: proxy }), /len\(\) of Proxy/);
  assert.throws(() => evaluate('startsWith(o, "a")', { o: coercing }), /needs a string/);
  assert.throws(() => evaluate('x.y', { x: null }), /cannot read "y" of null/);
  assert.equal(evaluate('o.secret == null || true', { o: { secret: 1 } }), true);
  const arr = [1];
  Object.defineProperty(arr, 0, { get: trap });
  assert.throws(() => evaluate('any(a, @it == 1)', { a: arr }), /getter/);
  assert.equal(ran, 0);
});

test('redaction matches names whatever their spelling, with additions and exclusions', () => {
  assert.equal(normalizeName('x-API_Key'), 'xapikey');
  const r = new Redactor(['member_no'], ['session']);
  for (const n of ['password', 'apiKey', 'api-key', 'api_key', 'API_KEY', 'Authorization', 'set-cookie', 'memberNo', 'member_no', 'MEMBER-NO', 'cardNumber']) assert.equal(r.isRedacted(n), true, n);
  for (const n of ['session', 'member', 'plan', 'name']) assert.equal(r.isRedacted(n), false, n);
});

test('capture: limits, cycles, getters, Proxies, Maps, Sets and a time budget; rendered like util.inspect', () => {
  let ran = 0;
  const redactor = new Redactor(['member_no']);
  const ctx = new CaptureContext(redactor);
  const a = { name: 'a', member_no: 'M-1', get g() { ran++; return 1; } };
  a.self = a;
  a.list = Array.from({ length: 150 }, (_, i) => i);
  a.deep = { l1: { l2: { l3: { l4: 1 } } } };
  a.text = 'x'.repeat(300);
  a.proxy = new Proxy({}, { ownKeys() { ran++; return []; }, get() { ran++; } });
  a.map = new Map([['password', 'pw'], ['plain', 1]]);
  a.set = new Set([1, 2]);
  const c = ctx.begin(DEFAULT_LIMITS, 50).value(a, 0);
  assert.equal(ran, 0);
  assert.equal(c.fields.member_no.notCapturedReason, 'redactedIdent');
  assert.equal(c.fields.g.notCapturedReason, 'getter');
  assert.equal(c.fields.self.notCapturedReason, 'circular');
  assert.equal(c.fields.list.elements.length, 100);
  assert.equal(c.fields.list.size, 150);
  assert.equal(c.fields.deep.fields.l1.fields.l2.notCapturedReason, 'depth');
  assert.equal(c.fields.text.value.length, 255);
  assert.equal(c.fields.text.truncated, true);
  assert.equal(c.fields.proxy.notCapturedReason, 'proxy');
  assert.equal(c.fields.map.entries[0][1].notCapturedReason, 'redactedIdent');
  assert.equal(redactor.count, 2);
  const text = render(c);
  assert.match(text, /^\{ name: 'a', member_no: '\[redacted\]', g: \[Getter\], self: \[Circular\], list: \[ 0, 1, .*… 50 more \]/);
  assert.match(text, /map: Map\(2\) \{ 'password' => '\[redacted\]', 'plain' => 1 \}, set: Set\(2\) \[ 1, 2 \]/);
  const wide = {};
  for (let i = 0; i < 30; i++) wide['k' + i] = i;
  const w = ctx.begin(DEFAULT_LIMITS, 50).value(wide, 0);
  assert.equal(Object.keys(w.fields).length, 20);
  assert.equal(w.notCapturedReason, 'fieldCount');
  // A budget already spent: the capture stops and says so.
  const huge = {};
  for (let i = 0; i < 1e5; i++) huge['k' + i] = i;
  const h = ctx.begin(DEFAULT_LIMITS, 0).value({ huge }, 0);
  assert.equal(ctx.overrun, true);
  assert.equal(h.fields?.huge?.notCapturedReason ?? h.notCapturedReason, 'timeout');
});

test('source maps: the VLQ decoder finds the generated line of a TypeScript line (checked against tsc output)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-map-'));
  const src = readFileSync(join(root, 'test/fixtures/probes/pricing.ts'), 'utf8');
  writeFileSync(join(dir, 'pricing.ts'), src);
  compileTs(join(dir, 'pricing.ts'), join(dir, 'out'), { target: 'ES2019' });
  const js = readFileSync(join(dir, 'out/pricing.js'), 'utf8');
  const { map, sources } = loadSourceMap(join(dir, 'out/pricing.js'), 'pricing.js.map');
  assert.equal(sources[0], join(dir, 'pricing.ts'));
  const tsLine = src.split('\n').findIndex((l) => l.includes('// probe: ts')) + 1;
  const g = generatedFor(decodeMappings(map.mappings), 0, tsLine);
  assert.match(js.split('\n')[g.genLine], /const discount = subtotal > 100 \? 10 : 0;/);
  assert.equal(generatedFor(decodeMappings(map.mappings), 0, 2), null, 'an interface line has no code');
});

test('source maps: the sourceMappingURL comment is read from a script\'s text (the last one, on a line of its own)', () => {
  assert.equal(sourceMappingURLOf('x();\n//# sourceMappingURL=a.js.map\n'), 'a.js.map');
  assert.equal(sourceMappingURLOf('x();\n//# sourceMappingURL=old.map\ny();\n//# sourceMappingURL=data:application/json;base64,e30='), 'data:application/json;base64,e30=');
  assert.equal(sourceMappingURLOf('const s = "//# sourceMappingURL=not-this.map";\n'), '');
  assert.equal(sourceMappingURLOf('x();'), '');
});

test('load time: the text with the calls is compiled aside first; an ES module is checked as a function body without its import/export declarations', () => {
  const esm = [
    '#!/usr/bin/env node',
    "import a, { b as c, 'd-e' as de } from './a.mjs';",
    "import * as ns from 'node:path'",
    "import json from './x.json' with { type: 'json' };",
    "import './side-effect.mjs';",
    'export const x = 1, y = 2;',
    'export function f(p) {',
    '  const o = {',
    '    p, // the line',
    '  };',
    '  return import.meta.url + o.p;',
    '}',
    'export default class {}',
    "export { x as z, f as default2 } from './b.mjs';",
    "export * from './c.mjs';",
    "export * as all from './d.mjs'",
    'export { y as w };',
    'const loaded = await import(ns.join("a"));',
    'export async function* g() { yield await loaded; }',
  ].join('\n');
  assert.equal(compileError(esm, 'module'), null, moduleAsFunctionBody(esm));
  assert.doesNotMatch(moduleAsFunctionBody(esm), /\b(import|export) [^(]/);
  // The object literal's property line looks like a statement in a block; a call there would not compile.
  const placer = new SourcePlacer(esm, 'm.mjs');
  const inLiteral = placer.line(9, null);
  assert.match(compileError(withCalls(esm, [{ offset: inLiteral.offset, text: probeCall(1, ['p']) }]), 'module'), /^SyntaxError: /);
  const inBody = placer.line(11, null);
  assert.equal(compileError(withCalls(esm, [{ offset: inBody.offset, text: probeCall(1, ['o', 'p']) }]), 'module'), null);
  // CommonJS: a function of the module's names, so a top-level return is fine.
  const cjs = 'const fs = require("fs");\nif (!fs) return;\nmodule.exports = { a: 1 };\n';
  assert.equal(compileError(cjs, 'commonjs'), null);
  assert.equal(compileError(withCalls(cjs, [{ offset: cjs.indexOf('module'), text: probeCall(2, ['fs']) }]), 'commonjs'), null);
  assert.match(compileError(withCalls(cjs, [{ offset: cjs.indexOf('a: 1'), text: probeCall(2, ['fs']) }]), 'commonjs'), /^SyntaxError: /);
});

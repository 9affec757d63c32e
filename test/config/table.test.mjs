// The option table (src/config/table.ts) is the one place an option is described: the reader
// reads exactly the variables it names, each default is one its own kind accepts, and the docs
// written from it (TracewellOptions' comments, the README, docs/export.md, docs/profiling.md)
// are up to date. The stage slices (src/config/slices.ts) name every field their folder reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { commentText, defaultDoc, envDoc, outOfDate } from '../../scripts/options-docs.mjs';
import { root } from '../helpers/common.mjs';

const require = createRequire(import.meta.url);
const { OPTIONS, FIELDS } = require('../../dist/cjs/config/table.js');
const { resolveConfig } = require('../../dist/cjs/config/resolve.js');
const { SLICES } = require('../../dist/cjs/config/slices.js');

const allEnv = new Set(FIELDS.flatMap((f) => OPTIONS[f].env));
/** Variable names in backticks in a doc text (`DD_AGENT_HOST`, `OTEL_SDK_DISABLED=true`). */
const namedIn = (text) => new Set([...text.matchAll(/`([A-Z][A-Z0-9_]+[A-Z0-9])(?:=[^`]*)?`/g)].map((m) => m[1]));

test('the generated docs are up to date with the table (else: npm run docs:options)', () => {
  assert.deepEqual(outOfDate(), [], 'run `npm run docs:options` and commit what it writes');
});

/** Each TracewellOptions field's doc comment, as one line of text. */
function fieldComments() {
  const source = readFileSync(join(root, 'src', 'config', 'options.ts'), 'utf8');
  const body = source.slice(source.indexOf('export interface TracewellOptions {'), source.indexOf('\n}\n', source.indexOf('export interface TracewellOptions {')));
  const out = new Map();
  for (const m of body.matchAll(/\/\*\*([\s\S]*?)\*\/\n {2}(\w+)\?:/g)) {
    out.set(m[2], m[1].split('\n').map((l) => l.replace(/^\s*\*? ?/, '').trim()).filter((l) => l !== '').join(' '));
  }
  return out;
}

test("each field's comment in options.ts says what the table says: what is accepted, its variables, its default", () => {
  const comments = fieldComments();
  assert.deepEqual([...comments.keys()].sort(), [...FIELDS].sort(), 'one comment per field, every field in the table');
  for (const field of FIELDS) {
    const text = comments.get(field);
    assert.equal(text, commentText(field), field);
    assert.deepEqual(namedIn(text.slice(text.indexOf(' Env: '))), new Set([...namedIn(envDoc(field)), ...namedIn(defaultDoc(field))]), field);
  }
});

test('the docs of each field name exactly the variables the table lists for it', () => {
  for (const field of FIELDS) {
    const env = new Set(OPTIONS[field].env);
    const inEnvDoc = namedIn(envDoc(field));
    for (const name of inEnvDoc) assert.ok(env.has(name), `${field}: its docs name ${name}, which it does not read`);
    const inDocs = new Set([...inEnvDoc, ...namedIn(defaultDoc(field))]);
    for (const name of env) assert.ok(inDocs.has(name), `${field}: reads ${name}, which its docs do not name`);
  }
});

test('the reader reads, for each field, only the variables its table entry names, and every variable named is read', () => {
  const reads = new Map();
  const onRead = (field, variable) => {
    if (!reads.has(field)) reads.set(field, new Set());
    reads.get(field).add(variable);
  };
  // Nothing set (every fallback is tried), and the sampler that makes OTEL_TRACES_SAMPLER_ARG count.
  resolveConfig({}, {}, { onRead });
  resolveConfig({}, { OTEL_TRACES_SAMPLER: 'traceidratio' }, { onRead });
  const everyRead = new Set();
  for (const [field, names] of reads) {
    assert.ok(FIELDS.includes(field), `read outside a field: ${[...names]}`);
    for (const name of names) {
      assert.ok(OPTIONS[field].env.includes(name), `${field} read ${name}, which its table entry does not name`);
      everyRead.add(name);
    }
  }
  assert.deepEqual([...allEnv].filter((n) => !everyRead.has(n)), [], 'variables the table names that nothing reads');
});

test('a plain field reads its variables in the order the table gives (the first set wins)', () => {
  for (const field of FIELDS) {
    const spec = OPTIONS[field];
    if (spec.resolve !== undefined || spec.env.length < 2) continue;
    const order = [];
    resolveConfig({}, {}, { onRead: (f, v) => f === field && order.push(v) });
    assert.deepEqual(order, spec.env, field);
  }
});

test("each default is one its own kind accepts, and is what resolves with nothing set", () => {
  const { config } = resolveConfig({}, {});
  for (const field of FIELDS) {
    const spec = OPTIONS[field];
    const d = typeof spec.default === 'function' ? spec.default() : spec.default;
    if (field !== 'service' && field !== 'version') assert.deepEqual(config[field], d, `${field}: the default resolves`);
    if (d === undefined || d === '' || (Array.isArray(d) && d.length === 0) || (typeof d === 'object' && Object.keys(d).length === 0)) continue;
    assert.notEqual(spec.kind.check(d), undefined, `${field}: its default ${JSON.stringify(d)} is not accepted by its own kind (${spec.kind.acceptedInCode})`);
    if (typeof d === 'number') assert.equal(spec.defaultDoc, undefined, `${field}: a number default is written from the value, not in words`);
  }
});

/** `config.<field>` (also `this.config.<field>`, `config?.<field>`) in a folder's sources, for fields of the config. */
function fieldsRead(dir) {
  const out = new Set();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/\bconfig\??\.(\w+)/g)) if (FIELDS.includes(m[1])) out.add(m[1]);
    }
  };
  walk(dir);
  return out;
}

test('each stage slice (src/config/slices.ts) names every field its folder reads', () => {
  for (const [folder, fields] of Object.entries(SLICES)) {
    const read = fieldsRead(join(root, 'src', folder));
    assert.ok(read.size > 0, `src/${folder} reads no config.<field> any more: if the stage takes its slice under another name, make fieldsRead() see it, or this check is empty`);
    const missing = [...read].filter((f) => !fields.includes(f));
    assert.deepEqual(missing, [], `src/${folder} reads ${missing.join(', ')}: add them to its slice in src/config/slices.ts`);
    for (const f of fields) assert.ok(FIELDS.includes(f), `${folder}: ${f} is not a config field`);
  }
});

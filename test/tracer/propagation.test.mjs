// Propagation: each style round-trips, the W3C trace-context rules hold (the cases of the
// w3c/trace-context conformance suite, test/test.py), Datadog headers are read strictly, the
// style order decides, and no header, however malformed, makes extraction or injection throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { validateHeaderValue } from 'node:http';

const require = createRequire(import.meta.url);
const { Propagator } = require('../../dist/cjs/tracer/propagation/index.js');
const { filterTracestate, extractTraceparent, injectTraceparent } = require('../../dist/cjs/tracer/propagation/w3c.js');
const { extractDatadog, injectDatadog } = require('../../dist/cjs/tracer/propagation/datadog.js');
const { extractB3Single, extractB3Multi } = require('../../dist/cjs/tracer/propagation/b3.js');
const { resolveConfig } = require('../../dist/cjs/config/resolve.js');
const { TracerCore } = require('../../dist/cjs/tracer/tracer.js');
const { ROOT_CONTEXT, SpanKind, trace } = require('@opentelemetry/api');

/** The getter the HTTP server integration uses: strings, or the first of an array. */
const get = (c, k) => {
  const v = c[k];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
};
/** What a careless getter (OTel's default TextMapGetter) hands over: whatever the carrier holds. */
const rawGet = (c, k) => c[k];
const set = (c, k, v) => {
  c[k] = v;
};

const IDS = ['t0', 't1', 't2', 't3', 'spanHi', 'spanLo'];
const u64 = (hi, lo) => ((BigInt(hi) << 32n) | BigInt(lo)).toString();
const hex = (n) => n.toString(16).padStart(8, '0');

// Every half distinct, some with the top bit set (signed/unsigned mix-ups show), a 128-bit trace id.
const SRC = Object.freeze({
  t0: 0x6b030846,
  t1: 0xc0ffee01,
  t2: 0x812eedff,
  t3: 0xe960f8ad,
  spanHi: 0xf234abcd,
  spanLo: 0x0000ffff,
  priority: 2,
  mechanism: -1,
  origin: 'synthetics',
  ptags: '_dd.p.usr=abc',
  tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
  baggage: 'user=alice,tier=gold',
});
const TRACE_HEX = hex(SRC.t0) + hex(SRC.t1) + hex(SRC.t2) + hex(SRC.t3);
const SPAN_HEX = hex(SRC.spanHi) + hex(SRC.spanLo);

function roundTrip(style, src = SRC) {
  const p = new Propagator([style, 'baggage'], [style, 'baggage']);
  const carrier = {};
  p.inject(src, carrier, set);
  return { carrier, got: p.extract(carrier, get) };
}

function assertIds(got, src = SRC) {
  assert.ok(got, 'a context was extracted');
  for (const k of IDS) assert.equal(got[k], src[k], k);
}

// ---------------------------------------------------------------------------------------------
// Round trips

test('datadog round-trips: low 64 bits in x-datadog-trace-id (decimal), high 64 in _dd.p.tid', () => {
  const { carrier, got } = roundTrip('datadog');
  assert.deepEqual(carrier, {
    'x-datadog-trace-id': u64(SRC.t2, SRC.t3),
    'x-datadog-parent-id': u64(SRC.spanHi, SRC.spanLo),
    'x-datadog-sampling-priority': '2',
    'x-datadog-origin': 'synthetics',
    'x-datadog-tags': `_dd.p.tid=${hex(SRC.t0)}${hex(SRC.t1)},_dd.p.usr=abc`,
    baggage: 'user=alice,tier=gold',
  });
  assertIds(got);
  assert.equal(got.priority, 2);
  assert.equal(got.origin, 'synthetics');
  assert.equal(got.ptags, '_dd.p.usr=abc', '_dd.p.tid is an id, not a tag');
  assert.equal(got.tracestate, '', 'the datadog style carries no tracestate');
  assert.equal(got.baggage, 'user=alice,tier=gold');
});

test('datadog: a 64-bit trace id has no _dd.p.tid; a decision made here adds _dd.p.dm', () => {
  const src = { ...SRC, t0: 0, t1: 0, t2: 0x1234, t3: 5, mechanism: 3, ptags: '' };
  const { carrier, got } = roundTrip('datadog', src);
  assert.equal(carrier['x-datadog-trace-id'], u64(0x1234, 5));
  assert.equal(carrier['x-datadog-tags'], '_dd.p.dm=-3');
  assertIds(got, src);
  assert.equal(got.ptags, '_dd.p.dm=-3');
  const unknown = roundTrip('datadog', { ...src, priority: NaN, mechanism: -1 });
  assert.equal(unknown.carrier['x-datadog-sampling-priority'], undefined, 'no decision, no header');
  assert.ok(Number.isNaN(unknown.got.priority));
});

test('tracecontext round-trips: exact traceparent, our dd= member first, other vendors unchanged and in order', () => {
  const { carrier, got } = roundTrip('tracecontext');
  assert.equal(carrier.traceparent, `00-${TRACE_HEX}-${SPAN_HEX}-01`);
  assert.equal(carrier.tracestate, `dd=p:${SPAN_HEX};s:2;o:synthetics;t.usr:abc,congo=t61rcWkgMzE,rojo=00f067aa0ba902b7`);
  assert.equal(carrier.baggage, SRC.baggage);
  assertIds(got);
  assert.equal(got.priority, 2);
  assert.equal(got.origin, 'synthetics');
  assert.equal(got.ptags, '_dd.p.usr=abc');
  assert.equal(got.baggage, SRC.baggage);

  // The next hop passes it on again: still one dd member, the other vendors still unchanged.
  const next = {};
  new Propagator([], ['tracecontext']).inject({ ...got, spanHi: 1, spanLo: 2, mechanism: -1 }, next, set);
  assert.equal(next.traceparent, `00-${TRACE_HEX}-0000000100000002-01`);
  assert.equal(next.tracestate, 'dd=p:0000000100000002;s:2;o:synthetics;t.usr:abc,congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
});

test('tracecontext: an unsampled or user-rejected trace has flags 00 and keeps its priority', () => {
  for (const priority of [0, -1]) {
    const { carrier, got } = roundTrip('tracecontext', { ...SRC, priority });
    assert.equal(carrier.traceparent, `00-${TRACE_HEX}-${SPAN_HEX}-00`);
    assert.ok(carrier.tracestate.startsWith(`dd=p:${SPAN_HEX};s:${priority};`), carrier.tracestate);
    assert.equal(got.priority, priority);
  }
});

test('tracecontext: origin and tag values that cannot stand in tracestate are encoded, and come back', () => {
  const src = { ...SRC, origin: 'a=b;c d', ptags: '_dd.p.usr=x=y' };
  const { carrier, got } = roundTrip('tracecontext', src);
  const dd = carrier.tracestate.split(',')[0];
  assert.equal(dd, `dd=p:${SPAN_HEX};s:2;o:a~b_c_d;t.usr:x~y`);
  assert.equal(got.origin, 'a=b_c_d');
  assert.equal(got.ptags, '_dd.p.usr=x=y');
});

test('b3 single and multi round-trip the ids and the sampling decision', () => {
  const single = roundTrip('b3');
  assert.deepEqual(single.carrier, { b3: `${TRACE_HEX}-${SPAN_HEX}-1`, baggage: SRC.baggage });
  const multi = roundTrip('b3multi');
  assert.deepEqual(multi.carrier, { 'x-b3-traceid': TRACE_HEX, 'x-b3-spanid': SPAN_HEX, 'x-b3-sampled': '1', baggage: SRC.baggage });
  for (const { got } of [single, multi]) {
    assertIds(got);
    assert.equal(got.priority, 1, 'b3 carries only sampled / not sampled');
    assert.equal(got.origin, '');
    assert.equal(got.ptags, '');
    assert.equal(got.baggage, SRC.baggage);
  }
  const unsampled = roundTrip('b3', { ...SRC, priority: -1 });
  assert.equal(unsampled.carrier.b3, `${TRACE_HEX}-${SPAN_HEX}-0`);
  assert.equal(unsampled.got.priority, 0);
  const undecided = roundTrip('b3multi', { ...SRC, priority: NaN });
  assert.equal(undecided.carrier['x-b3-sampled'], undefined);
  assert.ok(Number.isNaN(undecided.got.priority));
  // A 64-bit trace id is written as 16 hex chars and read back with the high half zero.
  const short = roundTrip('b3', { ...SRC, t0: 0, t1: 0 });
  assert.equal(short.carrier.b3, `${hex(SRC.t2)}${hex(SRC.t3)}-${SPAN_HEX}-1`);
  assertIds(short.got, { ...SRC, t0: 0, t1: 0 });
});

test('b3: debug is priority 2; malformed b3 headers are ignored', () => {
  const debug = extractB3Multi({ 'x-b3-traceid': '0000000000000001', 'x-b3-spanid': '0000000000000002', 'x-b3-flags': '1' }, get);
  assert.equal(debug.priority, 2);
  assert.equal(extractB3Single({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d' }, get).priority, 2);
  for (const b3 of [
    '1',
    '0',
    'd',
    '80f198ee56343ba864fe8b2a57d3eff7',
    '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-x',
    '80f198ee56343ba864fe8b2a57d3eff-e457b5a2e4d86bd1-1',
    '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd-1',
    '00000000000000000000000000000000-e457b5a2e4d86bd1-1',
    '80f198ee56343ba864fe8b2a57d3eff7-0000000000000000-1',
    '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bdz-1',
  ]) {
    assert.equal(extractB3Single({ b3 }, get), undefined, b3);
  }
  assert.equal(extractB3Multi({ 'x-b3-traceid': '0000000000000001', 'x-b3-spanid': '0000000000000002', 'x-b3-sampled': 'maybe' }, get), undefined);
  assert.equal(extractB3Multi({ 'x-b3-traceid': '0000000000000001' }, get), undefined);
});

test('baggage passes through untouched, and only when the baggage style is on', () => {
  const b = 'userId=alice,serverNode=DF%2028,isProduction=false;ttl=3';
  const on = new Propagator(['datadog', 'baggage'], ['datadog', 'baggage']);
  const got = on.extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', baggage: b }, get);
  assert.equal(got.baggage, b);
  const out = {};
  on.inject({ ...got, mechanism: -1 }, out, set);
  assert.equal(out.baggage, b);
  const off = new Propagator(['datadog'], ['datadog']);
  assert.equal(off.extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', baggage: b }, get).baggage, '');
  const none = {};
  off.inject({ ...got, mechanism: -1 }, none, set);
  assert.equal(none.baggage, undefined);
});

// ---------------------------------------------------------------------------------------------
// W3C trace context (cases from the w3c/trace-context conformance suite)

const tc = new Propagator(['tracecontext'], ['tracecontext']);
const TID = '12345678901234567890123456789012';
const TP = `00-${TID}-1234567890123456-01`;

test('traceparent: every malformed value of the conformance suite is ignored', () => {
  for (const bad of [
    // version
    `.0-${TID}-1234567890123456-01`,
    `0.-${TID}-1234567890123456-01`,
    `000-${TID}-1234567890123456-01`,
    `0000-${TID}-1234567890123456-01`,
    `0-${TID}-1234567890123456-01`,
    `ff-${TID}-1234567890123456-01`,
    `0A-${TID}-1234567890123456-01`,
    // version 00 with anything after the flags
    `${TP}.`,
    `${TP}-what-the-future-will-be-like`,
    `${TP}0`,
    // trace id
    '00-00000000000000000000000000000000-1234567890123456-01',
    '00-.2345678901234567890123456789012-1234567890123456-01',
    '00-1234567890123456789012345678901.-1234567890123456-01',
    '00-123456789012345678901234567890123-1234567890123456-01',
    '00-1234567890123456789012345678901-1234567890123456-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    // parent id
    `00-${TID}-0000000000000000-01`,
    `00-${TID}-.234567890123456-01`,
    `00-${TID}-123456789012345.-01`,
    `00-${TID}-12345678901234567-01`,
    `00-${TID}-123456789012345-01`,
    `00-${TID}-00F067AA0BA902B7-01`,
    // flags
    `00-${TID}-1234567890123456-.0`,
    `00-${TID}-1234567890123456-0.`,
    `00-${TID}-1234567890123456-001`,
    `00-${TID}-1234567890123456-1`,
    `00-${TID}-1234567890123456-0A`,
    // separators and lengths
    `00_${TID}-1234567890123456-01`,
    `00-${TID}_1234567890123456-01`,
    TP.slice(0, 54),
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'.toUpperCase(),
    '',
    '-',
    `${TP},${TP}`,
  ]) {
    assert.equal(tc.extract({ traceparent: bad }, get), undefined, JSON.stringify(bad));
  }
});

test('traceparent: valid values are read, with surrounding whitespace and future versions', () => {
  const ok = tc.extract({ traceparent: TP }, get);
  assert.deepEqual(
    IDS.map((k) => ok[k]),
    [0x12345678, 0x90123456, 0x78901234, 0x56789012, 0x12345678, 0x90123456],
  );
  assert.equal(ok.priority, 1);
  assert.equal(tc.extract({ traceparent: `00-${TID}-1234567890123456-00` }, get).priority, 0);
  assert.equal(tc.extract({ traceparent: `00-${TID}-1234567890123456-09` }, get).priority, 1, 'unknown flag bits are ignored');
  for (const spaced of [` ${TP}`, `\t${TP}`, `${TP} `, `${TP}\t`, `\t ${TP} \t`]) {
    assert.equal(tc.extract({ traceparent: spaced }, get)?.t3, 0x56789012, JSON.stringify(spaced));
  }
  for (const future of [`cc-${TID}-1234567890123456-01`, `cc-${TID}-1234567890123456-01-what-the-future-will-be-like`]) {
    const got = tc.extract({ traceparent: future }, get);
    assert.ok(got, future);
    assert.equal(got.t0, 0x12345678);
    assert.equal(got.spanLo, 0x90123456);
  }
  assert.equal(tc.extract({ traceparent: `cc-${TID}-1234567890123456-01.what-the-future-will-be-like` }, get), undefined);
  assert.equal(tc.extract({ tracestate: 'foo=1' }, get), undefined, 'tracestate alone is no context');
});

/** The outgoing traceparent for a context `p` extracted, with our span id 1234567890123456 kept. */
function traceparentOut(p, carrier) {
  const got = p.extract(carrier, get);
  assert.ok(got, JSON.stringify(carrier));
  const out = {};
  tc.inject({ ...got, spanHi: 0x12345678, spanLo: 0x90123456, mechanism: -1 }, out, set);
  return out.traceparent;
}

test('traceparent: the random trace-id flag (0x02) of the parent is kept exactly, and never invented', () => {
  for (const [flags, sent] of [
    ['00', '00'],
    ['01', '01'],
    ['02', '02'],
    ['03', '03'],
    ['06', '02'],
    ['09', '01'],
    ['0b', '03'],
    ['fd', '01'],
    ['ff', '03'],
  ]) {
    assert.equal(traceparentOut(tc, { traceparent: `00-${TID}-1234567890123456-${flags}` }), `00-${TID}-1234567890123456-${sent}`, `flags ${flags}`);
  }
  for (const future of [`cc-${TID}-1234567890123456-02`, `cc-${TID}-1234567890123456-03-what-the-future-will-be-like`]) {
    assert.match(traceparentOut(tc, { traceparent: future }), /-0[23]$/, future);
  }
  assert.equal(extractTraceparent({ traceparent: `00-${TID}-1234567890123456-02` }, get).random, true);
  assert.equal(extractTraceparent({ traceparent: `00-${TID}-1234567890123456-01` }, get).random, false);
});

test('traceparent: a parent read from datadog or b3 headers is not given the random flag, unless a traceparent of the same trace had it', () => {
  const p = new Propagator(['datadog', 'tracecontext', 'b3', 'b3multi'], []);
  const dd = { 'x-datadog-trace-id': String(0x7890123456789012n), 'x-datadog-parent-id': '7', 'x-datadog-sampling-priority': '1' };
  assert.match(traceparentOut(p, dd), /-01$/, 'datadog ids are not known to be random');
  assert.match(traceparentOut(p, { b3: `${TID}-1234567890123456-1` }), /-01$/, 'b3 has no such flag');
  assert.match(traceparentOut(p, { 'x-b3-traceid': TID, 'x-b3-spanid': '1234567890123456', 'x-b3-sampled': '0' }), /-00$/);
  // The same trace also came with a traceparent: its flag says what the rightmost bytes are.
  assert.match(traceparentOut(p, { ...dd, traceparent: `00-${TID}-1234567890123456-03` }), /-03$/);
  assert.match(traceparentOut(p, { ...dd, traceparent: `00-${TID}-1234567890123456-01` }), /-01$/);
  // Another trace's traceparent says nothing about this one.
  assert.match(traceparentOut(p, { ...dd, traceparent: `00-${TID.slice(0, 31)}0-1234567890123456-03` }), /-01$/);
});

// The flag on spans: a trace started here, one continued from a parent, one from an OTel span context.
const { config: coreConfig } = resolveConfig({ service: 'random-flag', env: 'test', propagationExtract: ['datadog', 'tracecontext'], propagationInject: ['tracecontext'] }, {});

/** The traceparent a span of `core` writes. */
function spanTraceparent(core, span) {
  const h = {};
  core.inject(span, h, set);
  return h.traceparent;
}

test('spans: a trace started here has the random flag (its low 64 bits are random); a child keeps it', () => {
  const core = new TracerCore(coreConfig);
  for (let i = 0; i < 20; i++) {
    const root = core.startSpan('root', SpanKind.SERVER, ROOT_CONTEXT, undefined, performance.now());
    assert.match(spanTraceparent(core, root), /^00-[0-9a-f]{8}00000000[0-9a-f]{16}-[0-9a-f]{16}-0[23]$/);
    assert.equal(root.spanContext().traceFlags & 2, 2, 'the OTel span context says so too');
    const child = core.startSpan('child', SpanKind.INTERNAL, trace.setSpan(ROOT_CONTEXT, root), undefined, performance.now());
    assert.match(spanTraceparent(core, child), /-0[23]$/);
  }
});

test('spans: a continued trace keeps the random flag of its parent exactly', () => {
  const core = new TracerCore(coreConfig);
  for (const [flags, sent] of [
    ['00', '00'],
    ['01', '01'],
    ['02', '02'],
    ['03', '03'],
  ]) {
    const remote = core.propagator.extract({ traceparent: `00-${TID}-1234567890123456-${flags}` }, get);
    const server = core.startSpan('server', SpanKind.SERVER, ROOT_CONTEXT, remote, performance.now());
    assert.match(spanTraceparent(core, server), new RegExp(`^00-${TID}-[0-9a-f]{16}-${sent}$`), `flags ${flags}`);
    assert.equal(server.spanContext().traceFlags, Number.parseInt(sent, 16));
  }
  const fromDd = core.propagator.extract({ 'x-datadog-trace-id': '12345', 'x-datadog-parent-id': '7', 'x-datadog-sampling-priority': '1' }, get);
  assert.match(spanTraceparent(core, core.startSpan('server', SpanKind.SERVER, ROOT_CONTEXT, fromDd, performance.now())), /-01$/);
  // A parent given as an OTel span context (trace.setSpanContext), with and without the flag.
  for (const traceFlags of [1, 3, 2, 0]) {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: TID, spanId: '1234567890123456', traceFlags, isRemote: true });
    const span = core.startSpan('s', SpanKind.INTERNAL, ctx, undefined, performance.now());
    assert.match(spanTraceparent(core, span), new RegExp(`-0${traceFlags}$`), `traceFlags ${traceFlags}`);
  }
});

/** What we pass on for an incoming tracestate: the outgoing header without our own dd member. */
function passOn(tracestate) {
  const got = tc.extract({ traceparent: TP, tracestate }, get);
  assert.ok(got);
  const out = {};
  tc.inject({ ...got, mechanism: -1 }, out, set);
  const members = out.tracestate.split(',');
  assert.match(members[0], /^dd=p:1234567890123456(;|$)/, 'our member comes first');
  assert.equal(members.filter((m) => m.startsWith('dd=')).length, 1, 'exactly one dd member');
  return members.slice(1).join(',');
}

test('tracestate: valid members pass on unchanged and in order, whitespace around members dropped', () => {
  assert.equal(passOn('foo=1,bar=2'), 'foo=1,bar=2');
  assert.equal(passOn(''), '');
  // Several tracestate headers arrive joined by ', ' (as node does): combined, in order.
  assert.equal(passOn('foo=1,bar=2, rojo=1,congo=2, baz=3'), 'foo=1,bar=2,rojo=1,congo=2,baz=3');
  assert.equal(passOn('foo=1 \t , \t bar=2, \t baz=3'), 'foo=1,bar=2,baz=3');
  assert.equal(passOn('foo=1\t \t,\t \tbar=2,\t \tbaz=3'), 'foo=1,bar=2,baz=3');
  assert.equal(passOn('\t foo=1 \t'), 'foo=1');
  assert.equal(passOn('foo=1,,bar=2,'), 'foo=1,bar=2', 'empty members are skipped');
  // All legal characters, with and without a vendor part.
  const key = 'abcdefghijklmnopqrstuvwxyz0123456789_-*/';
  const value = [[0x20, 0x2b], [0x2d, 0x3c], [0x3e, 0x7e]].flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => String.fromCharCode(a + i))).join('');
  assert.equal(passOn(`${key}=${value}`), `${key}=${value}`);
  assert.equal(passOn(`${key}@a-z0-9_-*/=${value}`), `${key}@a-z0-9_-*/=${value}`);
  // Longest legal key and value.
  const longKey = 'k'.repeat(256);
  const longValue = 'v'.repeat(256);
  assert.equal(passOn(`${longKey}=${longValue}`), `${longKey}=${longValue}`);
  assert.equal(passOn(`${'t'.repeat(241)}@${'v'.repeat(14)}=1`), `${'t'.repeat(241)}@${'v'.repeat(14)}=1`);
});

test('tracestate: level 2 keys (a digit first, at signs after the first character, 256 chars in all) pass on whole and in order after our dd member', () => {
  for (const ts of [
    'foo@=1,bar=2',
    'foo@@bar=1,bar=2',
    'foo@bar@baz=1,bar=2',
    '1foo=1,bar=2',
    'foo@1bar=1,bar=2',
    `${'t'.repeat(241)}@${'v'.repeat(14)}=1,bar=2`,
    `${'t'.repeat(242)}@v=1,bar=2`,
    `t@${'v'.repeat(15)}=1,bar=2`,
    `foo=1,${'z'.repeat(256)}=1`,
    'foo= leading spaces stay,bar=2',
  ]) {
    assert.equal(passOn(ts), ts, JSON.stringify(ts));
  }
  const out = {};
  tc.inject({ ...tc.extract({ traceparent: TP, tracestate: 'foo@=1, 1bar=2,baz=3' }, get), mechanism: -1 }, out, set);
  assert.equal(out.tracestate, 'dd=p:1234567890123456;s:1,foo@=1,1bar=2,baz=3');
});

// At strict level 2 one bad member makes the whole header invalid: nothing of it passes on
// (the members before it neither), and only our own dd member goes out.
test('tracestate: a header with an illegal key is discarded whole', () => {
  for (const key of ['foo ', 'FOO', 'Foo', 'foo.bar', 'foo:bar', '@foo', '_foo', '-foo', '*foo', '/foo', 'fo\to', 'caf\u00e9', '']) {
    for (const ts of [`${key}=1,bar=2`, `bar=2,${key}=1`, `bar=2, ${key}=1 ,baz=3`]) assert.equal(passOn(ts), '', JSON.stringify(ts));
  }
  assert.equal(passOn('foo,bar=2'), '', 'a member without = has no key');
  assert.equal(passOn('bar=2,foo'), '');
});

test('tracestate: a header with a key over 256 characters is discarded whole', () => {
  for (const key of ['z'.repeat(257), `${'t'.repeat(241)}@${'v'.repeat(15)}`, 'k'.repeat(2000)]) {
    assert.equal(passOn(`foo=1,${key}=1`), '', `${key.length} chars`);
    assert.equal(passOn(`${key}=1,foo=1`), '', `${key.length} chars`);
  }
});

test('tracestate: a header with more than 32 list members is discarded whole; empty members do not count', () => {
  const members = Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`);
  assert.equal(passOn(members.slice(0, 33).join(',')), '');
  assert.equal(passOn(members.join(',')), '');
  assert.equal(passOn(`${members.slice(0, 20).join(',')}, ${members.slice(20, 33).join(',')}`), '', 'two headers joined');
  assert.equal(passOn(`${members.slice(0, 32).join(',')},dd=s:1`), '', 'a dd member is a list member too');
  assert.equal(passOn(`${members.slice(0, 32).join(',')},k0=again`), '', 'so is a duplicate');
  // 32 is allowed: the header is kept, and adding ours pushes the right-most one out.
  assert.equal(passOn(members.slice(0, 31).join(',')), members.slice(0, 31).join(','));
  assert.equal(passOn(members.slice(0, 32).join(',')), members.slice(0, 31).join(','));
  assert.equal(passOn(`${members.slice(0, 32).join(', ,')},,\t,`), members.slice(0, 31).join(','));
  assert.equal(filterTracestate(members.join(',')), '');
  assert.equal(filterTracestate(members.slice(0, 32).join(',')), members.slice(0, 31).join(','));
});

test('tracestate: a header with an illegal value is discarded whole', () => {
  for (const value of ['', ' ', '\t', 'bar=baz', '=', 'caf\u00e9', 'a\u0001b', 'a\u007fb', 'a\tb', '\tb', 'a\nb', 'v'.repeat(257)]) {
    for (const ts of [`foo=${value},bar=2`, `bar=2,foo=${value}`]) assert.equal(passOn(ts), '', JSON.stringify(ts));
  }
});

test('tracestate: from a discarded header not even the dd member is read', () => {
  const got = tc.extract({ traceparent: TP, tracestate: 'dd=s:2;o:rum;t.usr:x,FOO=1' }, get);
  assert.equal(got.priority, 1, 'the sampled flag alone decides');
  assert.equal(got.origin, '');
  assert.equal(got.ptags, '');
  assert.equal(got.tracestate, '');
});

test('tracestate: one from an OTel span context used as a parent is held to the same rules', () => {
  const core = new TracerCore(coreConfig);
  const tracestateUnder = (serialized) => {
    const sc = { traceId: TID, spanId: '1234567890123456', traceFlags: 1, isRemote: true, traceState: { serialize: () => serialized } };
    const span = core.startSpan('s', SpanKind.INTERNAL, trace.setSpanContext(ROOT_CONTEXT, sc), undefined, performance.now());
    const h = {};
    core.inject(span, h, set);
    return h.tracestate.split(',').slice(1).join(',');
  };
  assert.equal(tracestateUnder('dd=s:2;o:x,congo=1,rojo=2,congo=3'), 'congo=1,rojo=2', 'one dd member, ours; no duplicate');
  assert.equal(tracestateUnder('FOO=1,congo=1'), '');
});

test('tracestate: duplicate keys are dropped (the leftmost, most recent, is kept)', () => {
  assert.equal(passOn('foo=1,foo=2,bar=3'), 'foo=1,bar=3');
  assert.equal(passOn('foo=1,foo=1'), 'foo=1');
  assert.equal(passOn('foo=1, foo=2'), 'foo=1');
  assert.equal(passOn('a=1,b=2,a=3,c=4,b=5'), 'a=1,b=2,c=4');
  assert.equal(passOn('dd=s:1,foo=1,dd=s:2'), 'foo=1', 'an incoming dd member is replaced by ours');
});

test('tracestate: the sampled flag wins over a disagreeing dd priority; origin and tags are read', () => {
  const unsampled = tc.extract({ traceparent: TP.slice(0, -2) + '00', tracestate: 'dd=s:2;o:rum' }, get);
  assert.equal(unsampled.priority, 0);
  assert.equal(unsampled.origin, 'rum');
  assert.equal(tc.extract({ traceparent: TP, tracestate: 'dd=s:-1' }, get).priority, 1);
  assert.equal(tc.extract({ traceparent: TP, tracestate: 'dd=s:0' }, get).priority, 1);
  assert.equal(tc.extract({ traceparent: TP.slice(0, -2) + '00', tracestate: 'dd=s:1' }, get).priority, 0);
  const agree = tc.extract({ traceparent: TP, tracestate: 'other=1, dd=s:2;o:synthetics~x;t.dm:-3;t.usr:a~b' }, get);
  assert.equal(agree.priority, 2);
  assert.equal(agree.origin, 'synthetics=x');
  assert.equal(agree.ptags, '_dd.p.dm=-3,_dd.p.usr=a=b');
  const rejected = tc.extract({ traceparent: TP.slice(0, -2) + '00', tracestate: 'dd=s:-1' }, get);
  assert.equal(rejected.priority, -1);
  assert.equal(tc.extract({ traceparent: TP, tracestate: 'dd=s:x' }, get).priority, 1, 'an unreadable s: leaves the flag');
});

test('tracestate: a t.tid in the dd member is not a tag (the trace id is in traceparent)', () => {
  const p = new Propagator(['tracecontext'], ['datadog', 'tracecontext']);
  const got = p.extract({ traceparent: TP, tracestate: 'dd=s:1;t.dm:-4;t.tid:deadbeefdeadbeef' }, get);
  assert.equal(got.ptags, '_dd.p.dm=-4');
  const out = {};
  p.inject({ ...got, mechanism: -1 }, out, set);
  assert.equal(out['x-datadog-tags'], '_dd.p.tid=1234567890123456,_dd.p.dm=-4', 'one _dd.p.tid, the real one');
});

test('tracestate: what we write is a valid W3C tracestate even for odd origins and tags', () => {
  const got = tc.extract({ traceparent: TP, tracestate: 'dd=s:1;o:syn th;t.u r:v;t.ok:a b;t.fine:1' }, get);
  assert.equal(got.ptags, '_dd.p.fine=1', 'tags with spaces in keys or values are not read');
  // Non-ASCII cannot stand in a tracestate value at all: that header is discarded whole.
  assert.equal(tc.extract({ traceparent: TP, tracestate: 'dd=s:1;o:syn\u00e9th;t.fine:1' }, get).ptags, '');
  for (const src of [
    { ...got, mechanism: -1 },
    { ...SRC, origin: 'caf\u00e9 \u2603,;=~\n', ptags: '_dd.p.k=v\u00e9 ;,x' },
    { ...SRC, ptags: '_dd.p.a b=1,_dd.p.c;d=2,_dd.p.e:f=3,_dd.p.ok=4' },
  ]) {
    const out = {};
    tc.inject(src, out, set);
    assertValidTracestate(out.tracestate);
  }
  const out = {};
  tc.inject({ ...SRC, ptags: '_dd.p.a b=1,_dd.p.c;d=2,_dd.p.ok=4' }, out, set);
  assert.match(out.tracestate, /^dd=p:[0-9a-f]{16};s:2;o:synthetics;t\.ok:4,/);
});

// ---------------------------------------------------------------------------------------------
// Datadog

test('datadog: non-decimal, zero or out-of-range ids are ignored', () => {
  for (const [t, p] of [
    ['abc', '1'],
    ['1', 'abc'],
    ['0x10', '1'],
    ['1e5', '1'],
    ['1.0', '1'],
    ['-1', '1'],
    ['1', '-1'],
    ['+1', '1'],
    [' 1', '1'],
    ['1 ', '1'],
    ['\u0661', '1'],
    ['', '1'],
    ['1', ''],
    ['0', '1'],
    ['1', '0'],
    ['00000000000000000000', '1'],
    ['18446744073709551616', '1'],
    ['1', '18446744073709551616'],
    ['99999999999999999999', '1'],
    ['184467440737095516150', '1'],
  ]) {
    assert.equal(extractDatadog({ 'x-datadog-trace-id': t, 'x-datadog-parent-id': p }, get), undefined, `${JSON.stringify(t)}/${JSON.stringify(p)}`);
  }
  assert.equal(extractDatadog({ 'x-datadog-trace-id': '1' }, get), undefined);
  assert.equal(extractDatadog({ 'x-datadog-parent-id': '1' }, get), undefined);
  const max = extractDatadog({ 'x-datadog-trace-id': '18446744073709551615', 'x-datadog-parent-id': '9007199254740993' }, get);
  assert.deepEqual(IDS.map((k) => max[k]), [0, 0, 0xffffffff, 0xffffffff, 0x200000, 1]);
  const small = extractDatadog({ 'x-datadog-trace-id': '4294967296', 'x-datadog-parent-id': '00042' }, get);
  assert.deepEqual(IDS.map((k) => small[k]), [0, 0, 1, 0, 0, 42]);
});

test('datadog: priority and origin are read when well formed', () => {
  const base = { 'x-datadog-trace-id': '5', 'x-datadog-parent-id': '6' };
  assert.equal(extractDatadog({ ...base, 'x-datadog-sampling-priority': '-1' }, get).priority, -1);
  assert.equal(extractDatadog({ ...base, 'x-datadog-sampling-priority': '2' }, get).priority, 2);
  for (const bad of ['high', '1.5', '', '12345']) assert.ok(Number.isNaN(extractDatadog({ ...base, 'x-datadog-sampling-priority': bad }, get).priority), bad);
  assert.equal(extractDatadog({ ...base, 'x-datadog-origin': 'rum' }, get).origin, 'rum');
  assert.equal(extractDatadog({ ...base, 'x-datadog-origin': 'x'.repeat(300) }, get).origin, '');
});

test('datadog: x-datadog-tags: _dd.p.tid must be 16 lowercase hex, malformed headers are ignored whole', () => {
  const base = { 'x-datadog-trace-id': '5', 'x-datadog-parent-id': '6' };
  const tags = (v) => extractDatadog({ ...base, 'x-datadog-tags': v }, get);
  const ok = tags('_dd.p.tid=6b03084600000001,_dd.p.dm=-1');
  assert.equal(ok.t0, 0x6b030846);
  assert.equal(ok.t1, 1);
  assert.equal(ok.ptags, '_dd.p.dm=-1');
  for (const tid of ['6B03084600000000', '6b0308460000000', '6b030846000000000', '6b03084600000g00', '-b03084600000000', ' 6b030846 000000']) {
    const got = tags(`_dd.p.tid=${tid},_dd.p.dm=-1`);
    assert.equal(got.t0, 0, tid);
    assert.equal(got.t1, 0, tid);
    assert.equal(got.ptags, '_dd.p.dm=-1', `${tid}: the other tags still count`);
  }
  for (const malformed of ['garbage', '_dd.p.tid=6b03084600000000,garbage', '_dd.p.dm=-1,,_dd.p.usr=a', '=x', '_dd.p.tid=6b03084600000000,']) {
    const got = tags(malformed);
    assert.equal(got.ptags, '', malformed);
    assert.equal(got.t0, 0, `${malformed}: no tid from a malformed header`);
    assert.equal(got.t3, 5, 'the context itself stands');
  }
  assert.equal(tags('foo=bar,_dd.p.ok=1,_dd.p.sp ace=1,_dd.p.v=a b').ptags, '_dd.p.ok=1', 'only well-formed _dd.p.* tags propagate');
  assert.equal(tags(`_dd.p.tid=6b03084600000001,_dd.p.x=${'y'.repeat(600)}`).t0, 0, 'an oversized header is ignored');
});

test('datadog: injecting writes decimal ids both ways of dec64', () => {
  const out = {};
  injectDatadog({ ...SRC, t0: 0, t1: 0, t2: 0x1fffff, t3: 0xffffffff, spanHi: 0, spanLo: 1, ptags: '' }, out, set);
  assert.equal(out['x-datadog-trace-id'], String(2n ** 53n - 1n));
  assert.equal(out['x-datadog-parent-id'], '1');
  assert.equal(out['x-datadog-tags'], undefined);
  injectDatadog({ ...SRC, t2: 0xffffffff, t3: 0xffffffff }, out, set);
  assert.equal(out['x-datadog-trace-id'], '18446744073709551615');
});

// ---------------------------------------------------------------------------------------------
// Style order

test('style order: with datadog first, datadog wins and the tracestate of the same trace still passes on', () => {
  const both = new Propagator(['datadog', 'tracecontext'], ['datadog', 'tracecontext']);
  const carrier = {
    'x-datadog-trace-id': String(0x7890123456789012n),
    'x-datadog-parent-id': '7',
    'x-datadog-sampling-priority': '2',
    'x-datadog-tags': '_dd.p.tid=1234567890123456',
    traceparent: TP,
    tracestate: 'dd=s:1;p:1234567890123456,congo=t61rcWkgMzE',
  };
  const got = both.extract(carrier, get);
  assert.deepEqual(IDS.map((k) => got[k]), [0x12345678, 0x90123456, 0x78901234, 0x56789012, 0, 7], 'datadog ids');
  assert.equal(got.priority, 2, 'datadog priority');
  const out = {};
  both.inject({ ...got, spanHi: 0, spanLo: 8, mechanism: -1 }, out, set);
  assert.equal(out.traceparent, `00-${TID}-0000000000000008-01`);
  assert.equal(out.tracestate, 'dd=p:0000000000000008;s:2,congo=t61rcWkgMzE', 'the other vendor travels on');
  assert.equal(out['x-datadog-trace-id'], String(0x7890123456789012n));
});

test('style order: for different traces the first style wins and the other tracestate is not mixed in', () => {
  const carrier = { 'x-datadog-trace-id': '99', 'x-datadog-parent-id': '7', traceparent: TP, tracestate: 'congo=x' };
  const ddFirst = new Propagator(['datadog', 'tracecontext'], []).extract(carrier, get);
  assert.deepEqual(IDS.map((k) => ddFirst[k]), [0, 0, 0, 99, 0, 7]);
  assert.equal(ddFirst.tracestate, '');
  const w3cFirst = new Propagator(['tracecontext', 'datadog'], []).extract(carrier, get);
  assert.equal(w3cFirst.t3, 0x56789012);
  assert.equal(w3cFirst.spanLo, 0x90123456);
  assert.equal(w3cFirst.tracestate, 'congo=x');
  // A style that is not configured is not read; an invalid first style lets the next one in.
  assert.equal(new Propagator(['b3'], []).extract(carrier, get), undefined);
  const fallback = new Propagator(['datadog', 'tracecontext'], []).extract({ ...carrier, 'x-datadog-trace-id': 'nope' }, get);
  assert.equal(fallback.t3, 0x56789012);
});

test('a getter that returns numbers, arrays, buffers or throws does not make extract throw', () => {
  const all = new Propagator(['datadog', 'tracecontext', 'b3', 'b3multi', 'baggage'], ['datadog', 'tracecontext', 'baggage']);
  const odd = { 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', traceparent: 42, tracestate: ['a=1'], baggage: Buffer.from('x'), b3: {} };
  const got = all.extract(odd, rawGet);
  assert.equal(got?.t3, 1);
  assert.equal(got.baggage, '');
  all.inject({ ...got, mechanism: -1 }, {}, set);
  const arr = all.extract({ traceparent: [TP, 'other'], tracestate: ['foo=1'] }, rawGet);
  assert.equal(arr?.t3, 0x56789012, 'the first value of an array is read');
  assert.equal(arr.tracestate, 'foo=1');
  assert.equal(
    all.extract({}, () => {
      throw new Error('broken getter');
    }),
    undefined,
  );
});

// ---------------------------------------------------------------------------------------------
// Fuzz

/** mulberry32: a seeded PRNG so a failing fuzz case can be replayed with FUZZ_SEED. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TS_KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
const TS_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** The W3C tracestate grammar, written out here independently of the code under test. */
function assertValidTracestate(ts) {
  assert.equal(typeof ts, 'string');
  const members = ts.split(',');
  assert.ok(members.length <= 32, `${members.length} members`);
  const keys = new Set();
  for (const m of members) {
    const eq = m.indexOf('=');
    const k = m.slice(0, eq);
    assert.ok(eq > 0 && TS_KEY.test(k) && TS_VALUE.test(m.slice(eq + 1)), `invalid tracestate member ${JSON.stringify(m)}`);
    assert.ok(!keys.has(k), `duplicate key ${k}`);
    keys.add(k);
  }
}

const NAMES = [
  'traceparent',
  'tracestate',
  'baggage',
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
  'x-datadog-origin',
  'x-datadog-tags',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
];

function generator(rnd) {
  const int = (n) => Math.floor(rnd() * n);
  const pick = (a) => a[int(a.length)];
  const hexs = (n, alphabet = '0123456789abcdef') => Array.from({ length: n }, () => pick(alphabet)).join('');
  const mixedHex = (n) => hexs(n, '0123456789abcdefABCDEF0000xyz-');
  const bytes = (n) => Array.from({ length: n }, () => String.fromCharCode(int(256))).join('');
  const unicode = (n) => Array.from({ length: n }, () => String.fromCodePoint(pick([int(0x80), int(0x800), int(0x10000), 0x1f600 + int(80), 0xd800 + int(0x800)]))).join('');
  const dec = () => pick(['0', '1', '18446744073709551615', '18446744073709551616', String(int(2 ** 31)), String(BigInt(int(2 ** 32)) * BigInt(int(2 ** 32)) + BigInt(int(2 ** 32))), '-' + int(100), '0'.repeat(int(25)) + int(10)]);
  const sep = () => pick([',', ';', '-', '=', ':', ' ', '\t', ', ', '~', '']);
  const simple = [
    () => mixedHex(int(70)),
    () => hexs(pick([15, 16, 17, 31, 32, 33])),
    () => bytes(int(80)),
    () => unicode(int(40)),
    () => 'x'.repeat(int(100_000)),
    () => sep().repeat(int(300)),
    () => '',
    () => dec(),
    () => `${pick(['00', 'ff', 'cc', '0', '000', hexs(2), mixedHex(2)])}-${pick([hexs(32), mixedHex(32), '0'.repeat(32), hexs(int(40))])}-${pick([hexs(16), '0'.repeat(16), mixedHex(16)])}-${pick([hexs(2), '01', '00', mixedHex(2)])}${pick(['', '', '-' + hexs(4), '.x', ' ', '\t', hexs(1)])}`,
    () => `${pick([hexs(16), hexs(32), '0'.repeat(32), mixedHex(16)])}-${pick([hexs(16), '0'.repeat(16), mixedHex(16)])}${pick(['', '-1', '-0', '-d', '-x', '-1-' + hexs(16), '-'])}`,
    () => Array.from({ length: int(45) }, () => `${pick([hexs(3), 'dd', mixedHex(3), unicode(2), 'k'.repeat(int(300))])}=${pick([hexs(5), bytes(3), 's:1;o:x', ''])}`).join(pick([',', ', ', ';', ''])),
    () => `dd=s:${pick(['1', '2', '-1', 'x', ''])};o:${pick([bytes(3), unicode(3), 'rum'])};t.${pick(['dm', 'tid', 'usr', unicode(2), bytes(2)])}:${pick([bytes(4), hexs(16), unicode(2)])};p:${mixedHex(16)}${sep()}${pick(['', 'congo=1', 'BAD'])}`,
    () => `_dd.p.tid=${pick([hexs(16), mixedHex(16), hexs(int(20))])}${pick([',', ',,', ''])}_dd.p.${pick(['dm', 'usr', bytes(2), unicode(1)])}=${pick([bytes(3), '-4', unicode(2), ''])}`,
  ];
  const value = () => {
    const r = rnd();
    if (r < 0.05) return Array.from({ length: int(3) }, () => pick(simple)());
    if (r < 0.07) return int(2 ** 32);
    if (r < 0.08) return pick([null, undefined, true, {}, Buffer.from('00'), -0, NaN]);
    return pick(simple)();
  };
  return () => {
    const carrier = {};
    for (const n of NAMES) if (rnd() < 0.45) carrier[n] = value();
    // Coherent carriers too, so the paths past validation run often.
    if (rnd() < 0.3) {
      carrier['x-datadog-trace-id'] = dec();
      carrier['x-datadog-parent-id'] = dec();
    }
    if (rnd() < 0.3) carrier.traceparent = `00-${hexs(32)}-${hexs(16)}-0${int(4)}`;
    return carrier;
  };
}

test('fuzz: 24000 random carriers never make extract or inject throw, and what is extracted and written is valid', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rnd = prng(seed);
  const next = generator(rnd);
  const styles = ['datadog', 'tracecontext', 'b3', 'b3multi', 'baggage'];
  const all = new Propagator(styles, styles);
  const inRange = (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  let extracted = 0;
  for (let i = 0; i < 24_000; i++) {
    const carrier = next();
    const getter = i % 2 === 0 ? get : rawGet;
    try {
      const got = all.extract(carrier, getter);
      if (!got) continue;
      extracted++;
      for (const k of IDS) assert.ok(inRange(got[k]), `${k}=${got[k]}`);
      assert.ok((got.t0 | got.t1 | got.t2 | got.t3) !== 0, 'zero trace id');
      assert.ok((got.spanHi | got.spanLo) !== 0, 'zero span id');
      assert.ok(Number.isNaN(got.priority) || Number.isInteger(got.priority), `priority ${got.priority}`);
      for (const k of ['origin', 'ptags', 'tracestate', 'baggage']) assert.equal(typeof got[k], 'string', k);
      assert.ok(!/(^|,)_dd\.p\.tid=/.test(got.ptags), `ptags carry a tid: ${got.ptags}`);

      const out = {};
      all.inject({ ...got, mechanism: i % 3 === 0 ? 4 : -1 }, out, set);
      for (const [k, v] of Object.entries(out)) assert.equal(typeof v, 'string', `${k} is a string`);
      const traceHex = IDS.slice(0, 4).map((k) => hex(got[k])).join('');
      const spanHex = hex(got.spanHi) + hex(got.spanLo);
      assert.match(out.traceparent, new RegExp(`^00-${traceHex}-${spanHex}-0[0-3]$`));
      assertValidTracestate(out.tracestate);
      assert.ok(out.tracestate.startsWith(`dd=p:${spanHex}`), out.tracestate);
      assert.equal(out['x-datadog-trace-id'], u64(got.t2, got.t3));
      assert.equal(out['x-datadog-parent-id'], u64(got.spanHi, got.spanLo));
      if (out['x-datadog-tags'] !== undefined) assert.match(out['x-datadog-tags'], /^[\x21-\x2b\x2d-\x7e]+(,[\x21-\x2b\x2d-\x7e]+)*$/);
      for (const k of ['traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-datadog-trace-id', 'x-datadog-parent-id', 'x-datadog-tags']) {
        if (out[k] !== undefined) validateHeaderValue(k, out[k]);
      }
      // What we wrote reads back as the same trace in every style.
      for (const style of ['datadog', 'tracecontext', 'b3', 'b3multi']) {
        const again = new Propagator([style], []).extract(out, get);
        assert.ok(again, `${style} reads back what was written`);
        assert.equal(again.t3, got.t3);
        assert.equal(again.spanLo, got.spanLo);
      }
    } catch (err) {
      assert.fail(`FUZZ_SEED=${seed}, case ${i} (${getter === get ? 'string getter' : 'raw getter'}): ${err.message}\ncarrier: ${JSON.stringify(carrier, (k, v) => (typeof v === 'string' && v.length > 200 ? v.slice(0, 200) + `…(${v.length})` : v)).slice(0, 2000)}`);
    }
  }
  assert.ok(extracted > 5000, `only ${extracted} carriers yielded a context: the generator is too weak`);
});

test('direct module use: extractTraceparent and injectTraceparent agree with the Propagator', () => {
  const got = extractTraceparent({ traceparent: TP, tracestate: 'a=1' }, get);
  assert.equal(got.tracestate, 'a=1');
  const out = {};
  injectTraceparent({ ...got, mechanism: -1 }, out, set);
  assert.equal(out.traceparent, TP);
  assert.equal(out.tracestate, 'dd=p:1234567890123456;s:1,a=1');
});

// Propagation: each style round-trips, the W3C rules hold, and no header, however malformed,
// makes extraction or injection throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Propagator } = require('../../dist/cjs/tracer/propagation/index.js');
const { filterTracestate } = require('../../dist/cjs/tracer/propagation/w3c.js');

const get = (c, k) => {
  const v = c[k];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
};
const set = (c, k, v) => {
  c[k] = v;
};

const SRC = {
  t0: 0x6b030846,
  t1: 0,
  t2: 0x112eedff,
  t3: 0xe960f8ad,
  spanHi: 0x1234abcd,
  spanLo: 0x0000ffff,
  priority: 2,
  mechanism: 4,
  origin: 'synthetics',
  ptags: '_dd.p.usr=abc',
  tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
  baggage: 'user=alice,tier=gold',
};

function roundTrip(style) {
  const p = new Propagator([style, 'baggage'], [style, 'baggage']);
  const carrier = {};
  p.inject(SRC, carrier, set);
  return { carrier, got: p.extract(carrier, get) };
}

test('datadog round-trips: low 64 bits as decimal, high 64 in _dd.p.tid, priority, origin, tags', () => {
  const { carrier, got } = roundTrip('datadog');
  assert.equal(carrier['x-datadog-trace-id'], ((BigInt(SRC.t2) << 32n) | BigInt(SRC.t3)).toString());
  assert.equal(carrier['x-datadog-parent-id'], ((BigInt(SRC.spanHi) << 32n) | BigInt(SRC.spanLo)).toString());
  assert.equal(carrier['x-datadog-sampling-priority'], '2');
  assert.equal(carrier['x-datadog-origin'], 'synthetics');
  assert.equal(carrier['x-datadog-tags'], '_dd.p.tid=6b03084600000000,_dd.p.usr=abc,_dd.p.dm=-4');
  for (const k of ['t0', 't1', 't2', 't3', 'spanHi', 'spanLo', 'priority', 'origin']) assert.equal(got[k], SRC[k], k);
  assert.equal(got.ptags, '_dd.p.usr=abc,_dd.p.dm=-4');
  assert.equal(got.baggage, SRC.baggage);
});

test('tracecontext round-trips: exact traceparent, our dd= member first, other vendors unchanged', () => {
  const { carrier, got } = roundTrip('tracecontext');
  assert.equal(carrier.traceparent, '00-6b03084600000000112eedffe960f8ad-1234abcd0000ffff-01');
  assert.equal(carrier.tracestate, 'dd=p:1234abcd0000ffff;s:2;o:synthetics;t.dm:-4;t.usr:abc,congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
  for (const k of ['t0', 't1', 't2', 't3', 'spanHi', 'spanLo', 'priority', 'origin']) assert.equal(got[k], SRC[k], k);
  assert.equal(got.ptags, '_dd.p.dm=-4,_dd.p.usr=abc');
  assert.equal(got.tracestate, carrier.tracestate);
  assert.equal(carrier.baggage, SRC.baggage);
});

test('b3 single and multi round-trip', () => {
  const single = roundTrip('b3');
  assert.equal(single.carrier.b3, '6b03084600000000112eedffe960f8ad-1234abcd0000ffff-1');
  const multi = roundTrip('b3multi');
  assert.deepEqual(
    { t: multi.carrier['x-b3-traceid'], s: multi.carrier['x-b3-spanid'], f: multi.carrier['x-b3-sampled'] },
    { t: '6b03084600000000112eedffe960f8ad', s: '1234abcd0000ffff', f: '1' },
  );
  for (const { got } of [single, multi]) {
    for (const k of ['t0', 't1', 't2', 't3', 'spanHi', 'spanLo']) assert.equal(got[k], SRC[k], k);
    assert.equal(got.priority, 1, 'b3 carries only sampled / not sampled');
  }
  const debug = new Propagator(['b3multi'], []).extract({ 'x-b3-traceid': '0000000000000001', 'x-b3-spanid': '0000000000000002', 'x-b3-flags': '1' }, get);
  assert.equal(debug.priority, 2);
});

const tc = new Propagator(['tracecontext'], ['tracecontext']);
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('invalid traceparents are ignored; a future version with more fields is read', () => {
  for (const bad of [
    TP.slice(0, 54),
    TP + '0',
    TP.toUpperCase(),
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    '00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x',
  ]) {
    assert.equal(tc.extract({ traceparent: bad }, get), undefined, bad);
  }
  const future = tc.extract({ traceparent: 'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds' }, get);
  assert.ok(future);
  assert.equal(future.spanLo, 0x0ba902b7);
  assert.equal(tc.extract({ traceparent: 'cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x' }, get), undefined);
});

test('tracestate: at most 32 members, duplicates and invalid members dropped, the rest in order', () => {
  const members = Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`);
  const kept = filterTracestate(members.join(','));
  assert.equal(kept.split(',').length, 31, '31 others + our dd member = 32');
  assert.equal(kept, members.slice(0, 31).join(','));
  assert.equal(filterTracestate('a=1,a=2,B=3,c=,d=x=y,e=ok,dd=s:1,f@v=1,1x=2,g=has space'), 'a=1,e=ok,f@v=1,g=has space');
  const carrier = {};
  tc.inject({ ...SRC, tracestate: members.join(',') }, carrier, set);
  assert.equal(carrier.tracestate.split(',').length, 32);
  assert.ok(carrier.tracestate.startsWith('dd='));
});

test('the sampled flag wins over a disagreeing dd priority', () => {
  const unsampled = tc.extract({ traceparent: TP.slice(0, -2) + '00', tracestate: 'dd=s:2;o:rum' }, get);
  assert.equal(unsampled.priority, 0);
  assert.equal(unsampled.origin, 'rum');
  const sampled = tc.extract({ traceparent: TP, tracestate: 'dd=s:-1' }, get);
  assert.equal(sampled.priority, 1);
  const agree = tc.extract({ traceparent: TP, tracestate: 'other=1,dd=s:2;t.dm:-3' }, get);
  assert.equal(agree.priority, 2);
  assert.equal(agree.ptags, '_dd.p.dm=-3');
});

test('datadog: bad ids and tags are ignored', () => {
  const dd = new Propagator(['datadog'], []);
  for (const [t, p] of [
    ['abc', '1'],
    ['1', '-1'],
    ['0', '1'],
    ['18446744073709551616', '1'],
    ['1e5', '1'],
    ['', '1'],
  ]) {
    assert.equal(dd.extract({ 'x-datadog-trace-id': t, 'x-datadog-parent-id': p }, get), undefined, `${t}/${p}`);
  }
  const max = dd.extract({ 'x-datadog-trace-id': '18446744073709551615', 'x-datadog-parent-id': '9007199254740993' }, get);
  assert.equal(max.t2, 0xffffffff);
  assert.equal(max.t3, 0xffffffff);
  assert.equal(max.spanHi, 0x200000);
  assert.equal(max.spanLo, 1);
  const badTid = dd.extract({ 'x-datadog-trace-id': '5', 'x-datadog-parent-id': '6', 'x-datadog-tags': '_dd.p.tid=6B03084600000000,_dd.p.dm=-1' }, get);
  assert.equal(badTid.t0, 0, 'upper-case tid ignored');
  assert.equal(badTid.ptags, '_dd.p.dm=-1');
  const malformed = dd.extract({ 'x-datadog-trace-id': '5', 'x-datadog-parent-id': '6', 'x-datadog-tags': 'garbage' }, get);
  assert.equal(malformed.ptags, '');
  const foreign = dd.extract({ 'x-datadog-trace-id': '5', 'x-datadog-parent-id': '6', 'x-datadog-tags': 'foo=bar,_dd.p.ok=1' }, get);
  assert.equal(foreign.ptags, '_dd.p.ok=1', 'only _dd.p.* tags propagate');
});

test('style order: the first style that yields a context wins; W3C tracestate of the same trace still travels', () => {
  const both = new Propagator(['datadog', 'tracecontext'], []);
  const same = both.extract({ 'x-datadog-trace-id': String(0xa3ce929d0e0e4736n), 'x-datadog-parent-id': '7', traceparent: TP, tracestate: 'congo=x' }, get);
  assert.equal(same.spanLo, 7, 'datadog won');
  assert.equal(same.tracestate, 'congo=x');
  const other = both.extract({ 'x-datadog-trace-id': '99', 'x-datadog-parent-id': '7', traceparent: TP, tracestate: 'congo=x' }, get);
  assert.equal(other.t3, 99);
  assert.equal(other.tracestate, '', 'tracestate of another trace is not mixed in');
  const w3cFirst = new Propagator(['tracecontext', 'datadog'], []).extract({ 'x-datadog-trace-id': '99', 'x-datadog-parent-id': '7', traceparent: TP }, get);
  assert.equal(w3cFirst.spanLo, 0x0ba902b7);
});

/** A seeded PRNG so a failing fuzz case can be replayed. */
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

test('fuzz: 20000 random carriers never make extract or inject throw, and what is extracted is valid', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
  const rnd = prng(seed);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const names = ['traceparent', 'tracestate', 'baggage', 'x-datadog-trace-id', 'x-datadog-parent-id', 'x-datadog-sampling-priority', 'x-datadog-origin', 'x-datadog-tags', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'x-b3-flags'];
  const hex = (n) => Array.from({ length: n }, () => pick('0123456789abcdefABCDEFxyz-')).join('');
  const bytes = (n) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(rnd() * 0x2ff))).join('');
  const values = [
    () => hex(Math.floor(rnd() * 70)),
    () => bytes(Math.floor(rnd() * 80)),
    () => `00-${hex(32)}-${hex(16)}-${hex(2)}`,
    () => `${hex(2)}-${hex(32)}-${hex(16)}-${hex(2)}${rnd() < 0.5 ? '-' + hex(4) : ''}`,
    () => String(Math.floor(rnd() * 2 ** 53)) + (rnd() < 0.3 ? String(Math.floor(rnd() * 1e6)) : ''),
    () => 'x'.repeat(Math.floor(rnd() * 100_000)),
    () => Array.from({ length: Math.floor(rnd() * 40) }, () => `${hex(3)}=${hex(5)}`).join(pick([',', ';', ', ', ''])),
    () => `dd=s:${hex(1)};o:${bytes(3)};t.${hex(2)}:${bytes(4)};p:${hex(16)}`,
    () => `_dd.p.tid=${hex(16)},_dd.p.${hex(2)}=${bytes(3)}`,
    () => '',
    () => [hex(5), hex(3)],
    () => 42,
    () => `${hex(16)}-${hex(16)}-${pick(['0', '1', 'd', 'x', ''])}-${hex(16)}`,
  ];
  const all = new Propagator(['datadog', 'tracecontext', 'b3', 'b3multi', 'baggage'], ['datadog', 'tracecontext', 'b3', 'b3multi', 'baggage']);
  const inRange = (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  for (let i = 0; i < 20_000; i++) {
    const carrier = {};
    for (const n of names) if (rnd() < 0.45) carrier[n] = pick(values)();
    let got;
    try {
      got = all.extract(carrier, get);
      if (got) {
        for (const k of ['t0', 't1', 't2', 't3', 'spanHi', 'spanLo']) assert.ok(inRange(got[k]), `${k}=${got[k]}`);
        assert.ok((got.t0 | got.t1 | got.t2 | got.t3) !== 0, 'zero trace id');
        assert.ok((got.spanHi | got.spanLo) !== 0, 'zero span id');
        all.inject({ ...got, mechanism: -1 }, {}, set);
      }
    } catch (err) {
      assert.fail(`seed ${seed}, case ${i}: ${err.message}\ncarrier: ${JSON.stringify(carrier).slice(0, 500)}`);
    }
  }
});

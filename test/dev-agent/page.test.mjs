// The dev agent's page (/ui) in headless Chromium, while the demo's three services run
// (examples/demo-services.mjs, started as `npm run demo` starts them): a trace opened from the
// list as a waterfall across the services, a span's probe capture with its redaction, the
// flame graph's hottest frame on the first screen, probe statuses and log lines linked to their
// traces, export health with a dead-letter file, live updates; then hostile strings rendered
// as text, the page's own guards (loopback only, read-only, no fetches elsewhere), the bounds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { devAgentModule } from '../helpers/apps.mjs';
import { require, root } from '../helpers/common.mjs';
import { launch, noChromium } from '../helpers/chromium.mjs';
import { get, probes, startDemoServices } from '../../examples/demo-services.mjs';

const { encode } = require('@msgpack/msgpack');
const { top } = require(join(root, 'dist/cjs/profiler/analyze.js'));
const { DeadLetterStore } = require(join(root, 'dist/cjs/delivery/dead-letter/store.js'));

const dirs = [];
const tempDir = (prefix) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const startAgent = async (opts) => {
  const agent = await devAgentModule().startDevAgent({ port: 0, dir: null, dlqDir: null, ...opts });
  cleanups.push(() => agent.close());
  return agent;
};
const hex = (v) => v.toString(16).padStart(16, '0');
const TID = '6b15e0c800000000';

const span = (over = {}) => ({
  name: 'web.request',
  service: 'svc',
  resource: 'GET /x',
  type: 'web',
  trace_id: 123n,
  span_id: 456n,
  parent_id: 0n,
  start: BigInt(Date.now()) * 1_000_000n,
  duration: 1_500_000n,
  error: 0,
  meta: { '_dd.p.tid': TID },
  metrics: {},
  ...over,
});
const put = (agent, traces) => fetch(`${agent.url}/v0.4/traces`, { method: 'PUT', headers: { 'content-type': 'application/msgpack' }, body: encode(traces, { useBigInt64: true }) }).then((r) => assert.equal(r.status, 200));
const post = (agent, path, body, type = 'application/json') => fetch(agent.url + path, { method: 'POST', headers: { 'content-type': type }, body }).then((r) => assert.equal(r.status, 202));
const statusBody = (probeId, status, exception) => {
  const event = [{ ddsource: 'dd_debugger', service: 'svc', debugger: { diagnostics: { probeId, runtimeId: 'r-1', probeVersion: 0, status, ...(exception ? { exception } : {}) } } }];
  return `--b\r\nContent-Disposition: form-data; name="event"; filename="event.json"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(event)}\r\n--b--\r\n`;
};

/** The spans in the order a waterfall lists them: parents first, siblings by start. */
function treeOrder(spans) {
  const ids = new Set(spans.map((s) => s.span_id));
  const sorted = [...spans].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out = [];
  const walk = (s) => {
    out.push(s);
    for (const k of sorted.filter((x) => x.parent_id === s.span_id)) walk(k);
  };
  for (const r of sorted.filter((s) => !ids.has(s.parent_id))) walk(r);
  return out;
}

// The two Chromium tests take their own limit, past npm test's 120 s: on one loaded core the
// demo's services and the browser need minutes (150 s was seen to run out); every wait inside
// has a deadline of its own (60 s at most), so only a hang of the test itself reaches this one.
test("the page while the demo's three services run: waterfall, probe capture, hottest frame on the first screen, probes, export health, live updates", { skip: noChromium, timeout: 600_000 }, async () => {
  // One dead-letter file in the folder the page reads, as a traced process leaves it.
  const dlq = tempDir('tw-page-dlq-');
  const store = new DeadLetterStore({ root: dlq, service: 'old-service', kind: 'dd', maxBytes: 1 << 20 });
  store.append(encode([[span()]], { useBigInt64: true }), 1, 1);
  store.close();
  const printed = [];
  const agent = await startAgent({ dlqDir: dlq, print: (t) => printed.push(t) });
  const services = await startDemoServices({ agentUrl: agent.url, stdio: 'pipe', env: { DD_PROFILING_UPLOAD_PERIOD: '3', TRACEWELL_PROBE_BUDGET_MS: '1000', TRACEWELL_DLQ_DIR: tempDir('tw-page-svc-dlq-') } });
  let stderr = '';
  for (const c of services.children) {
    c.stdout.resume();
    c.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  }
  cleanups.push(() => services.stop());
  const placed = (a) => [probes.caller, probes.lookup].every((id) => [...a.store.probes.values()].some((p) => p.probeId === id && ['INSTALLED', 'EMITTING'].includes(p.latest.status)));
  await agent.waitFor(placed, 30_000).catch((err) => assert.fail(`${err.message}; statuses: ${JSON.stringify([...agent.store.probes.values()].map((p) => [p.probeId, p.history]))}\n${stderr}`));

  for (let i = 0; i < 16; i++) {
    const r = await get(services.users, `/users/${1 + (i % 2)}`);
    assert.equal(r.status, 200, `${r.body}\n${stderr}`);
  }
  assert.equal((await get(services.users, '/users/boom')).status, 500);
  const full = (t) => new Set(t.spans.map((s) => s.service)).size === 3 && t.spans.some((s) => s.meta.caller !== undefined);
  await agent.waitFor((a) => [...a.store.traces.values()].filter(full).length >= 10 && a.snapshots.length >= 1, 60_000);
  const trafficEnd = Date.now();
  const usersProfiles = () => agent.store.profiles.filter((p) => p.profile.tags.service === 'users-api').map((p) => p.profile.profiles['wall.pprof']);
  const endpoint = 'GET /users/:id';
  // Every sample of the requests above: an upload whose period ends after them.
  await agent.waitFor(() => agent.store.profiles.some((p) => p.profile.tags.service === 'users-api' && Date.parse(p.profile.event.end) > trafficEnd), 60_000);
  // What the page will outline: the hottest function under the endpoint (the demo's hot spot) and in all.
  assert.equal(top(usersProfiles(), { endpoint, by: 'function' }).entries[0].name, 'suggestions', 'the demo spends its CPU in suggestions()');

  // The terminal: each request one tree across the services, with the probe's capture, and the
  // probe log line with the same 128-bit id.
  // A tree is printed once its chunks stopped coming for a moment (1.5 s); on a loaded machine
  // a service's chunk may come later than that, and the tree is printed again whole, saying so.
  await agent.whenPrinted();
  const whole = (id = '[0-9a-f]{32}') => new RegExp(`^trace ${id} \\(5 spans, 3 services(; [1-4] arrived after it was printed)?\\)\n`);
  const trees = printed.filter((p) => whole().test(p));
  assert.ok(trees.length >= 10, printed.join('\n'));
  assert.match(trees[0], /^│  probe caller = \{ client: 'demo-client', apiKey: '\[redacted\]', scopes: \[ 'users:read' \] \}/m);
  const logLine = printed.find((p) => p.startsWith(`probe ${probes.lookup}: profile lookup for user`));
  const logTrace = / \(trace ([0-9a-f]{32}) span [0-9a-f]{16}\)$/.exec(logLine ?? '')?.[1];
  assert.ok(logTrace && printed.some((p) => whole(logTrace).test(p)), `${logLine}\n${printed.join('\n')}`);

  const browser = await launch({ width: 1280, height: 800 });
  cleanups.push(() => browser.close());
  const { page } = browser;

  // The list; a trace of all three services opened from it.
  await page.navigate(agent.uiUrl);
  const traceId = await page.evaluate(`(() => { const r = [...document.querySelectorAll('tr[data-trace]')].find((tr) => tr.querySelectorAll('.chip').length === 3); return r && r.getAttribute('data-trace'); })()`);
  assert.match(traceId ?? '', /^[0-9a-f]{32}$/);
  const high = agent.store.traces.get(traceId.slice(16)).high;
  assert.ok(high === traceId.slice(0, 16) && high !== '0'.repeat(16), `the 128-bit id, its high half from _dd.p.tid (${high})`);
  await page.click(`tr[data-trace="${traceId}"] a`);
  // Parsed to the end (its script has run): a slow machine otherwise reads a page half parsed.
  await page.waitFor(`location.pathname === '/ui/trace/${traceId}' && document.readyState !== 'loading' && document.querySelectorAll('.row[data-span]').length > 0`);

  // Every span the three services sent for it, in tree order, bars nested in their parents'.
  const sent = agent.allSpans().filter((s) => hex(s.trace_id) === traceId.slice(16));
  assert.equal(sent.length, 5);
  const rows = await page.evaluate(`[...document.querySelectorAll('.row[data-span]')].map((r) => { const b = r.querySelector('.b').getBoundingClientRect(); return { span: r.getAttribute('data-span'), service: r.getAttribute('data-service'), depth: Number(r.getAttribute('data-depth')), x0: b.left, x1: b.right }; })`);
  assert.deepEqual(rows.map((r) => r.span), treeOrder(sent).map((s) => hex(s.span_id)));
  assert.deepEqual(new Set(rows.map((r) => r.service)), new Set(['users-api', 'profiles', 'member-service']));
  for (const s of sent) {
    const row = rows.find((r) => r.span === hex(s.span_id));
    const parent = rows.find((r) => r.span === hex(s.parent_id));
    if (parent === undefined) continue;
    assert.equal(row.depth, parent.depth + 1);
    assert.ok(row.x0 >= parent.x0 - 1 && row.x1 <= parent.x1 + 1, `${s.service} ${s.name}: bar ${row.x0}-${row.x1} within its parent's ${parent.x0}-${parent.x1}`);
  }

  // A click on the users API's span: its tags, and what the probe captured, the API key redacted.
  const rootSpan = sent.find((s) => s.parent_id === 0n);
  await page.click(`.row[data-span="${hex(rootSpan.span_id)}"]`);
  await page.waitFor(`document.querySelector('#detail .probe-tags tr[data-tag="caller"]')`);
  const capture = await page.evaluate(`(() => { const tr = document.querySelector('#detail .probe-tags tr[data-tag="caller"]'); return { text: tr.innerText, marks: [...tr.querySelectorAll('mark.redacted')].map((m) => m.textContent) }; })()`);
  assert.match(capture.text, /client: 'demo-client'/);
  assert.match(capture.text, new RegExp(probes.caller.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
  assert.deepEqual(capture.marks, ['[redacted]']);
  assert.equal(await page.evaluate(`document.documentElement.outerHTML.includes('demo-key-4f9a2c')`), false, 'the API key is nowhere on the page');
  assert.equal(await page.evaluate(`new URL(location.href).searchParams.get('span')`), hex(rootSpan.span_id), 'the selection is in the address');
  assert.match(await page.evaluate(`document.querySelector('#detail .tags').innerText`), /http\.route\s+\/users\/:id/);
  assert.match(await page.evaluate(`document.querySelector('#detail .metrics').innerText`), /process_id\s+\d+/);
  // What was hot under this one request (linked profiles label its samples): the page opens,
  // filtered to it, whether or not the sampler caught it on the CPU.
  const requestLink = await page.evaluate(`document.querySelector('#detail a.hot-span').getAttribute('href')`);
  assert.equal(new URL(requestLink, agent.url).searchParams.get('span'), rootSpan.span_id.toString());
  const requestPage = await fetch(new URL(requestLink, agent.url));
  assert.equal(requestPage.status, 200);
  assert.match(await requestPage.text(), new RegExp(`request: local root span ${rootSpan.span_id}`));

  // From the span to its endpoint's flame graph: the hottest frame outlined, on the first screen.
  const visibleHot = `(() => { const hot = [...document.querySelectorAll('#graph .f.hot')]; if (hot.length === 0) return null; return { scrollY: window.scrollY, h: window.innerHeight, w: window.innerWidth, boxes: hot.map((e) => { const r = e.getBoundingClientRect(); return { name: e.getAttribute('data-name'), top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width }; }) }; })()`;
  const onScreen = (g) => g.scrollY === 0 && g.boxes.some((b) => b.top >= 0 && b.bottom <= g.h && b.left >= 0 && b.right <= g.w && b.width >= 1);
  await page.click('#detail a.hot-endpoint');
  await page.waitFor(`location.pathname === '/ui/profiles' && document.querySelector('#graph .f')`);
  assert.equal(await page.evaluate(`new URL(location.href).searchParams.get('endpoint')`), endpoint);
  let geometry = await page.evaluate(visibleHot);
  assert.ok(geometry !== null, 'a frame is outlined');
  // The hottest function as the profiles read now (the services keep uploading every 3 s; under
  // heavy load the endpoint's garbage collection was seen to outweigh suggestions() by then).
  const hottest = top(usersProfiles(), { endpoint, by: 'function' }).entries[0].name;
  assert.ok(geometry.boxes.every((b) => b.name === hottest), `${JSON.stringify(geometry)}, hottest ${hottest}`);
  assert.ok(onScreen(geometry), `the hottest frame is in the first screen: ${JSON.stringify(geometry)}`);
  // By line too, and the service's whole profile: whatever is hottest there is on screen as well.
  for (const [query, sel] of [
    [`?service=users-api&by=line&endpoint=${encodeURIComponent(endpoint)}`, { by: 'line', endpoint }],
    ['?service=users-api', { by: 'function' }],
  ]) {
    await page.navigate(`${agent.uiUrl}/profiles${query}`);
    geometry = await page.evaluate(visibleHot);
    const want = top(usersProfiles(), sel).entries[0].name;
    assert.ok(geometry !== null && geometry.boxes.every((b) => b.name === want), `${query}: outlined ${JSON.stringify(geometry)}, hottest ${want}`);
    assert.ok(onScreen(geometry), `${query}: ${JSON.stringify(geometry)}`);
  }

  // Probes: both statuses, and a log line that leads to its trace and span.
  await page.navigate(`${agent.uiUrl}/probes`);
  const statuses = await page.evaluate(`Object.fromEntries([...document.querySelectorAll('tr.probe-status')].map((r) => [r.getAttribute('data-probe'), r.getAttribute('data-status')]))`);
  assert.deepEqual(statuses, { [probes.caller]: 'EMITTING', [probes.lookup]: 'EMITTING' });
  const link = await page.evaluate(`document.querySelector('tr.log-line a').getAttribute('href')`);
  const [, linkedTrace, linkedSpan] = /^\/ui\/trace\/([0-9a-f]{32})\?span=([0-9a-f]{16})$/.exec(link) ?? [];
  assert.ok(linkedTrace, link);
  await page.click('tr.log-line a');
  // Parsed to the end: the script that marks the selected row runs last (a loaded machine read
  // the detail before the row was marked).
  await page.waitFor(`location.pathname === '/ui/trace/${linkedTrace}' && document.readyState !== 'loading' && document.querySelector('#detail .snapshot')`);
  assert.equal(await page.evaluate(`document.querySelector('.trace-id').textContent`), linkedTrace);
  assert.equal(await page.evaluate(`document.querySelector('.row.sel').getAttribute('data-span')`), linkedSpan);
  assert.equal(await page.evaluate(`document.querySelector('.row.sel').getAttribute('data-service')`), 'profiles');
  assert.match(await page.evaluate(`document.querySelector('#detail .snapshot').textContent`), /profile lookup for user [12]/);
  assert.ok(await page.evaluate(`[...document.querySelectorAll('#detail .snapshot mark.redacted')].length >= 1`), 'the token the snapshot did not capture is shown as redacted');

  // Export health: what each service sent, and the dead-letter file as `tracewell dlq ls` lists it.
  await page.navigate(`${agent.uiUrl}/health`);
  const health = await page.evaluate(`({ services: [...document.querySelectorAll('table.services tr[data-service]')].map((r) => r.getAttribute('data-service')), files: document.querySelector('.dlq-summary').getAttribute('data-files'), ls: document.querySelector('pre.dlq-ls').textContent })`);
  assert.deepEqual(health.services.sort(), ['member-service', 'profiles', 'users-api']);
  assert.equal(health.files, '1');
  assert.match(health.ls, /\(service old-service\)\n {2}dd-\d+-\d+-[0-9a-f]{8}-\d+\.dlq {2}datadog {2}pid \d+ (running|exited) {2}1 pending record \(1 spans\)/);

  // Live: a new request shows up in the list without a reload.
  await page.navigate(agent.uiUrl);
  await page.evaluate('window.stillHere = true');
  assert.equal((await get(services.users, '/users/1/visits')).status, 200);
  await page.waitFor(`[...document.querySelectorAll('tr[data-trace]')].some((r) => r.textContent.includes('GET /users/:id/visits'))`, 60_000);
  assert.equal(await page.evaluate('window.stillHere'), true, 'updated in place');
});

test('span names, tags, captured values and probe messages are rendered as text, never as markup', { skip: noChromium, timeout: 600_000 }, async () => {
  const agent = await startAgent({});
  const evil = `<img src=x onerror="window.pwned=1">`;
  await put(agent, [
    [
      span({ name: '<script>window.pwned=2</script>', service: `evil" onmouseover="window.pwned=3`, resource: '<b>bold</b>', meta: { '_dd.p.tid': TID, note: evil, '_dd.di.caller.probe_id': `p<i>1</i>`, caller: `{ password: '[redacted]', html: '${evil}' }`, 'error.stack': `Error: ${evil}` }, error: 1 }),
      span({ span_id: 457n, parent_id: 456n, service: evil, name: evil, resource: evil, meta: {} }),
    ],
  ]);
  const snapshot = { ddsource: 'dd_debugger', service: evil, message: `lookup ${evil}`, dd: { trace_id: '123', span_id: '456' }, debugger: { snapshot: { id: 's', timestamp: 1, probe: { id: `probe ${evil}`, version: 0, location: {} }, captures: { lines: { 3: { locals: { [evil]: { type: 'string', value: evil }, secret: { type: 'string', notCapturedReason: 'redactedIdent' } } } } } } } };
  await post(agent, '/debugger/v1/input', JSON.stringify([snapshot]));
  await post(agent, '/debugger/v1/diagnostics', statusBody(`probe ${evil}`, 'ERROR', { type: 'NoCode', message: evil }), 'multipart/form-data; boundary=b');
  const browser = await launch({ width: 1280, height: 800 });
  cleanups.push(() => browser.close());
  const { page } = browser;
  const id = `${TID}${hex(123n)}`;
  for (const path of ['', `/trace/${id}?span=${hex(456n)}`, `/trace/${id}?span=${hex(457n)}`, '/probes', '/health', `/trace/${id}/span/${hex(456n)}`]) {
    await page.navigate(agent.uiUrl + path);
    await page.evaluate(`document.querySelectorAll('details').forEach((d) => (d.open = true))`);
    // Hover everything: an injected handler would run now.
    await page.evaluate(`document.querySelectorAll('*').forEach((e) => e.dispatchEvent(new MouseEvent('mouseover', { bubbles: true })))`);
    await new Promise((r) => setTimeout(r, 200));
    const seen = await page.evaluate(`({ pwned: window.pwned ?? null, imgs: document.querySelectorAll('img').length, scripts: document.querySelectorAll('script:not([type="application/json"])').length, handlers: document.querySelectorAll('[onerror],[onmouseover],[onclick],[onload]').length, text: document.body.innerText })`);
    assert.equal(seen.pwned, null, path);
    assert.equal(seen.imgs, 0, `${path}: no <img> made of a value`);
    assert.ok(seen.scripts <= 1, `${path}: only the page's own script (${seen.scripts})`);
    assert.equal(seen.handlers, 0, path);
    if (path !== '/health') assert.ok(seen.text.includes(evil), `${path}: the value shown as text:\n${seen.text.slice(0, 2000)}`);
  }
  await page.navigate(`${agent.uiUrl}/trace/${id}?span=${hex(456n)}`);
  const detail = await page.evaluate(`document.querySelector('#detail').innerText`);
  assert.ok(detail.includes('<script>window.pwned=2</script>') && detail.includes('<b>bold</b>') && detail.includes(`Error: ${evil}`), detail);
  assert.equal(await page.evaluate(`document.querySelector('#detail .probe-tags mark.redacted').textContent`), '[redacted]');
});

/** A raw GET, with the Host header we choose (fetch would not let us). */
function rawGet(url, headers = {}, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the page answers this machine by a loopback name only, is read-only, fetches nothing elsewhere', async () => {
  const agent = await startAgent({});
  await put(agent, [[span({ meta: { '_dd.p.tid': TID, 'http.url': 'http://example.com/x' } })]]);
  assert.match(agent.uiUrl, /^http:\/\/127\.0\.0\.1:\d+\/ui$/);
  const ok = await rawGet(agent.uiUrl);
  assert.equal(ok.status, 200);
  assert.match(ok.headers['content-type'], /^text\/html/);
  const csp = ok.headers['content-security-policy'];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]+'/);
  assert.match(csp, /connect-src 'self'/);
  assert.equal(ok.headers['x-content-type-options'], 'nosniff');
  assert.equal(ok.headers['referrer-policy'], 'no-referrer');
  assert.equal(ok.headers['cache-control'], 'no-store');
  for (const path of ['', '/probes', '/profiles', '/health']) {
    const { body } = await rawGet(agent.uiUrl + path);
    assert.doesNotMatch(body, /\b(src|href|action)="(https?:)?\/\//, `${path}: nothing loaded or linked elsewhere`);
    assert.doesNotMatch(body, /https?:\/\/(?!127\.0\.0\.1)/, `${path}: no address of another host`);
  }
  // A name other than a loopback one (a page that rebinds its own name to 127.0.0.1) gets nothing.
  for (const host of ['evil.example', 'evil.example:80', `attacker.test:${agent.port}`]) {
    const r = await rawGet(agent.uiUrl, { host });
    assert.equal(r.status, 403, host);
    assert.doesNotMatch(r.body, /trace/i);
  }
  for (const host of [`localhost:${agent.port}`, `127.0.0.1:${agent.port}`, `app.localhost:${agent.port}`]) assert.equal((await rawGet(agent.uiUrl, { host })).status, 200, host);
  assert.equal((await rawGet(agent.uiUrl, {}, 'POST')).status, 405);
  assert.equal((await rawGet(agent.uiUrl, {}, 'HEAD')).status, 200);
  // The script's live update: 204 while nothing changed, the live part when it did.
  const etag = /id="live" data-etag="([^"]+)"/.exec(ok.body)[1];
  assert.equal((await rawGet(agent.uiUrl, { 'x-tw-live': etag })).status, 204);
  await put(agent, [[span({ trace_id: 124n })]]);
  const changed = await rawGet(agent.uiUrl, { 'x-tw-live': etag });
  assert.equal(changed.status, 200);
  assert.notEqual(changed.headers['x-tw-etag'], etag);
  assert.doesNotMatch(changed.body, /<html/);
  assert.equal((await rawGet(`${agent.uiUrl}/nope`)).status, 404);
  assert.equal((await rawGet(`${agent.uiUrl}/trace/${'f'.repeat(32)}`)).status, 404);
  // The payload endpoints are untouched by the page.
  assert.equal((await fetch(`${agent.url}/info`)).status, 200);
  const off = await startAgent({ ui: false });
  assert.equal(off.uiUrl, null);
  assert.equal((await rawGet(`${off.url}/ui`)).status, 404);
});

const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal);

test('listening beyond loopback, the agent takes payloads from other addresses but its page answers loopback only', { skip: external ? false : 'no non-loopback IPv4 address on this machine' }, async () => {
  const agent = await startAgent({ host: '0.0.0.0' });
  assert.match(agent.uiUrl, /^http:\/\/127\.0\.0\.1:\d+\/ui$/);
  const outside = `http://${external.address}:${agent.port}`;
  assert.equal((await rawGet(`${outside}/info`)).status, 200);
  const refused = await rawGet(`${outside}/ui`, { host: `localhost:${agent.port}` });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /answers this machine only/);
  assert.equal((await rawGet(agent.uiUrl)).status, 200);
});

test('the printer: one tree per trace across services, late chunks reprinted, probe tags under their span, log lines with the 128-bit id', async () => {
  const printed = [];
  const agent = await startAgent({ print: (t) => printed.push(t), printDelayMs: 500 });
  const t0 = BigInt(Date.now()) * 1_000_000n;
  // Two services' chunks of one trace, a little apart; the server's root only has _dd.p.tid.
  await put(agent, [[span({ service: 'front', span_id: 1n, start: t0, duration: 9_000_000n, meta: { '_dd.p.tid': TID, caller: "{ apiKey: '[redacted]' }", '_dd.di.caller.probe_id': 'p-caller' } }), span({ service: 'front', name: 'http.request', span_id: 2n, parent_id: 1n, start: t0 + 1_000_000n, meta: {} })]]);
  await new Promise((r) => setTimeout(r, 20));
  await put(agent, [[span({ service: 'back', span_id: 3n, parent_id: 2n, start: t0 + 2_000_000n, meta: { '_dd.p.tid': TID, '_dd.di.x.evaluation_error': '"x" is a getter' } })]]);
  // A probe log line of this trace before it was printed: it follows the tree, with its id.
  await post(agent, '/debugger/v1/input', JSON.stringify([{ ddsource: 'dd_debugger', service: 'back', message: 'hello', dd: { trace_id: '123', span_id: '3' }, debugger: { snapshot: { id: 's', timestamp: 1, probe: { id: 'p-log', version: 0, location: {} } } } }]));
  await agent.whenPrinted();
  const id = `${TID}000000000000007b`;
  assert.deepEqual(printed, [
    [
      `trace ${id} (3 spans, 2 services)`,
      'front  web.request  GET /x  9.0 ms',
      "│  probe caller = { apiKey: '[redacted]' }  (p-caller)",
      '└─ front  http.request  GET /x  1.5 ms',
      '   └─ back  web.request  GET /x  1.5 ms',
      '         probe x evaluation error: "x" is a getter',
    ].join('\n'),
    `probe p-log: hello (trace ${id} span 0000000000000003)`,
  ]);
  // A chunk after the tree was printed: the whole tree again, saying so.
  await put(agent, [[span({ service: 'late', span_id: 4n, parent_id: 3n, start: t0 + 3_000_000n, meta: {} })]]);
  await agent.whenPrinted();
  assert.match(printed.at(-1), new RegExp(`^trace ${id} \\(4 spans, 3 services; 1 arrived after it was printed\\)\\n`));
  assert.match(printed.at(-1), /\n {6}└─ late {2}web\.request/);
  // A log line of a trace printed already goes out at once.
  await post(agent, '/debugger/v1/input', JSON.stringify([{ ddsource: 'dd_debugger', service: 'back', message: 'again', dd: { trace_id: '123', span_id: '3' }, debugger: { snapshot: { id: 's2', timestamp: 1, probe: { id: 'p-log', version: 0, location: {} } } } }]));
  assert.equal(printed.at(-1), `probe p-log: again (trace ${id} span 0000000000000003)`);
});

test('the list filters by service, resource, errors and duration', async () => {
  const agent = await startAgent({});
  const at = BigInt(Date.now()) * 1_000_000n;
  await put(agent, [
    [span({ trace_id: 1n, span_id: 1n, service: 'a', resource: 'GET /users/:id', duration: 5_000_000n, start: at })],
    [span({ trace_id: 2n, span_id: 2n, service: 'b', resource: 'GET /orders', duration: 50_000_000n, start: at, error: 1 })],
    [span({ trace_id: 3n, span_id: 3n, service: 'a', resource: 'POST /users', duration: 500_000n, start: at }), span({ trace_id: 3n, span_id: 4n, parent_id: 3n, service: 'c', resource: 'SELECT', start: at })],
  ]);
  const listed = async (query) => [...(await (await fetch(agent.uiUrl + query)).text()).matchAll(/<tr class="[^"]*" data-trace="[0-9a-f]{16}([0-9a-f]{16})"/g)].map((m) => parseInt(m[1], 16)).sort();
  assert.deepEqual(await listed(''), [1, 2, 3]);
  assert.deepEqual(await listed('?service=a'), [1, 3]);
  assert.deepEqual(await listed('?service=c'), [3], 'any span of the trace');
  assert.deepEqual(await listed('?resource=users'), [1, 3]);
  assert.deepEqual(await listed('?errors=1'), [2]);
  assert.deepEqual(await listed('?min=4'), [1, 2]);
  assert.deepEqual(await listed('?service=a&min=4'), [1]);
  assert.match(await (await fetch(agent.uiUrl + '?service=a')).text(), /<option selected>a<\/option>/);
});

test('bounded: the agent keeps the last --max-traces traces, counts what it drops, and records nothing more when told', async () => {
  const agent = await startAgent({ maxTraces: 3, record: false });
  for (let i = 1; i <= 5; i++) await put(agent, [[span({ trace_id: BigInt(1000 + i), span_id: BigInt(i) })]]);
  assert.equal(agent.store.traces.size, 3);
  assert.deepEqual([...agent.store.traces.keys()], [1003, 1004, 1005].map((n) => hex(BigInt(n))));
  assert.equal(agent.store.evicted.traces, 2);
  assert.equal(agent.store.evicted.spans, 2);
  assert.equal(agent.traces.length, 0, 'record: false keeps no unbounded list');
  assert.equal(agent.requests.length, 0);
  const list = await (await fetch(agent.uiUrl)).text();
  assert.match(list, /3 traces kept \(the last 3; 2 older ones dropped\)/);
  assert.equal((await fetch(`${agent.uiUrl}/trace/${TID}${hex(1001n)}`)).status, 404);
  const health = await (await fetch(`${agent.uiUrl}/health`)).text();
  assert.match(health, /3 of at most 3 \(3 spans, at most 200000\); 2 dropped \(2 spans\)/);
  // Spans are bounded in all too: big traces push the oldest out, never the one growing.
  const { AgentStore } = devAgentModule();
  const store = new AgentStore({ maxSpans: 5 });
  const chunk = (trace, n) => Array.from({ length: n }, (_, i) => span({ trace_id: BigInt(trace), span_id: BigInt(trace * 100 + i + 1) }));
  store.addChunk(chunk(1, 2), 'datadog');
  store.addChunk(chunk(2, 2), 'datadog');
  store.addChunk(chunk(3, 3), 'datadog');
  assert.deepEqual([...store.traces.keys()], [hex(2n), hex(3n)]);
  assert.equal(store.spanCount, 5);
  store.addChunk(chunk(3, 4), 'datadog');
  assert.deepEqual([...store.traces.keys()], [hex(3n)], 'the growing trace stays');
  assert.deepEqual([store.spanCount, store.evicted.traces, store.evicted.spans], [7, 2, 4]);
});

test('OTLP spans join the Datadog chunks of their trace: one tree, one waterfall, each span with its process', async () => {
  const protobuf = require('protobufjs');
  const protoDir = join(root, 'test', 'exporter', 'fixtures', 'otlp-proto');
  const Request = protobuf.loadSync(['trace_service.proto', 'trace.proto', 'resource.proto', 'common.proto'].map((f) => join(protoDir, f))).lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  const printed = [];
  // The printer waits for more chunks longer than this test runs: the tree can only be printed
  // when the agent closes (it prints what waits then), after both parts arrived, however slowly
  // (with a short wait, a loaded machine printed the Datadog part alone first).
  const agent = await startAgent({ otlpPort: 0, print: (t) => printed.push(t), printDelayMs: 600_000 });
  const t0 = BigInt(Date.now()) * 1_000_000n;
  await put(agent, [[span({ service: 'dd-front', span_id: 0x10n, start: t0, duration: 5_000_000n, metrics: { process_id: 111 }, meta: { '_dd.p.tid': TID, 'runtime-id': 'rt-front' } })]]);
  const str = (key, value) => ({ key, value: { stringValue: value } });
  const body = Request.encode(
    Request.fromObject({
      resourceSpans: [
        {
          resource: { attributes: [str('service.name', 'otel-back'), str('service.instance.id', 'inst-1'), { key: 'process.pid', value: { intValue: 4242 } }] },
          scopeSpans: [{ scope: { name: 'test' }, spans: [{ traceId: Buffer.from(TID + hex(123n), 'hex'), spanId: Buffer.from(hex(0x20n), 'hex'), parentSpanId: Buffer.from(hex(0x10n), 'hex'), name: 'GET /back', kind: 2, startTimeUnixNano: String(t0 + 1_000_000n), endTimeUnixNano: String(t0 + 3_000_000n) }] }],
        },
      ],
    }),
  ).finish();
  const res = await fetch(`${agent.otlpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
  assert.equal(res.status, 200);
  const trace = agent.store.trace(TID + hex(123n));
  assert.deepEqual(trace.spans.map((s) => [s.service, s.via, s.pid, s.runtimeId]), [['dd-front', 'datadog', 111, 'rt-front'], ['otel-back', 'otlp', 4242, 'inst-1']]);
  const page = await (await fetch(`${agent.uiUrl}/trace/${TID}${hex(123n)}`)).text();
  assert.match(page, /2 spans · 2 services · 2 processes/);
  const detail = await (await fetch(`${agent.uiUrl}/trace/${TID}${hex(123n)}/span/${hex(0x20n)}`)).text();
  assert.match(detail, /pid 4242 <span class="muted small">inst-1<\/span> <span class="muted small">via OTLP<\/span>/);
  const health = await (await fetch(`${agent.uiUrl}/health`)).text();
  assert.match(health, /<tr data-service="otel-back"><td>otel-back<div class="muted small">otlp<\/div><\/td><td class="num">1<\/td>/);
  assert.equal(printed.length, 0, `nothing printed before the agent closes: ${printed.join('\n')}`);
  await agent.close();
  assert.equal(printed.length, 1, printed.join('\n'));
  assert.match(printed[0], new RegExp(`^trace ${TID}000000000000007b \\(2 spans, 2 services\\)\\ndd-front {2}web\\.request {2}GET /x {2}5\\.0 ms\\n└─ otel-back {2}GET /back {2}GET /back {2}2\\.0 ms$`));
});

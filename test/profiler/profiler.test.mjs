// The continuous profiler end to end: real workloads in child processes, profiles written
// and uploaded by the preload, decoded with our pprof reader and checked line by line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { startService, devAgentModule } from '../helpers/apps.mjs';
import { existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { fixtures, foreignDecode, profiler, runNode } from './helpers.mjs';
import { require, compileTs, lineOf, root } from '../helpers/common.mjs';

/** `fn` run once, on first call; later calls get the same promise. */
const once = (fn) => {
  let p = null;
  return () => (p ??= fn());
};
/** `tracewell profile ...` in this process (the command module itself); `viaBin` runs the real bin once. */
const cli = (...args) => {
  const lines = [];
  const cwd = process.cwd();
  process.chdir(root);
  return require(join(root, 'dist/cjs/cli/profile.js'))
    .run(args, (s) => lines.push(s))
    .then((status) => ({ status, stdout: lines.map((l) => (l.endsWith('\n') ? l : l + '\n')).join(''), stderr: '' }))
    .finally(() => process.chdir(cwd));
};
const viaBin = (...args) => spawnSync(process.execPath, [join(root, 'bin', 'tracewell.js'), 'profile', ...args], { cwd: root, encoding: 'utf8' });
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let agent;
const dirs = [];
const tempDir = (p) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
before(async () => {
  agent = await devAgentModule().startDevAgent({ port: 0, dir: null });
});
after(async () => {
  await agent?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * For each service: a dead-letter folder of its own (the default one in $HOME is shared with
 * every other run, whose kept spans and profiles of service "fixture" were replayed to this
 * file's agent), and up to a minute for the last upload at stop (the 2 s default ran out on a
 * loaded core and the profile waited was kept instead of sent).
 */
const own = () => ({ TRACEWELL_DLQ_DIR: tempDir('tw-prof-svc-dlq-'), TRACEWELL_SHUTDOWN_TIMEOUT_MS: '60000' });

function profileFiles(dir, type) {
  return readdirSync(dir).filter((f) => f.startsWith(type + '-') && f.endsWith('.pb.gz'));
}

/**
 * The CommonJS workload, run once for whichever test asks first (each test also runs alone):
 * { dir, wallFiles, spaceFiles, agentWall } (the wall profile as the agent received it).
 */
// The workloads burn a set CPU time; one period of an hour holds all of it however long a loaded
// machine stretches that (with the default 60 s, a second period was cut).
const cjsWorkload = once(async () => {
  const dir = tempDir('tw-prof-cjs-');
  agent.reset();
  const r = await runNode(join(fixtures, 'hot.cjs'), { env: { DD_PROFILING_ENABLED: 'true', TRACEWELL_PROFILING_DIR: dir, DD_TRACE_AGENT_URL: agent.url, PROFILE_MS: '1000', PROFILE_CLOCK: 'cpu', DD_PROFILING_UPLOAD_PERIOD: '3600' } });
  assert.equal(r.code, 0, r.stderr);
  await agent.waitForProfiles(1, 30_000);
  return { dir, wallFiles: profileFiles(dir, 'wall'), spaceFiles: profileFiles(dir, 'space'), agentWall: agent.profiles[0].raw['wall.pprof'] };
});

test('a CommonJS workload: the hottest lines of the profile are the marked lines, in the file and at the agent', async () => {
  const file = join(fixtures, 'hot.cjs');
  const { dir, wallFiles, spaceFiles, agentWall } = await cjsWorkload();
  const { decodePprof, top } = profiler();
  assert.equal(wallFiles.length, 1, `one wall profile (the last partial period): ${readdirSync(dir)}`);
  assert.equal(spaceFiles.length, 1, 'and one heap profile');
  const hotA = lineOf(file, 'HOT-A');
  const hotB = lineOf(file, 'HOT-B');
  for (const [where, bytes] of [
    ['file', readFileSync(join(dir, wallFiles[0]))],
    ['agent', agentWall],
  ]) {
    const wall = decodePprof(bytes);
    const { entries, weighed } = top(wall, { by: 'line' });
    assert.equal(weighed.type, 'wall');
    const count = top(wall, { type: 'sample' }).weighed.sum;
    assert.ok(count >= 20, `${where}: enough samples (${count})`);
    const [first, second] = entries;
    assert.deepEqual([first.name, basename(first.file), first.line], ['hotA', 'hot.cjs', hotA], `${where}: top line ${first.key}`);
    assert.deepEqual([second.name, basename(second.file), second.line], ['hotB', 'hot.cjs', hotB], `${where}: second line ${second.key}`);
    // hotA is called three times as often as hotB.
    assert.ok(first.self > 1.5 * second.self, `${where}: ${first.self} vs ${second.self}`);
    assert.ok(first.self + second.self > 0.5 * weighed.sum, `${where}: the two lines hold most of the time`);
  }
});

test('a TypeScript workload compiled with a source map is reported at its .ts lines', async () => {
  const out = compileTs(join(fixtures, 'hot.ts'));
  dirs.push(out);
  const dir = tempDir('tw-prof-ts-');
  const r = await runNode(join(out, 'hot.js'), { env: { DD_PROFILING_ENABLED: 'true', TRACEWELL_PROFILING_DIR: dir, TRACEWELL_PROFILING_UPLOAD: 'false', PROFILE_MS: '1000', DD_PROFILING_UPLOAD_PERIOD: '3600' } });
  assert.equal(r.code, 0, r.stderr);
  const { decodePprof, top } = profiler();
  const wall = decodePprof(readFileSync(join(dir, profileFiles(dir, 'wall')[0])));
  const { entries, weighed } = top(wall, { by: 'line' });
  const tsLine = lineOf(join(fixtures, 'hot.ts'), 'TS-HOT');
  assert.notEqual(tsLine, lineOf(join(out, 'hot.js'), 'TS-HOT'), 'the generated line differs from the source line');
  const first = entries[0];
  assert.equal(basename(first.file), 'hot.ts', `top frame ${first.key}`);
  assert.equal(first.line, tsLine);
  const onTsLine = entries.filter((e) => basename(e.file) === 'hot.ts' && e.line === tsLine).reduce((a, e) => a + e.self, 0);
  assert.ok(onTsLine > 0.6 * weighed.sum, `the marked line holds most of the time (${onTsLine} of ${weighed.sum})`);
  assert.ok(!entries.some((e) => basename(e.file) === 'hot.js' && e.self > 0.05 * weighed.sum), 'no generated hot.js frame carries time');
});

test('linked mode keeps no finished span alive: samples hold small contexts, not spans', async () => {
  /** Spans of 20 finished requests still alive after a flush and a few collections. */
  async function aliveAfter(env) {
    agent.reset();
    const svc = await startService('profiler/retain-service.cjs', { agentUrl: agent.url, env: { ...own(), ...env } });
    try {
      for (let i = 0; i < 20; i++) assert.equal((await fetch(svc.url + '/burn/15')).status, 200);
      await agent.waitForSpans(20);
      const reply = await new Promise((resolve) => {
        const on = (m) => {
          if (m && typeof m === 'object' && 'alive' in m) {
            svc.child.off('message', on);
            resolve(m);
          }
        };
        svc.child.on('message', on);
        svc.child.send('alive');
      });
      assert.equal(reply.total, 20);
      return reply;
    } finally {
      await svc.stop();
    }
  }
  // What the service itself keeps (the keep-alive connection's last request...), profiler off.
  const off = await aliveAfter({ DD_PROFILING_ENABLED: 'false' });
  // One long period: every sample of these requests is still held by the profiler when counted
  // (when samples held the spans themselves, all 20 were alive here).
  const linked = await aliveAfter({ DD_PROFILING_ENABLED: 'true', TRACEWELL_PROFILING_MODE: 'linked', DD_PROFILING_UPLOAD_PERIOD: '300', TRACEWELL_PROFILING_UPLOAD: 'false' });
  assert.ok(linked.stats.profilesCollected === 0, 'no profile was cut before counting');
  assert.ok(linked.alive <= off.alive + 1, `${linked.alive} of 20 finished spans alive with linked profiling, ${off.alive} with the profiler off`);
});

/**
 * The linked-mode service, run once for whichever test asks first: { dir, file (its wall
 * profile), p (the upload as the agent decoded it), upload (its request), burnSpans }.
 */
const linkedWorkload = once(async () => {
  agent.reset();
  const dir = tempDir('tw-prof-linked-');
  const svc = await startService('profiler/burn-service.cjs', {
    agentUrl: agent.url,
    env: { ...own(), DD_PROFILING_ENABLED: 'true', TRACEWELL_PROFILING_MODE: 'linked', DD_VERSION: '2.3.4', DD_TAGS: 'team:perf', TRACEWELL_PROFILING_DIR: dir },
  });
  try {
    for (let i = 0; i < 3; i++) {
      assert.equal((await fetch(svc.url + '/burn/60')).status, 200);
      assert.equal((await fetch(svc.url + '/idle')).status, 200);
    }
    await agent.waitForSpans(6, 30_000);
  } finally {
    assert.equal(await svc.stop(), 0);
  }
  await agent.waitForProfiles(1, 30_000);
  const burnSpans = agent.allSpans().filter((s) => s.resource === 'GET /burn/:ms');
  return { dir, file: join(dir, profileFiles(dir, 'wall')[0]), p: agent.profiles[0], upload: agent.requests.find((r) => r.path === '/profiling/v1/input'), burnSpans };
});

/** The files the CLI tests read: the CommonJS workload's wall profile, and the linked one with a span of it. */
const cjsProfile = async () => {
  const { dir, wallFiles } = await cjsWorkload();
  return join(dir, wallFiles[0]);
};
const linkedProfile = async () => {
  const { file, burnSpans } = await linkedWorkload();
  return { file, spanId: burnSpans[0].span_id.toString() };
};

test('linked mode: samples under a traced request carry its span id, local root span id and endpoint; the upload has every part and tag', async () => {
  const { p, upload, burnSpans } = await linkedWorkload();
  assert.match(String(upload.headers['content-type']), /^multipart\/form-data; boundary=/);
  assert.deepEqual(p.event.attachments, ['wall.pprof', 'space.pprof']);
  assert.equal(p.event.family, 'node');
  assert.equal(p.event.version, '4');
  assert.ok(Date.parse(p.event.start) < Date.parse(p.event.end));
  for (const [k, v] of Object.entries({ service: 'fixture', env: 'test', version: '2.3.4', language: 'javascript', runtime: 'nodejs', format: 'pprof', team: 'perf', runtime_version: process.version.slice(1) })) {
    assert.equal(p.tags[k], v, `tag ${k}`);
  }
  assert.match(p.tags['runtime-id'], /^[0-9a-f-]{36}$/);
  assert.deepEqual(p.event.endpoint_counts, { 'GET /burn/:ms': 3, 'GET /idle': 3 });
  assert.ok(p.profiles['space.pprof'].sampleTypes.some((t) => t.type === 'inuse_space' && t.unit === 'bytes'));

  const wall = p.profiles['wall.pprof'];
  assert.deepEqual(wall.sampleTypes.map((t) => t.type), ['sample', 'wall', 'cpu'], 'CPU time rides in the wall profile');
  const { framesOf, top } = { ...devAgentModule(), ...profiler() };
  assert.equal(burnSpans.length, 3);
  for (const span of burnSpans) {
    const id = span.span_id.toString();
    const mine = wall.samples.filter((s) => s.labels['span id'] === id);
    assert.ok(mine.length >= 3, `span ${id}: ${mine.length} samples`);
    for (const s of mine) {
      assert.equal(s.labels['local root span id'], id, 'the server span is its own local root');
      assert.equal(s.labels['trace endpoint'], 'GET /burn/:ms');
    }
    const fns = new Set(mine.flatMap((s) => framesOf(wall, s).map((f) => f.name)));
    assert.ok(fns.has('burnOnEndpoint'), `span ${id}: the synchronous burn is under the span`);
    assert.ok(fns.has('burnAfterAwait'), `span ${id}: the burn after an await is under the span`);
    assert.ok(!fns.has('burnOther'), `span ${id}: nothing of another endpoint`);
    // The hot functions under this span, as `tracewell profile top --span` reads them.
    const hot = top(wall, { spanId: id, by: 'function' }).entries.filter((e) => e.total > 0).map((e) => e.name);
    assert.ok(hot.includes('spin') && hot.includes('burnOnEndpoint'), hot.join(', '));
  }
  // No burn frame is ever labelled with the other endpoint, and /idle's frames carry /idle.
  for (const s of wall.samples) {
    const names = framesOf(wall, s).map((f) => f.name);
    if (names.includes('burnOnEndpoint') || names.includes('burnAfterAwait')) assert.equal(s.labels['trace endpoint'], 'GET /burn/:ms');
    if (names.includes('burnOther') && s.labels['trace endpoint'] !== undefined) assert.equal(s.labels['trace endpoint'], 'GET /idle');
  }
});

test('without a loadable binding, profiling is off with one message and tracing works', async () => {
  agent.reset();
  const svc = await startService('apps/service.cjs', {
    agentUrl: agent.url,
    env: { ...own(), FRAMEWORK: 'http', DD_PROFILING_ENABLED: 'true', NODE_OPTIONS: `--require ${join(fixtures, 'no-binding.cjs')}` },
  });
  let stats;
  try {
    assert.equal((await fetch(svc.url + '/users/7')).status, 200);
    await agent.waitForSpans(1);
    stats = await svc.stats();
  } finally {
    await svc.stop();
  }
  const lines = svc.stderr().split('\n').filter((l) => l.includes('TW_PROFILER_UNAVAILABLE'));
  assert.equal(lines.length, 1, svc.stderr());
  assert.match(lines[0], /profiling is off: @datadog\/pprof could not be loaded .*simulated.*tracing is not affected/);
  assert.equal(stats.spansFinished, 1);
  assert.equal(stats.profiler.profilesCollected, 0);
  assert.equal(agent.profiles.length, 0);
  assert.equal(agent.allSpans()[0].meta['http.status_code'], '200');
});

test('profiling configuration: DD_PROFILING_* names, defaults, and one message per bad value', () => {
  const { resolveConfig } = require('../../dist/cjs/config/resolve.js');
  const d = resolveConfig({}, {}).config;
  assert.deepEqual([d.profiling, d.profilingMode, d.profilingUploadPeriodS, d.profilingIntervalMs, d.profilingHeap, d.profilingUpload, d.profilingDir], [false, 'lines', 60, 10, true, true, '']);
  const c = resolveConfig({}, { DD_PROFILING_ENABLED: 'true', DD_PROFILING_UPLOAD_PERIOD: '15', DD_PROFILING_CODEHOTSPOTS_ENABLED: 'true', DD_PROFILING_HEAP_ENABLED: 'false' }).config;
  assert.deepEqual([c.profiling, c.profilingUploadPeriodS, c.profilingMode, c.profilingHeap], [true, 15, 'linked', false]);
  const t = resolveConfig({ profilingMode: 'lines' }, { TRACEWELL_PROFILING_ENABLED: 'false', DD_PROFILING_ENABLED: 'true', DD_PROFILING_CODEHOTSPOTS_ENABLED: 'true' }).config;
  assert.deepEqual([t.profiling, t.profilingMode], [false, 'lines'], 'TRACEWELL_* over DD_*, options over both');
  // The binding's V8-bug guard (a 10-20 ms wait per profile cut): off unless asked for, by either name.
  assert.equal(d.profilingV8BugWorkaround, false);
  assert.equal(resolveConfig({}, { DD_PROFILING_V8_PROFILER_BUG_WORKAROUND: 'true' }).config.profilingV8BugWorkaround, true);
  assert.equal(resolveConfig({}, { TRACEWELL_PROFILING_V8_BUG_WORKAROUND: 'false', DD_PROFILING_V8_PROFILER_BUG_WORKAROUND: 'true' }).config.profilingV8BugWorkaround, false);
  const bad = resolveConfig({}, { DD_PROFILING_UPLOAD_PERIOD: '0.5', TRACEWELL_PROFILING_INTERVAL_MS: 'fast', TRACEWELL_PROFILING_MODE: 'both' });
  assert.deepEqual(bad.problems.map((p) => [p.variable, p.value, p.defaultUsed]), [
    ['TRACEWELL_PROFILING_MODE', 'both', 'lines'],
    ['DD_PROFILING_UPLOAD_PERIOD', '0.5', '60'],
    ['TRACEWELL_PROFILING_INTERVAL_MS', 'fast', '10'],
  ]);
  assert.match(bad.problems[1].accepted, /seconds from 1 to 3600/);
});

test('tracewell profile top: hottest lines or functions, filtered by span or endpoint', async () => {
  const made = { cjs: await cjsProfile(), linked: await linkedProfile() };
  const hotA = lineOf(join(fixtures, 'hot.cjs'), 'HOT-A');
  const lines = viaBin('top', made.cjs, '--lines', '-n', '3');
  assert.equal(lines.status, 0, lines.stderr + lines.stdout);
  const rows = lines.stdout.trim().split('\n');
  assert.match(rows[0], /of wall, hottest lines by self wall/);
  assert.match(rows[2], new RegExp(`\\bhotA\\s+test/fixtures/profiler/hot\\.cjs:${hotA}$`));
  assert.equal(rows.length, 2 + 3, '-n 3 rows under the header');
  const fns = await cli('top', made.cjs);
  assert.match(fns.stdout.trim().split('\n')[2], /\bhotA\s+test\/fixtures\/profiler\/hot\.cjs$/);

  const byEndpoint = await cli('top', made.linked.file, '--endpoint', 'GET /burn/:ms', '-n', '50');
  assert.equal(byEndpoint.status, 0, byEndpoint.stdout);
  assert.match(byEndpoint.stdout, /of cpu for endpoint "GET \/burn\/:ms"/, 'linked profiles are weighed by CPU time');
  assert.match(byEndpoint.stdout, /\bburnOnEndpoint\b/);
  assert.doesNotMatch(byEndpoint.stdout, /\bburnOther\b/);
  const bySpan = await cli('top', made.linked.file, '--span', made.linked.spanId, '-n', '50');
  assert.equal(bySpan.status, 0, bySpan.stdout);
  assert.match(bySpan.stdout, new RegExp(`for span ${made.linked.spanId}`));
  assert.match(bySpan.stdout, /\bspin\b/);
  assert.doesNotMatch(bySpan.stdout, /\bburnOther\b/);
  const none = await cli('top', made.linked.file, '--span', '1');
  assert.equal(none.status, 1);
  assert.match(none.stdout, /no cpu samples for span 1/);
  const bad = await cli('top', join(fixtures, 'hot.cjs'));
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /is not a readable pprof profile/);
});

test('tracewell profile flame: a self-contained page that renders the hot function in headless Chromium', { skip: CHROMIUM ? false : 'no /usr/bin/chromium on this machine (apt-get install chromium): CI machines may lack it' }, async () => {
  const out = join(tempDir('tw-flame-'), 'flame.html');
  const r = await cli('flame', await cjsProfile(), '-o', out, '--by', 'line');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.doesNotMatch(html, /\b(src|href)=|https?:\/\//, 'no external resources');
  const dom = spawnSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage', '--window-size=1200,800', '--dump-dom', 'file://' + out], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(dom.status, 0, dom.stderr);
  const boxes = [...dom.stdout.matchAll(/<div class="f[^"]*"[^>]*title="([^"]*)"[^>]*>([^<]*)<\/div>/g)];
  assert.ok(boxes.length >= 3, `frames drawn: ${boxes.length}`);
  const hot = boxes.filter((b) => b[2].startsWith('hotA hot.cjs'));
  assert.ok(hot.length > 0, 'the hot function is drawn with its name');
  // hotA is called from three lines of burn(): three boxes, together wider than any other function's.
  const shareOf = (name) => boxes.filter((b) => b[2].startsWith(name + ' ')).reduce((a, b) => a + Number(/([\d.]+)%$/.exec(b[1])?.[1]), 0);
  const leafNames = new Set(boxes.map((b) => b[2].split(' ')[0]).filter((n) => n && !['all', 'processImmediate', 'burn'].includes(n)));
  for (const other of leafNames) if (other !== 'hotA') assert.ok(shareOf('hotA') > shareOf(other), `hotA (${shareOf('hotA')}%) is wider than ${other} (${shareOf(other)}%)`);
  assert.ok(shareOf('hotA') > 1.5 * shareOf('hotB'), `hotA ${shareOf('hotA')}% vs hotB ${shareOf('hotB')}%`);
  const [, hotTitle] = hot[0];
  assert.match(hotTitle, new RegExp(`hot\\.cjs:${lineOf(join(fixtures, 'hot.cjs'), 'HOT-A')}`), 'by line: the box names the line');
  // Icicle, rows fitted to the window: the hottest frame is outlined, and on the first screen
  // (800 px high, the title, search and info lines above the graph take under 120).
  const outlined = [...dom.stdout.matchAll(/<div class="f[^"]*\bhot\b[^"]*"[^>]*>/g)].map(([tag]) => ({ name: /data-name="([^"]*)"/.exec(tag)?.[1], style: /style="([^"]*)"/.exec(tag)?.[1] ?? '' }));
  assert.ok(outlined.length > 0 && outlined.every((b) => b.name === 'hotA'), `outlined: ${outlined.map((b) => b.name)}`);
  for (const { style } of outlined) {
    const px = (k) => Number(new RegExp(`(?:^|;\\s*)${k}:\\s*([\\d.]+)px`).exec(style)?.[1]);
    assert.ok(px('top') + px('height') <= 800 - 120, `the hottest frame ends ${px('top') + px('height')} px below the graph's top (${style})`);
  }
});

/** The span-lines service, run once: { p (the upload as the agent decoded it), own (the /own span's id) }. */
const spanLinesWorkload = once(async () => {
  agent.reset();
  const svc = await startService('profiler/burn-service.cjs', { agentUrl: agent.url, env: { ...own(), DD_PROFILING_ENABLED: 'true', TRACEWELL_PROFILING_MODE: 'span-lines' } });
  try {
    assert.equal((await fetch(svc.url + '/own/30000000')).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await fetch(svc.url + '/burn/40')).status, 200);
    await agent.waitForSpans(3, 30_000);
  } finally {
    assert.equal(await svc.stop(), 0);
  }
  await agent.waitForProfiles(1, 30_000);
  return { p: agent.profiles[0], own: agent.allSpans().find((s) => s.resource === 'GET /own/:n').span_id.toString() };
});

test('span-lines mode: the hot lines under one span, exact where only that span ran them', async () => {
  const { p, own } = await spanLinesWorkload();
  const wall = p.profiles['wall.pprof'];
  const { framesOf, top } = { ...devAgentModule(), ...profiler() };
  // Our encoder, read by protobufjs with the pprof schema: the same samples, values and strings.
  const protobuf = require('protobufjs');
  const Profile = protobuf.loadSync(join(fixtures, 'profile.proto')).lookupType('perftools.profiles.Profile');
  const other = Profile.toObject(Profile.decode(gunzipSync(p.raw['wall.pprof'])), { longs: Number, defaults: true });
  assert.equal(other.stringTable[0], '');
  assert.equal(other.sample.length, wall.samples.length);
  assert.deepEqual(other.sample.map((s) => s.value.map(Number)), wall.samples.map((s) => s.values));
  assert.deepEqual(other.sampleType.map((t) => other.stringTable[t.type]), ['sample', 'wall']);
  const names = new Set(other.function.map((f) => other.stringTable[f.name]));
  assert.ok(names.has('ownBurn') && names.has('burnOnEndpoint'));
  const ownLine = lineOf(join(fixtures, 'burn-service.cjs'), 'OWN-LINE');
  const mine = wall.samples.filter((s) => s.labels['span id'] === own);
  assert.ok(mine.length > 0, 'samples carry the span');
  for (const s of mine) assert.equal(s.labels['trace endpoint'], 'GET /own/:n');
  const { entries, weighed } = top(wall, { spanId: own, by: 'line', type: 'wall' });
  const first = entries[0];
  assert.deepEqual([first.name, basename(first.file), first.line], ['ownBurn', 'burn-service.cjs', ownLine], `top line under the span: ${first.key}`);
  assert.ok(first.self > 0.5 * weighed.sum, `the marked line holds most of the span's time (${first.self} of ${weighed.sum})`);
  const onLine = wall.samples.filter((s) => framesOf(wall, s)[0].line === ownLine && framesOf(wall, s)[0].name === 'ownBurn');
  assert.ok(onLine.every((s) => s.labels['span id'] === own && s.labels.lines === 'exact'), 'only this span ran the line, so its split is exact');
  // /burn's spans share one call path (spin under burnOnEndpoint): exact per endpoint, not per span.
  const spin = wall.samples.filter((s) => s.labels['trace endpoint'] === 'GET /burn/:ms' && framesOf(wall, s).some((f) => f.name === 'burnOnEndpoint'));
  assert.ok(spin.length > 0);
  assert.ok(spin.every((s) => s.labels.lines === 'endpoint' || s.labels.lines === 'exact'), spin.map((s) => s.labels.lines).join());
});

// The line numbers read by a decoder that is not ours (nor protobufjs over our schema reading):
// go tool pprof -raw, else protoc --decode with the pprof schema.
const FOREIGN = spawnSync('go', ['version']).status === 0 || spawnSync('protoc', ['--version']).status === 0;
test('span-lines mode read by go tool pprof (or protoc): the marked line holds most of the span\'s time', { skip: !FOREIGN && 'neither go (golang-go) nor protoc (protobuf-compiler) on this machine' }, async () => {
  const { p, own } = await spanLinesWorkload();
  const decoded = foreignDecode(p.raw['wall.pprof']);
  assert.ok(decoded, 'a decoder ran');
  const ownLine = lineOf(join(fixtures, 'burn-service.cjs'), 'OWN-LINE');
  const mine = decoded.samples.filter((s) => s.labels['span id'] === own);
  assert.ok(mine.length > 0, `${decoded.decoder}: samples carry the span id label (labels seen: ${JSON.stringify(decoded.samples.find((s) => Object.keys(s.labels).length > 0)?.labels)})`);
  // Weighed by wall time (the second value), as pprof reads it: the leaf frame of most of the
  // span's time is ownBurn at the marked line of burn-service.cjs.
  const wallOf = (ss) => ss.reduce((a, s) => a + s.values[1], 0);
  const onLine = mine.filter((s) => s.locations[0]?.name === 'ownBurn' && basename(s.locations[0].file) === 'burn-service.cjs' && s.locations[0].line === ownLine);
  assert.ok(wallOf(onLine) > 0.5 * wallOf(mine), `${decoded.decoder}: ${wallOf(onLine)} of ${wallOf(mine)} ns of the span on burn-service.cjs:${ownLine}; leaves: ${[...new Set(mine.map((s) => `${s.locations[0]?.name} ${s.locations[0]?.file}:${s.locations[0]?.line}`))].slice(0, 5).join(', ')}`);
});

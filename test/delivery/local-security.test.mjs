// Nothing another local user can read, plant or redirect: dead-letter folders that are links,
// other users' or writable by others are refused (one message, a private folder used instead,
// nothing written there); a .dlq file of another owner is never adopted, replayed or read, by
// the SDK or by `tracewell dlq`. Each case runs as this user and, when the suite runs as
// root, again as an unprivileged one (nobody, uid 65534), with root as the other user.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentPool } from '../helpers/apps.mjs';
import { cleanup, deadPort, namesSeen, startEmitter } from '../exporter/helpers.mjs';
import { root, until } from '../helpers/common.mjs';

const pool = agentPool();
const made = [];
after(async () => {
  await pool.closeAll();
  cleanup();
  const { rmSync } = await import('node:fs');
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
/** Who the app runs as, and who "another user" is. */
const variants = asRoot
  ? [
      { name: 'as root', uid: undefined, gid: undefined, appUid: 0, other: NOBODY },
      { name: 'as an unprivileged user', uid: NOBODY, gid: NOBODY, appUid: NOBODY, other: 0 },
    ]
  : [{ name: 'as this user', uid: undefined, gid: undefined, appUid: process.getuid?.() ?? -1, other: null }];
const NEEDS_ROOT = 'giving a file or folder to another user needs root; this suite does not run as root';

/** A folder the app's user can reach and write in, as the temp folder is (sticky, world-writable). */
function base() {
  const d = mkdtempSync(join(tmpdir(), 'tw-sec-'));
  chmodSync(d, 0o1777);
  made.push(d);
  return d;
}

/** A folder owned by the app's user (made here as root, then given to it). */
function ownedBy(path, uid, mode = 0o700) {
  mkdirSync(path, { recursive: true });
  if (asRoot) chownSync(path, uid, uid);
  chmodSync(path, mode);
  return path;
}

function emitter(v, env) {
  return startEmitter({ env: { TRACEWELL_EXPORT_RETRIES: '0', ...env }, uid: v.uid, gid: v.gid });
}

/** Makes 20 spans while the agent refuses connections; resolves with the stats once they are on disk (or dropped). */
async function outage(app, prefix) {
  await app.call('traces', { n: 10, prefix });
  await app.call('flush');
  return until(async () => {
    const st = await app.stats();
    return st.deadLetter.spansWritten + st.dropped.deadLetterFailed >= 20 && st;
  }, 'the spans written to a dead-letter file');
}

/** The fallback folder the warning names; it must be private to the app's user. */
function assertFallback(stderr, v) {
  const m = /files are kept in (\S+) instead/.exec(stderr);
  assert.ok(m, stderr);
  const st = lstatSync(m[1]);
  assert.ok(st.isDirectory() && !st.isSymbolicLink());
  assert.equal(st.mode & 0o777, 0o700);
  if (v.appUid >= 0) assert.equal(st.uid, v.appUid);
  return m[1];
}

for (const v of variants) {
  test(`${v.name}: a dead-letter root planted as a link to a world-writable folder is refused, nothing is written there`, async () => {
    const b = base();
    const shared = join(b, 'sec'); // stands for TMPDIR
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const evil = join(shared, 'evil');
    mkdirSync(evil);
    chmodSync(evil, 0o777);
    const planted = join(shared, `tracewell-${v.appUid}`);
    symlinkSync(evil, planted);
    if (asRoot) lchownSync(planted, v.other, v.other);
    const app = await emitter(v, { DD_SERVICE: 'planted', DD_TRACE_AGENT_URL: `http://127.0.0.1:${await deadPort()}`, TMPDIR: shared, HOME: '/nonexistent' });
    try {
      const st = await outage(app, 'p');
      assert.equal(st.deadLetter.spansWritten, 20, 'kept in the private folder instead');
      assert.deepEqual(readdirSync(evil), [], 'nothing written where the link pointed');
      const lines = app.stderr().split('\n').filter((l) => l.includes('TW_DLQ_UNSAFE'));
      assert.equal(lines.length, 1, app.stderr());
      assert.ok(lines[0].includes(`the dead-letter folder ${planted}/dlq/planted is not used:`), lines[0]);
      assert.match(lines[0], asRoot ? /is a symbolic link owned by uid \d+|without the sticky bit/ : /without the sticky bit/);
      assertFallback(app.stderr(), v);
      assert.ok(await app.stats(), 'the app answers throughout');
    } finally {
      await app.kill();
    }
  });

  test(`${v.name}: a dead-letter folder owned by another user is refused, nothing is written there`, { skip: v.other === null && NEEDS_ROOT }, async () => {
    const b = base();
    const dlq = ownedBy(join(b, 'dlq'), v.other, 0o777);
    const app = await emitter(v, { DD_SERVICE: 'theirs', DD_TRACE_AGENT_URL: `http://127.0.0.1:${await deadPort()}`, TRACEWELL_DLQ_DIR: dlq });
    try {
      const st = await outage(app, 't');
      assert.equal(st.deadLetter.spansWritten, 20);
      assert.deepEqual(readdirSync(dlq), []);
      assert.match(app.stderr(), new RegExp(`\\[TW_DLQ_UNSAFE\\] the dead-letter folder ${dlq}/theirs is not used: ${dlq} is owned by uid ${v.other}, not by this process's user \\(uid ${v.appUid}\\)`));
      assertFallback(app.stderr(), v);
    } finally {
      await app.kill();
    }
  });

  test(`${v.name}: a group-writable dead-letter folder is refused`, async () => {
    const b = base();
    const dlq = ownedBy(join(b, 'dlq'), v.appUid, 0o770);
    const app = await emitter(v, { DD_SERVICE: 'groupw', DD_TRACE_AGENT_URL: `http://127.0.0.1:${await deadPort()}`, TRACEWELL_DLQ_DIR: dlq });
    try {
      await outage(app, 'g');
      assert.deepEqual(readdirSync(dlq), []);
      assert.match(app.stderr(), new RegExp(`\\[TW_DLQ_UNSAFE\\] the dead-letter folder ${dlq}/groupw is not used: ${dlq} is writable by group or others \\(mode 0770\\)`));
      assertFallback(app.stderr(), v);
    } finally {
      await app.kill();
    }
  });

  test(`${v.name}: a .dlq file of another owner is neither adopted nor replayed, by the SDK or by tracewell dlq`, { skip: v.other === null && NEEDS_ROOT }, async () => {
    const b = base();
    const dlq = ownedBy(join(b, 'dlq'), v.appUid);
    const port = await deadPort();
    // A process of the service leaves a real file behind (SIGKILL: no clean-up)...
    const first = await emitter(v, { DD_SERVICE: 'svc', DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}`, TRACEWELL_DLQ_DIR: dlq });
    await outage(first, 'planted');
    await first.kill('SIGKILL');
    const folder = join(dlq, 'svc');
    const left = readdirSync(folder).filter((f) => f.endsWith('.dlq'));
    assert.ok(left.length > 0);
    // ...and another user now owns it (and its owner record): as if they had planted it.
    for (const f of readdirSync(folder)) chownSync(join(folder, f), v.other, v.other);

    const agent = await pool.newAgent({ port });
    const second = await emitter(v, { DD_SERVICE: 'svc', DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: dlq });
    try {
      await second.call('traces', { n: 2, prefix: 'live' });
      await second.call('flush');
      await until(() => namesSeen(agent, 'live-').size === 4, 'the live spans');
      await until(() => /TW_DLQ_UNSAFE\] .*\.dlq is owned by uid \d+, not by this process's user .*: it is not read or sent/.test(second.stderr()), 'the refusal', 15_000);
      assert.equal((await second.stats()).deadLetter.filesRefused, left.length);
      assert.equal(namesSeen(agent, 'planted-').size, 0, 'nothing of the planted file reached the agent');
      for (const f of left) assert.equal(statSync(join(folder, f)).uid, v.other, `${f} left where it was`);
    } finally {
      await second.kill();
    }
    // The CLI makes the same check: it names the file and does not read or send it.
    const cli = await new Promise((resolve) =>
      execFile(process.execPath, [join(root, 'bin', 'tracewell.js'), 'dlq', 'replay', dlq, '--agent', agent.url], { uid: v.uid, gid: v.gid, env: { PATH: process.env.PATH } }, (err, stdout) => resolve({ code: err?.code ?? 0, stdout })),
    );
    assert.equal(cli.code, 1, cli.stdout);
    assert.match(cli.stdout, new RegExp(`refused: ${folder}/\\S+\\.dlq is owned by uid ${v.other}, not by this process's user \\(uid ${v.appUid}\\): not read`));
    assert.equal(namesSeen(agent, 'planted-').size, 0);
    for (const f of left) renameSync(join(folder, f), join(folder, f)); // still there
  });
}

test('a group-writable profiling folder is refused: no profile file is written there, the loss is counted', async () => {
  const { fixtures, runNode } = await import('../profiler/helpers.mjs');
  const dir = join(base(), 'profiles');
  mkdirSync(dir);
  chmodSync(dir, 0o770);
  const r = await runNode(join(fixtures, 'hot.cjs'), { env: { DD_PROFILING_ENABLED: 'true', TRACEWELL_PROFILING_DIR: dir, TRACEWELL_PROFILING_UPLOAD: 'false', PROFILE_MS: '500' } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(dir), []);
  assert.match(r.stderr, new RegExp(`\\[TW_PROFILE_FAILED\\] the profiling folder ${dir} is not used: ${dir} is writable by group or others \\(mode 0770\\)`));
});

test('a probe file others can write is not used (one message), and the same check runs when it changes; the app serves throughout', async () => {
  const { startService } = await import('../helpers/apps.mjs');
  const { lineOf, waitForProbe, postJson, HAS_LIVE_EDIT } = await import('../dynamic/helpers.mjs');
  const { writeFileSync } = await import('node:fs');
  const dir = join(base(), 'probes');
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  const file = join(dir, 'probes.txt');
  const line = lineOf('probes/members.mjs', 'esm');
  const probe = `probes/members.mjs:${line} member.plan`;
  writeFileSync(file, probe + '\n', { mode: 0o666 });
  chmodSync(file, 0o666);
  const agent = await pool.newAgent();
  const svc = await startService('probes/members.mjs', { agentUrl: agent.url, env: { TRACEWELL_PROBES_FILE: file, TRACEWELL_PROBE_BUDGET_MS: '1000', TRACEWELL_DLQ_DIR: join(dir, 'dlq') } });
  try {
    await until(() => /TW_PROBE_ERROR\] the probe file .* is not used: .* is writable by group or others \(mode 0666\)/.test(svc.stderr()), 'the refusal');
    assert.deepEqual((await svc.stats()).probes.statuses, [], 'no probe from it');
    assert.equal((await postJson(svc.url, { name: 'Ada', plan: 'gold' })).body.label, 'Ada (gold)');
    // Made private: read, and its probe defined (placed where V8 can still change loaded code;
    // on Node 26 the module has loaded, so the probe reports LoadedBeforeProbe: the file was read).
    chmodSync(file, 0o600);
    writeFileSync(file, probe + '\n\n');
    if (HAS_LIVE_EDIT) await waitForProbe(svc, probe, ['INSTALLED', 'EMITTING']);
    else assert.equal((await waitForProbe(svc, probe, ['ERROR'])).status.errorType, 'LoadedBeforeProbe');
    // Opened to others again: its probes are removed, said again.
    chmodSync(file, 0o646);
    writeFileSync(file, probe + '\n');
    await until(async () => (await svc.stats()).probes.statuses.length === 0, 'the probe removed');
    // The child's stderr and its stats answer come over different pipes: the line can be read
    // by this process after the answer, so wait for it, then check it was said once more only.
    const refusals = () => svc.stderr().split('\n').filter((l) => l.includes('is not used')).length;
    await until(() => refusals() >= 2, 'the refusal said again');
    assert.equal((await postJson(svc.url, { name: 'Bob', plan: 'free' })).body.label, 'Bob (free)');
    assert.equal(refusals(), 2, svc.stderr());
  } finally {
    await svc.stop();
  }
});

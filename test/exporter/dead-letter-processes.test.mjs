// Dead-letter files and several processes of one service: one file per process (mode 0600),
// never interleaved; files of exited processes adopted by two processes started together, each
// file by exactly one of them, so every span is replayed exactly once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { agentPool, devAgentModule } from '../helpers/apps.mjs';
import { afterBacklogSettles, assertEachOnce, cleanup, deadPort, dlqFiles, dlqRecords, namesSeen, spansReceived, startEmitter, tempDir } from './helpers.mjs';
import { until } from '../helpers/common.mjs';

const pool = agentPool();
after(() => Promise.all([pool.closeAll(), Promise.resolve(cleanup())]));

const SERVICE = 'workers';
const port = await deadPort();
/** Settings of every process of the service, writing to `dir`. */
const envFor = (dir) => ({
  DD_SERVICE: SERVICE,
  DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}`,
  TRACEWELL_DLQ_DIR: dir,
  TRACEWELL_FLUSH_INTERVAL_MS: '600000',
  // Files of 16 KiB: each process leaves a few, so the adopters have several to contend for.
  TRACEWELL_DLQ_MAX_BYTES: '262144',
});
const BURSTS = 8;

/** Two processes writing at once while the agent is down: resolves with them once each wrote every burst. */
async function twoWriters(dir) {
  const workers = await Promise.all([startEmitter({ env: envFor(dir) }), startEmitter({ env: envFor(dir) })]);
  await Promise.all(
    workers.map(async (w, k) => {
      for (let i = 0; i < BURSTS; i++) {
        await w.call('traces', { n: 5, prefix: `w${k}b${i}` });
        await w.call('flush');
      }
      await until(async () => (await w.stats()).deadLetter.payloadsWritten === BURSTS, `worker ${k} wrote ${BURSTS} payloads`);
    }),
  );
  return workers;
}

test('two processes of one service writing at once: a file of its own each, mode 0600, never interleaved', async () => {
  const dir = tempDir();
  const workers = await twoWriters(dir);
  const { decodeTraces } = devAgentModule();
  const files = dlqFiles(dir, SERVICE);
  for (const [k, w] of workers.entries()) {
    const own = files.filter((f) => f.endsWith('.dlq') && f.includes(`-${w.pid}-`));
    assert.ok(own.length >= 2, `worker ${k}: ${own.join()}`);
    assert.ok(files.some((f) => f.startsWith(`${w.pid}-`) && f.endsWith('.owner')), 'an owner file per process');
    const owner = JSON.parse(readFileSync(join(dir, SERVICE, files.find((f) => f.startsWith(`${w.pid}-`) && f.endsWith('.owner'))), 'utf8'));
    assert.equal(owner.pid, w.pid);
    assert.equal(owner.service, SERVICE);
    for (const f of own) {
      assert.equal(statSync(join(dir, SERVICE, f)).mode & 0o777, 0o600, f);
      // Every record of the file is whole and holds only this worker's spans.
      const records = dlqRecords(dir, SERVICE).filter((r) => r.file === f);
      assert.equal(records[0].skippedInFile, 0);
      const names = records.flatMap((r) => decodeTraces(r.body).flat().map((s) => s.name));
      assert.ok(names.length > 0 && names.every((n) => n.startsWith(`w${k}b`)), `${f}: ${names.find((n) => !n.startsWith(`w${k}b`))}`);
    }
  }
  assert.equal(dlqRecords(dir, SERVICE).reduce((a, r) => a + r.items, 0), 2 * BURSTS * 10);
  await Promise.all(workers.map((w) => w.kill('SIGKILL')));
});

test('two processes adopting the files of exited ones at the same time: each file replayed by one of them, every span exactly once', async () => {
  // The files of two processes that exited (killed) while the agent was down.
  const dir = tempDir();
  await Promise.all((await twoWriters(dir)).map((w) => w.kill('SIGKILL')));
  const before = dlqFiles(dir, SERVICE).filter((f) => f.endsWith('.dlq'));
  assert.ok(before.length >= 4, before.join());
  const agent = await pool.newAgent({ port });
  const adopters = await Promise.all([startEmitter({ env: envFor(dir) }), startEmitter({ env: envFor(dir) })]);
  try {
    // Counted once both adopters are done and what the agent received stayed put.
    let stats;
    await afterBacklogSettles(spansReceived(agent), async () => {
      if (dlqFiles(dir, SERVICE).some((f) => f.endsWith('.dlq'))) return false;
      stats = await Promise.all(adopters.map((a) => a.stats()));
      return stats[0].deadLetter.spansReplayed + stats[1].deadLetter.spansReplayed === 2 * BURSTS * 10;
    });
    for (let k = 0; k < 2; k++) {
      for (let i = 0; i < BURSTS; i++) assertEachOnce(namesSeen(agent, `w${k}b${i}-`), `w${k}b${i}`, 5);
    }
    assert.equal(agent.allSpans().length, 2 * BURSTS * 10);
    // The exited owners' files went with their last data file.
    const owners = dlqFiles(dir, SERVICE).filter((f) => f.endsWith('.owner'));
    assert.ok(owners.every((f) => adopters.some((a) => f.startsWith(`${a.pid}-`))), owners.join());
  } finally {
    await Promise.all(adopters.map((a) => a.kill()));
  }
});

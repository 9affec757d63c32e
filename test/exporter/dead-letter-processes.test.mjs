// Dead-letter files and several processes of one service: one file per process (mode 0600),
// never interleaved; files of exited processes adopted by two processes started together, each
// file by exactly one of them, so every span is replayed exactly once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { agentPool, devAgentModule } from '../helpers/apps.mjs';
import { cleanup, deadPort, dlqFiles, dlqRecords, namesSeen, startEmitter, tempDir } from './helpers.mjs';
import { until } from '../helpers/common.mjs';

const pool = agentPool();
after(() => Promise.all([pool.closeAll(), Promise.resolve(cleanup())]));

const SERVICE = 'workers';
const dir = tempDir();
const port = await deadPort();
const env = {
  DD_SERVICE: SERVICE,
  DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}`,
  TRACEWELL_DLQ_DIR: dir,
  TRACEWELL_FLUSH_INTERVAL_MS: '600000',
  // Files of 16 KiB: each process leaves a few, so the adopters have several to contend for.
  TRACEWELL_DLQ_MAX_BYTES: '262144',
};
const BURSTS = 8;

test('two processes of one service writing at once: a file of its own each, mode 0600, never interleaved', async () => {
  const workers = await Promise.all([startEmitter({ env }), startEmitter({ env })]);
  await Promise.all(
    workers.map(async (w, k) => {
      for (let i = 0; i < BURSTS; i++) {
        await w.call('traces', { n: 5, prefix: `w${k}b${i}` });
        await w.call('flush');
      }
      await until(async () => (await w.stats()).deadLetter.payloadsWritten === BURSTS, `worker ${k} wrote ${BURSTS} payloads`);
    }),
  );
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
  const before = dlqFiles(dir, SERVICE).filter((f) => f.endsWith('.dlq'));
  assert.ok(before.length >= 4, before.join());
  const agent = await pool.newAgent({ port });
  const adopters = await Promise.all([startEmitter({ env }), startEmitter({ env })]);
  try {
    await agent.waitFor(() => namesSeen(agent, 'w').size === 2 * BURSTS * 10, 15_000);
    for (let k = 0; k < 2; k++) {
      for (let i = 0; i < BURSTS; i++) {
        const seen = namesSeen(agent, `w${k}b${i}-`);
        assert.equal(seen.size, 10);
        for (const [name, count] of seen) assert.equal(count, 1, `${name} replayed ${count} times`);
      }
    }
    await until(() => dlqFiles(dir, SERVICE).filter((f) => f.endsWith('.dlq')).length === 0, 'every adopted file removed');
    const stats = await Promise.all(adopters.map((a) => a.stats()));
    assert.equal(stats[0].deadLetter.spansReplayed + stats[1].deadLetter.spansReplayed, 2 * BURSTS * 10);
    assert.equal(agent.allSpans().length, 2 * BURSTS * 10);
    // The exited owners' files went with their last data file.
    const owners = dlqFiles(dir, SERVICE).filter((f) => f.endsWith('.owner'));
    assert.ok(owners.every((f) => adopters.some((a) => f.startsWith(`${a.pid}-`))), owners.join());
  } finally {
    await Promise.all(adopters.map((a) => a.kill()));
  }
});

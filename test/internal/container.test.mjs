// The container id sent as Datadog-Container-ID, read from /proc/self/cgroup: parsed from each
// layout, and received by the agent from a process in a real cgroup.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { agentPool } from '../helpers/apps.mjs';
import { cleanup, startEmitter, tempDir } from '../exporter/helpers.mjs';

const require = createRequire(import.meta.url);
const { parseContainerId, containerId } = require('../../dist/cjs/internal/container.js');

const ID = '3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860';

test('cgroup v1, docker: the id from the /docker/<id> lines', () => {
  const cgroup = [
    `13:name=systemd:/docker/${ID}`,
    `12:pids:/docker/${ID}`,
    `11:hugetlb:/docker/${ID}`,
    `10:net_prio:/docker/${ID}`,
    `9:perf_event:/docker/${ID}`,
    `8:net_cls:/docker/${ID}`,
    `7:freezer:/docker/${ID}`,
    `6:devices:/docker/${ID}`,
    `5:memory:/docker/${ID}`,
    `4:blkio:/docker/${ID}`,
    `3:cpuacct:/docker/${ID}`,
    `2:cpu:/docker/${ID}`,
    `1:cpuset:/docker/${ID}`,
    '',
  ].join('\n');
  assert.equal(parseContainerId(cgroup), ID);
  assert.equal(parseContainerId(cgroup.replace(/\n/g, '\r\n')), ID, 'CRLF');
});

test('cgroup v1, kubernetes (cgroupfs and systemd drivers, containerd and cri-o)', () => {
  assert.equal(parseContainerId(`1:cpu:/kubepods/besteffort/pod3d274242-8ee0-11e9-a8a6-1e68d864ef1a/${ID}`), ID);
  assert.equal(parseContainerId(`11:pids:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2d3da189_6407_48e3_9ab6_78188d75e609.slice/cri-containerd-${ID}.scope`), ID);
  assert.equal(parseContainerId(`1:name=systemd:/kubepods/burstable/pod2d3da189-6407-48e3-9ab6-78188d75e609/crio-${ID}`), ID);
  assert.equal(parseContainerId(`1:name=systemd:/system.slice/containerd.service/kubepods-burstable-pod2d3da189_6407_48e3_9ab6_78188d75e609.slice:cri-containerd:${ID}`), ID);
});

test('cgroup v2: the id from a docker-<id>.scope path; a private namespace (0::/) has none', () => {
  assert.equal(parseContainerId(`0::/system.slice/docker-${ID}.scope\n`), ID);
  assert.equal(parseContainerId(`0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`), ID, 'podman');
  assert.equal(parseContainerId('0::/\n'), undefined);
  // Hybrid: v1 controllers beside the v2 line.
  assert.equal(parseContainerId(`12:pids:/docker/${ID}\n0::/`), ID);
});

test('ECS: EC2 and Fargate 1.3 give the container id, Fargate 1.4 the task id form', () => {
  assert.equal(parseContainerId(`9:perf_event:/ecs/haissam-ecs-classic/5a0d5ceddf6c44c1928d367a815d890f/${ID}`), ID);
  assert.equal(parseContainerId(`3:cpu:/ecs/55091c13-b8cf-4801-b527-f4601742204d/${ID}`), ID);
  const fargate14 = [
    '11:perf_event:/ecs/34dc0b5e626f2c5c4c5170e34b10e765/34dc0b5e626f2c5c4c5170e34b10e765-1234567890',
    '1:name=systemd:/ecs/34dc0b5e626f2c5c4c5170e34b10e765/34dc0b5e626f2c5c4c5170e34b10e765-1234567890',
  ].join('\n');
  assert.equal(parseContainerId(fargate14), '34dc0b5e626f2c5c4c5170e34b10e765-1234567890');
  assert.equal(parseContainerId('1:name=systemd:/ecs/34dc0b5e626f2c5c4c5170e34b10e765-1234567890'), '34dc0b5e626f2c5c4c5170e34b10e765-1234567890');
});

test('no container: a host, a systemd session, empty or garbage input', () => {
  for (const cgroup of [
    '',
    '\n',
    '0::/init.scope',
    '0::/user.slice/user-1000.slice/session-2.scope',
    '0::/system.slice/docker.service',
    ['12:pids:/user.slice/user-1000.slice/session-3.scope', '11:cpu,cpuacct:/', '1:name=systemd:/user.slice/user-1000.slice/session-3.scope'].join('\n'),
    `12:pids:/docker/${ID.slice(1)}`,
    `12:pids:/docker/${ID.toUpperCase()}`,
    'not a cgroup file at all',
  ]) {
    assert.equal(parseContainerId(cgroup), undefined, JSON.stringify(cgroup));
  }
});

// End to end: a traced process really in a cgroup named like a container (a cgroup whose
// last path part is a 64-hex id, as docker and containerd name theirs), and the agent reading
// the header. Putting a process into a new cgroup takes root and a writable cgroup hierarchy.
const CGROUP_ID = randomBytes(32).toString('hex');
const cgroupDir = (() => {
  if (process.getuid?.() !== 0) return null;
  for (const base of ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/unified', '/sys/fs/cgroup']) {
    const d = join(base, CGROUP_ID);
    try {
      mkdirSync(d);
      if (existsSync(join(d, 'cgroup.procs'))) return d;
      rmdirSync(d);
    } catch {}
  }
  return null;
})();
const NO_CGROUP = cgroupDir === null && 'cannot make a cgroup here (needs root and a writable cgroup hierarchy): the end-to-end container id is not checked on this machine';
const pool = agentPool();
after(async () => {
  await pool.closeAll();
  cleanup();
  if (cgroupDir !== null) rmdirSync(cgroupDir);
});

test('a traced process in a container: the agent receives its id as Datadog-Container-ID on every trace payload', { skip: NO_CGROUP }, async () => {
  const agent = await pool.newAgent();
  const app = await startEmitter({
    env: { DD_SERVICE: 'in-a-container', DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: tempDir() },
    // The shell moves itself into the cgroup, then becomes the traced process.
    via: ['/bin/sh', '-c', `echo $$ > ${join(cgroupDir, 'cgroup.procs')} && exec "$@"`, 'sh'],
  });
  try {
    const own = readFileSync(`/proc/${app.pid}/cgroup`, 'utf8');
    assert.match(own, new RegExp(`/${CGROUP_ID}$`, 'm'), `the process is in the cgroup ${cgroupDir}: ${own}`);
    await app.call('traces', { n: 3, prefix: 'boxed' });
    await app.call('flush');
    await agent.waitFor(() => agent.allSpans().filter((x) => x.name.startsWith('boxed-')).length === 6, 30_000);
    const sends = agent.requests.filter((r) => /^\/v0\.[45]\/traces$/.test(r.path));
    assert.ok(sends.length > 0);
    assert.deepEqual(sends.map((r) => r.headers['datadog-container-id']), sends.map(() => CGROUP_ID));
  } finally {
    await app.kill();
  }
});

test("a traced process in this machine's own cgroup sends the id found there, or no Datadog-Container-ID when there is none", async () => {
  // This machine's own cgroup path, as the process reads it: a container id in it or not.
  const own = parseContainerId(readFileSync('/proc/self/cgroup', 'utf8'));
  const agent = await pool.newAgent();
  const app = await startEmitter({ env: { DD_SERVICE: 'on-the-host', DD_TRACE_AGENT_URL: agent.url, TRACEWELL_DLQ_DIR: tempDir() } });
  try {
    await app.call('traces', { n: 1, prefix: 'host' });
    await app.call('flush');
    await agent.waitFor(() => agent.allSpans().some((x) => x.name === 'host-0'), 30_000);
    const sent = agent.requests.find((r) => /^\/v0\.[45]\/traces$/.test(r.path));
    assert.equal(sent.headers['datadog-container-id'], own, own === undefined ? 'no container here: no header' : 'this machine is in a container: its id');
  } finally {
    await app.kill();
  }
});

test('containerId() reads /proc/self/cgroup and never throws', () => {
  assert.equal(containerId(), parseContainerId(readFileSync('/proc/self/cgroup', 'utf8')));
});

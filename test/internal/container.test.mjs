// The container id sent as Datadog-Container-ID, read from /proc/self/cgroup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

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

test('containerId() reads /proc/self/cgroup and never throws', () => {
  const id = containerId();
  assert.ok(id === undefined || (typeof id === 'string' && id.length >= 32), String(id));
});

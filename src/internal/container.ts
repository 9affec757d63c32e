/** The container id, from /proc/self/cgroup (cgroup v1 and v2 layouts), when running in one. */
import { readFileSync } from 'node:fs';

const HEX64 = /([0-9a-f]{64})(?:\.scope)?$/;
const TASK = /([0-9a-f]{32}-\d+)$/;
const UUID = /([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.scope)?$/;

export function parseContainerId(cgroup: string): string | undefined {
  for (const line of cgroup.split('\n')) {
    const path = line.slice(line.lastIndexOf(':') + 1).trim();
    for (const part of path.split('/').reverse()) {
      const m = HEX64.exec(part) ?? TASK.exec(part) ?? UUID.exec(part);
      if (m) return m[1];
    }
  }
  return undefined;
}

export function containerId(): string | undefined {
  try {
    return parseContainerId(readFileSync('/proc/self/cgroup', 'utf8'));
  } catch {
    return undefined;
  }
}

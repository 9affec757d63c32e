// Shared by the probe tests: waiting for a probe's status, posting JSON.
import { until } from '../helpers/common.mjs';

/** Polls the service's stats until probe `id` has one of `statuses`; resolves with the stats. */
export async function waitForProbe(svc, id, statuses, timeoutMs = 15_000) {
  let last;
  return until(
    async () => {
      const stats = await svc.stats();
      last = stats.probes.statuses.find((s) => s.id === id);
      return last && statuses.includes(last.status) ? { stats, status: last } : null;
    },
    `probe ${id} to reach ${statuses.join('/')}`,
    timeoutMs,
    40,
    () => `last: ${JSON.stringify(last)}\nstderr:\n${svc.stderr()}`,
  );
}

export function postJson(url, body) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

// Shared by the probe tests: where a marked line is, what this Node line can do, waiting for a
// probe's status, posting JSON.
import Module from 'node:module';
import { compileTs as compile, lineOf as markedLine, until } from '../helpers/common.mjs';

/** In-thread module hooks (Node 22.15+, 24, 26): ES modules get their probes' calls as they load. */
export const HAS_REGISTER_HOOKS = typeof Module.registerHooks === 'function';

/**
 * Whether V8 here can edit a loaded script (Node 20, 22, 24; Node 26 answers "setScriptSource
 * functionality no longer available"): tried in this process the way the SDK tries it.
 */
export const HAS_LIVE_EDIT = await (async () => {
  const { Session } = await import('node:inspector');
  const { Script } = await import('node:vm');
  const session = new Session();
  session.connect();
  let id = null;
  session.on('Debugger.scriptParsed', (m) => {
    if (m.params.url === 'tw-test-live-edit-check') id = m.params.scriptId;
  });
  const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  try {
    await post('Debugger.enable');
    new Script('void 0', { filename: 'tw-test-live-edit-check' }).runInThisContext();
    await post('Debugger.setScriptSource', { scriptId: id, scriptSource: 'void 0;' });
    return true;
  } catch {
    return false;
  } finally {
    await post('Debugger.disable').catch(() => undefined);
    session.disconnect();
  }
})();

/** 1-based line of `// probe: <name>` (or of a marker given whole, `// ...`, or of `{ text }`) in a fixture file. */
export function lineOf(file, name, { text } = {}) {
  return markedLine(file, text ?? (name.startsWith('//') ? name : `// probe: ${name}`));
}

/** A TypeScript file compiled as the probe tests expect it (ES2019, a source map beside it). */
export function compileTs(file, outDir) {
  return compile(file, outDir, { target: 'ES2019' });
}

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

/** Polls `check()` until it is truthy (resolves with its value); a generous outer limit only catches a hang. */
export function waitUntil(check, what, timeoutMs = 30_000) {
  return until(check, what, timeoutMs, 40);
}

export function postJson(url, body) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
}

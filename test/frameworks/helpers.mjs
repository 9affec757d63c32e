// Shared by the framework tests: one dev agent per file, a service started from
// test/fixtures/frameworks in a child process, requests sent, its server spans read back.
import { startService, agentPool } from '../helpers/apps.mjs';

export function frameworkHarness() {
  const pool = agentPool();
  let agent;
  return {
    async agent() {
      agent ??= await pool.newAgent();
      return agent;
    },
    close: () => pool.closeAll(),
    /**
     * Starts `file` with `env`, sends `requests` (paths, or [path, init]), waits for one server
     * span per request, and returns { spans (all of the service), byPath(path), responses, app }.
     */
    async run(file, { service, env = {}, requests }) {
      const a = await this.agent();
      const app = await startService(`frameworks/${file}`, { agentUrl: a.url, env: { DD_SERVICE: service, ...env } });
      try {
        const responses = new Map();
        for (const r of requests) {
          const [path, init] = Array.isArray(r) ? r : [r, undefined];
          const res = await fetch(app.url + path, init);
          responses.set(path, { status: res.status, body: await res.text() });
        }
        const servers = () => a.allSpans().filter((s) => s.service === service && s.meta['span.kind'] === 'server');
        await a.waitFor(() => servers().length >= requests.length, 10_000).catch(() => {
          throw new Error(`${file}: ${servers().length} of ${requests.length} server spans arrived; stderr:\n${app.stderr()}`);
        });
        const spans = a.allSpans().filter((s) => s.service === service);
        const byPath = (p) => {
          const s = servers().find((x) => x.meta['http.url'] === app.url + p);
          if (s === undefined) throw new Error(`no server span for ${p}; seen: ${servers().map((x) => x.meta['http.url']).join(', ')}`);
          return s;
        };
        const stats = await app.stats();
        return { spans, servers: servers(), byPath, responses, app, stderr: app.stderr(), stats };
      } finally {
        await app.stop();
      }
    },
  };
}

/**
 * Origins Tracewell itself talks to (the agent, collectors). Integrations skip requests to
 * them, so our own I/O is never traced.
 */
const origins = new Set<string>();

export function markOwnOrigin(url: string): void {
  try {
    origins.add(new URL(url).origin);
  } catch {
    /* not a URL: nothing to mark */
  }
}

export function isOwnOrigin(origin: string | undefined): boolean {
  return origin !== undefined && origins.size !== 0 && origins.has(origin);
}

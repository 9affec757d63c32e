/**
 * Where DogStatsD datagrams go: host and UDP port from the resolved `dogstatsdUrl`
 * (`udp://host:port`; localhost:8125 when it cannot be read). Shared by the tracer's health
 * metrics and the metric probes.
 */
export function dogstatsdTarget(url: string): { host: string; port: number } {
  try {
    const u = new URL(url);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 8125) };
  } catch {
    return { host: 'localhost', port: 8125 };
  }
}

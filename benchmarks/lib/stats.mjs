// Median and range over rounds, and per-round comparisons: a ratio or difference is taken
// between two variants measured in the same round (same machine state), then summarized.

/** { median, min, max, n } of the finite values; NaNs when there are none. */
export function summarize(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = Math.floor(v.length / 2);
  return { median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, min: v[0], max: v[v.length - 1], n: v.length };
}

/**
 * `a` and `b` are per-round arrays (null where a round is missing); `op(x, y)` is applied to
 * rounds both have, e.g. (x, y) => x / y for a ratio, (x, y) => x - y for a difference.
 */
export function perRound(a, b, op) {
  if (!a || !b) return [];
  const out = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] != null && b[i] != null) out.push(op(a[i], b[i]));
  }
  return out;
}

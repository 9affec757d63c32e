// A bounded latency histogram in whole microseconds: exact below 128 µs, then 64 linear
// sub-buckets per power of two (under 1.6% error), up to ~2^45 µs. Fixed memory whatever
// the request count, so a load generator can record every request.
'use strict';

const EXACT = 128;
const SUB = 64;
const MAX_EXP = 40;

class Histogram {
  constructor() {
    this.counts = new Float64Array(EXACT + MAX_EXP * SUB);
    this.n = 0;
    this.sum = 0;
    this.max = 0;
  }

  /** Records one value in microseconds. */
  record(us) {
    const v = us > 0 ? Math.round(us) : 0;
    this.counts[index(v)]++;
    this.n++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** The value at quantile q (0..1), in microseconds; 0 when empty. */
  quantile(q) {
    if (this.n === 0) return 0;
    const target = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= target) return Math.min(valueAt(i), this.max);
    }
    return this.max;
  }

  /** { p50, p90, p99, max, mean } in milliseconds. */
  summary() {
    const ms = (us) => us / 1000;
    return {
      count: this.n,
      p50: ms(this.quantile(0.5)),
      p90: ms(this.quantile(0.9)),
      p99: ms(this.quantile(0.99)),
      max: ms(this.max),
      mean: this.n ? ms(this.sum / this.n) : 0,
    };
  }
}

function index(v) {
  if (v < EXACT) return v;
  if (v >= 2 ** 31) return EXACT + MAX_EXP * SUB - 1;
  const e = 31 - Math.clz32(v) - 6; // v = m * 2^e with m in [64, 128)
  const m = v >>> e;
  return Math.min(EXACT + (e - 1) * SUB + (m - SUB), EXACT + MAX_EXP * SUB - 1);
}

/** The middle of bucket i. */
function valueAt(i) {
  if (i < EXACT) return i;
  const e = Math.floor((i - EXACT) / SUB) + 1;
  const m = ((i - EXACT) % SUB) + SUB;
  return m * 2 ** e + 2 ** (e - 1);
}

module.exports = { Histogram };

// A log-bucketed latency histogram with fixed boundaries shared by every
// target: 8 buckets per doubling, from about 10 microseconds to about a minute.
//
// Each upper bound is 2^(k/8) seconds rounded to 4 significant digits, and
// the rounded value *is* the bound: what /metrics prints as `le` is exactly
// the number samples were compared against, and neighbours (9% apart) can
// never print the same.

export const BUCKETS_PER_DOUBLING = 8;
/** Names this bucket layout in saved statistics; change it when the bounds change. */
export const BUCKET_LAYOUT = 'log2/8 from 2^(-133/8) s to 64 s, 4 significant digits';
const FIRST_EXPONENT = -133; // 2^(-133/8) s ≈ 10.0 µs
const LAST_EXPONENT = 48; // 2^(48/8) s = 64 s

export const BUCKET_BOUNDS_SECONDS: readonly number[] = Object.freeze(
  Array.from({ length: LAST_EXPONENT - FIRST_EXPONENT + 1 }, (_, i) =>
    Number((2 ** ((FIRST_EXPONENT + i) / BUCKETS_PER_DOUBLING)).toPrecision(4)),
  ),
);

/** Index of the bucket whose (lower, upper] range holds `seconds`; length means +Inf. */
export function bucketIndex(seconds: number): number {
  const bounds = BUCKET_BOUNDS_SECONDS;
  if (!(seconds > bounds[0]!)) return 0;
  let i = Math.ceil(Math.log2(seconds) * BUCKETS_PER_DOUBLING) - FIRST_EXPONENT;
  if (i >= bounds.length) i = bounds.length;
  // The bounds are rounded, so the estimate can be one off either way.
  while (i < bounds.length && seconds > bounds[i]!) i++;
  while (i > 0 && seconds <= bounds[i - 1]!) i--;
  return i;
}

export interface HistogramSnapshot {
  /** Bucket upper bounds (seconds) and cumulative counts, ascending, +Inf excluded. */
  readonly bounds: readonly number[];
  readonly cumulative: readonly number[];
  readonly count: number;
  readonly sumSeconds: number;
}

export class LatencyHistogram {
  // One slot per bound plus one for +Inf.
  readonly #counts = new Float64Array(BUCKET_BOUNDS_SECONDS.length + 1);
  #count = 0;
  #sumSeconds = 0;

  observe(seconds: number): void {
    this.#counts[bucketIndex(seconds)]!++;
    this.#count++;
    this.#sumSeconds += seconds;
  }

  get count(): number {
    return this.#count;
  }

  get sumSeconds(): number {
    return this.#sumSeconds;
  }

  /** Bucket index → count, non-empty buckets only (index BUCKET_BOUNDS_SECONDS.length is +Inf). */
  sparseCounts(): Record<number, number> {
    const out: Record<number, number> = {};
    this.#counts.forEach((c, i) => {
      if (c > 0) out[i] = c;
    });
    return out;
  }

  /** Adds counts saved earlier by sparseCounts(). */
  addCounts(counts: Readonly<Record<number, number>>, sumSeconds: number): void {
    for (const [index, count] of Object.entries(counts)) {
      this.#counts[Number(index)]! += count;
      this.#count += count;
    }
    this.#sumSeconds += sumSeconds;
  }

  /**
   * The buckets worth exporting: every non-empty bucket and the one just below
   * it (so each non-empty bucket's lower edge is exact for histogram_quantile).
   * Counts never decrease, so a bucket once exported stays exported.
   */
  snapshot(): HistogramSnapshot {
    const bounds: number[] = [];
    const cumulative: number[] = [];
    const counts = this.#counts;
    const n = BUCKET_BOUNDS_SECONDS.length; // counts[n] is +Inf
    let running = 0;
    for (let i = 0; i < n; i++) {
      const c = counts[i]!;
      if (c > 0 || counts[i + 1]! > 0) {
        bounds.push(BUCKET_BOUNDS_SECONDS[i]!);
        cumulative.push(running + c);
      }
      running += c;
    }
    return { bounds, cumulative, count: this.#count, sumSeconds: this.#sumSeconds };
  }
}

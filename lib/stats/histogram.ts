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
  // Counts of buckets #lowest .. #lowest + length - 1 only (index
  // BUCKET_BOUNDS_SECONDS.length is +Inf): a target's RTTs fill a few dozen
  // of the 183 buckets, and at 10,000 targets the difference is ~14 MB.
  #counts: Float64Array | undefined;
  #lowest = 0;
  #count = 0;
  #sumSeconds = 0;

  /** Counts a sample; returns its bucket index (the history records it too). */
  observe(seconds: number): number {
    const index = bucketIndex(seconds);
    this.#add(index, 1);
    this.#count++;
    this.#sumSeconds += seconds;
    return index;
  }

  get count(): number {
    return this.#count;
  }

  get sumSeconds(): number {
    return this.#sumSeconds;
  }

  #add(index: number, n: number): void {
    let counts = this.#counts;
    if (!counts || index < this.#lowest || index >= this.#lowest + counts.length) {
      counts = this.#widen(index);
    }
    counts[index - this.#lowest]! += n;
  }

  /** Grows the window to hold `index`, with a little room either side for neighbours to come. */
  #widen(index: number): Float64Array {
    const old = this.#counts;
    const lo = Math.max(0, Math.min(index, old ? this.#lowest : index) - 2);
    const hi = Math.min(
      BUCKET_BOUNDS_SECONDS.length,
      Math.max(index, old ? this.#lowest + old.length - 1 : index) + 2,
    );
    const counts = new Float64Array(hi - lo + 1);
    if (old) counts.set(old, this.#lowest - lo);
    this.#counts = counts;
    this.#lowest = lo;
    return counts;
  }

  #at(index: number): number {
    const counts = this.#counts;
    if (!counts) return 0;
    const i = index - this.#lowest;
    return i >= 0 && i < counts.length ? counts[i]! : 0;
  }

  /** Bucket index → count, non-empty buckets only (index BUCKET_BOUNDS_SECONDS.length is +Inf). */
  sparseCounts(): Record<number, number> {
    const out: Record<number, number> = {};
    this.#counts?.forEach((c, i) => {
      if (c > 0) out[i + this.#lowest] = c;
    });
    return out;
  }

  /** Adds counts saved earlier by sparseCounts(). */
  addCounts(counts: Readonly<Record<number, number>>, sumSeconds: number): void {
    for (const [index, count] of Object.entries(counts)) {
      this.#add(Number(index), count);
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
    const n = BUCKET_BOUNDS_SECONDS.length; // index n is +Inf
    if (this.#counts) {
      const first = Math.max(0, this.#lowest - 1);
      const last = Math.min(n - 1, this.#lowest + this.#counts.length - 1);
      let running = 0;
      for (let i = first; i <= last; i++) {
        const c = this.#at(i);
        if (c > 0 || this.#at(i + 1) > 0) {
          bounds.push(BUCKET_BOUNDS_SECONDS[i]!);
          cumulative.push(running + c);
        }
        running += c;
      }
    }
    return { bounds, cumulative, count: this.#count, sumSeconds: this.#sumSeconds };
  }
}

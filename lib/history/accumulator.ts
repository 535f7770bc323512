// The open period of a target's history: what the probe path adds to. It is
// sparse: the buckets touched this period, in the order first touched, and
// their counts. A period touches few buckets (RTTs of a minute fall in a
// handful of 9%-wide buckets), so finding one is a scan of a few entries,
// and a target at rest holds two empty arrays instead of ~3 kB of dense
// typed arrays (at 10,000 targets, two accumulators each were 90 MB).
// Nothing allocates once the arrays have grown to the period's width.

import { BUCKET_BOUNDS_SECONDS } from '../stats/histogram.js';
import { FIELDS } from './period-ring.js';

/** Bucket indices 0 .. length (the last one is +Inf). */
export const BUCKET_SLOTS = BUCKET_BOUNDS_SECONDS.length + 1;

export const SENT = FIELDS.indexOf('sent');
export const LOST = FIELDS.indexOf('lost');
export const LATE = FIELDS.indexOf('late');
export const DUPLICATES = FIELDS.indexOf('duplicates');
export const ERRORS = FIELDS.indexOf('errors');

export class Accumulator {
  readonly counts: number[] = FIELDS.map(() => 0);
  /** Bucket indices touched this period, in first-touched order. */
  readonly #indices: number[] = [];
  /** Their counts, in the same order. */
  readonly #bucketCounts: number[] = [];

  add(field: number, n = 1): void {
    this.counts[field]! += n;
  }

  addBucket(index: number, n = 1): void {
    const indices = this.#indices;
    for (let k = 0; k < indices.length; k++) {
      if (indices[k] === index) {
        this.#bucketCounts[k]! += n;
        return;
      }
    }
    indices.push(index);
    this.#bucketCounts.push(n);
  }

  get empty(): boolean {
    return this.#indices.length === 0 && this.counts.every((c) => c === 0);
  }

  /**
   * Hands the contents to `take` as counters and ascending (index, count)
   * pairs in the scratch arrays, then clears. Runs once a period per target.
   */
  drain(
    take: (
      counts: ArrayLike<number>,
      indices: Uint8Array,
      bucketCounts: Float64Array,
      n: number,
    ) => void,
  ): void {
    const n = this.#sortInto(SCRATCH_INDICES, SCRATCH);
    take(this.counts, SCRATCH_INDICES, SCRATCH, n);
    // length = 0 keeps the arrays' capacity: the next period reuses it.
    this.#indices.length = 0;
    this.#bucketCounts.length = 0;
    this.counts.fill(0);
  }

  /** Counters and ascending (index, count) pairs, without clearing: for readers, not the probe path. */
  peek(): { counts: number[]; pairs: number[] } {
    const indices = new Uint8Array(BUCKET_SLOTS);
    const bucketCounts = new Float64Array(BUCKET_SLOTS);
    const n = this.#sortInto(indices, bucketCounts);
    const pairs: number[] = [];
    for (let k = 0; k < n; k++) pairs.push(indices[k]!, bucketCounts[k]!);
    return { counts: [...this.counts], pairs };
  }

  /** Adds another accumulator's contents (a target's history handed over). */
  absorb(other: Accumulator): void {
    other.drain((counts, indices, bucketCounts, n) => {
      for (let f = 0; f < counts.length; f++) this.counts[f]! += counts[f]!;
      for (let k = 0; k < n; k++) this.addBucket(indices[k]!, bucketCounts[k]);
    });
  }

  /** The touched buckets into `indices`/`bucketCounts`, ascending by index (insertion sort: n is small); returns n. */
  #sortInto(indices: Uint8Array, bucketCounts: Float64Array): number {
    const n = this.#indices.length;
    for (let k = 0; k < n; k++) {
      const index = this.#indices[k]!;
      const count = this.#bucketCounts[k]!;
      let at = k;
      while (at > 0 && indices[at - 1]! > index) {
        indices[at] = indices[at - 1]!;
        bucketCounts[at] = bucketCounts[at - 1]!;
        at--;
      }
      indices[at] = index;
      bucketCounts[at] = count;
    }
    return n;
  }
}

// One pair of scratch arrays for every drain: drains run one at a time, on one thread.
const SCRATCH_INDICES = new Uint8Array(BUCKET_SLOTS);
const SCRATCH = new Float64Array(BUCKET_SLOTS);

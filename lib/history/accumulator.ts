// The open period of a target's history: what the probe path adds to. Every
// method is O(1) and allocates nothing; the dense bucket array plus a list
// of the buckets touched lets a close visit only those.

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
  readonly counts = new Float64Array(FIELDS.length);
  readonly #buckets = new Float64Array(BUCKET_SLOTS);
  readonly #touched = new Uint8Array(BUCKET_SLOTS);
  #nTouched = 0;

  add(field: number, n = 1): void {
    this.counts[field]! += n;
  }

  addBucket(index: number, n = 1): void {
    if (this.#buckets[index] === 0) this.#touched[this.#nTouched++] = index;
    this.#buckets[index]! += n;
  }

  get empty(): boolean {
    return this.#nTouched === 0 && this.counts.every((c) => c === 0);
  }

  /**
   * Hands the contents to `take` as counters and ascending (index, count)
   * pairs in the scratch arrays, then clears. Runs once a period per target.
   */
  drain(
    take: (
      counts: Float64Array,
      indices: Uint8Array,
      bucketCounts: Float64Array,
      n: number,
    ) => void,
  ): void {
    const n = this.#nTouched;
    const indices = this.#touched.subarray(0, n).sort();
    for (let k = 0; k < n; k++) SCRATCH[k] = this.#buckets[indices[k]!]!;
    take(this.counts, indices, SCRATCH, n);
    for (let k = 0; k < n; k++) this.#buckets[indices[k]!] = 0;
    this.#nTouched = 0;
    this.counts.fill(0);
  }

  /** Counters and ascending (index, count) pairs, without clearing: for readers, not the probe path. */
  peek(): { counts: number[]; pairs: number[] } {
    const indices = [...this.#touched.subarray(0, this.#nTouched)].sort((a, b) => a - b);
    const pairs: number[] = [];
    for (const i of indices) pairs.push(i, this.#buckets[i]!);
    return { counts: [...this.counts], pairs };
  }

  /** Adds another accumulator's contents (a target's history handed over). */
  absorb(other: Accumulator): void {
    other.drain((counts, indices, bucketCounts, n) => {
      for (let f = 0; f < counts.length; f++) this.counts[f]! += counts[f]!;
      for (let k = 0; k < n; k++) this.addBucket(indices[k]!, bucketCounts[k]);
    });
  }
}

// One scratch array for every drain: drains run one at a time, on one thread.
const SCRATCH = new Float64Array(BUCKET_SLOTS);

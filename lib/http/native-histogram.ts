// Our latency histogram as a Prometheus native histogram, bucket for bucket.
//
// A native histogram of schema s has 2^s buckets per doubling; its bucket i
// holds (2^((i-1)/2^s), 2^(i/2^s)]. Ours has 8 buckets per doubling and our
// bucket k (k ≥ 1) holds (b[k-1], b[k]] with b[k] = 2^((k + OFFSET)/8)
// rounded to 4 significant digits, OFFSET = -133. So our bucket k is native
// bucket k + OFFSET of schema 3, with no re-bucketing. Our bucket 0 holds
// everything up to b[0] ≈ 9.9 µs, which has no lower edge: it becomes the
// zero bucket, with the zero threshold at 2^(OFFSET/8), the exact lower edge
// of native bucket OFFSET + 1. docs/MEASUREMENT.md says what the rounding of
// b[k] means for a sample right at a boundary.

import {
  BUCKET_BOUNDS_SECONDS,
  BUCKETS_PER_DOUBLING,
  type HistogramSnapshot,
} from '../stats/histogram.js';
import type { BucketSpan } from './metrics-proto.js';

export const NATIVE_SCHEMA = 3;
if (2 ** NATIVE_SCHEMA !== BUCKETS_PER_DOUBLING) {
  throw new Error('the native histogram schema no longer matches the bucket layout');
}

/** Native index of our bucket 0's upper bound (-133): our bucket k is native bucket k + this. */
export const NATIVE_INDEX_OFFSET = Math.round(
  Math.log2(BUCKET_BOUNDS_SECONDS[0]!) * BUCKETS_PER_DOUBLING,
);

/** The zero bucket's upper edge: exactly 2^(-133/8) s, where native bucket -132 starts. */
export const ZERO_THRESHOLD_SECONDS = 2 ** (NATIVE_INDEX_OFFSET / BUCKETS_PER_DOUBLING);

const INDEX_OF_BOUND: ReadonlyMap<number, number> = new Map(
  BUCKET_BOUNDS_SECONDS.map((bound, k) => [bound, k]),
);

// Two empty buckets cost two one-byte deltas; a new span costs about four
// bytes. client_golang makes the same trade.
const MAX_GAP_IN_SPAN = 2;

export interface NativeBuckets {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  positiveSpan: BucketSpan[];
  positiveDelta: number[];
}

/**
 * The native form of a histogram snapshot. Every non-empty bucket is among the
 * snapshot's bounds, so consecutive cumulative counts give each bucket's own.
 * Samples over our last bound (64 s; timeouts stop at 60 s, so none in
 * practice) go to the native bucket just above it, 64 s to 2^(49/8) s.
 */
export function nativeBuckets(h: HistogramSnapshot): NativeBuckets {
  let zeroCount = 0;
  const indices: number[] = [];
  const counts: number[] = [];
  let below = 0;
  for (let j = 0; j < h.bounds.length; j++) {
    const count = h.cumulative[j]! - below;
    below = h.cumulative[j]!;
    if (count === 0) continue;
    const k = INDEX_OF_BOUND.get(h.bounds[j]!);
    if (k === undefined) throw new Error(`${h.bounds[j]} is not one of our bucket bounds`);
    if (k === 0) {
      zeroCount += count;
    } else {
      indices.push(k + NATIVE_INDEX_OFFSET);
      counts.push(count);
    }
  }
  if (h.count > below) {
    indices.push(BUCKET_BOUNDS_SECONDS.length + NATIVE_INDEX_OFFSET);
    counts.push(h.count - below);
  }

  const positiveSpan: BucketSpan[] = [];
  const positiveDelta: number[] = [];
  let previousIndex = 0;
  let previousCount = 0; // deltas run across spans, from 0 before the first bucket
  for (let j = 0; j < indices.length; j++) {
    const index = indices[j]!;
    const gap = index - previousIndex - 1;
    const span = positiveSpan[positiveSpan.length - 1];
    if (span === undefined || gap > MAX_GAP_IN_SPAN) {
      // The first span's offset is its starting index; later ones', the gap.
      positiveSpan.push({ offset: span === undefined ? index : gap, length: 1 });
    } else {
      for (let g = 0; g < gap; g++) {
        positiveDelta.push(-previousCount);
        previousCount = 0;
      }
      span.length += gap + 1;
    }
    positiveDelta.push(counts[j]! - previousCount);
    previousCount = counts[j]!;
    previousIndex = index;
  }
  return {
    schema: NATIVE_SCHEMA,
    zeroThreshold: ZERO_THRESHOLD_SECONDS,
    zeroCount,
    positiveSpan,
    positiveDelta,
  };
}

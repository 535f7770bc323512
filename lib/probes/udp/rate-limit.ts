// Answers per source address per second: a token bucket per address, of
// `ratePerS` tokens refilled continuously, holding at most one second's
// worth. Pure: the caller passes a monotonic clock.
//
// Memory is bounded at `maxSources` buckets. A bucket that has refilled is
// the same as no bucket, so buckets are kept in order of last use and the
// oldest is dropped for a new one: while fewer than `maxSources` sources are
// busy within one second, nothing changes; beyond that, a source whose
// bucket was dropped starts afresh with a full second's worth.

export interface RateLimiterOptions {
  readonly ratePerS: number;
  /** Default 16384 sources (about 2 MB at most). */
  readonly maxSources?: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  readonly ratePerS: number;
  readonly maxSources: number;
  /** Insertion order is recency order: a bucket is re-inserted on each use. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(opts: RateLimiterOptions) {
    if (!(opts.ratePerS > 0)) throw new RangeError('ratePerS must be positive');
    this.ratePerS = opts.ratePerS;
    this.maxSources = opts.maxSources ?? 16_384;
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `source` at `nowMs`; false when its bucket is empty. */
  take(source: string, nowMs: number): boolean {
    let bucket = this.#buckets.get(source);
    if (bucket) {
      this.#buckets.delete(source);
      const refill = (Math.max(0, nowMs - bucket.atMs) * this.ratePerS) / 1000;
      bucket.tokens = Math.min(this.ratePerS, bucket.tokens + refill);
      bucket.atMs = nowMs;
    } else {
      if (this.#buckets.size >= this.maxSources) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
      bucket = { tokens: this.ratePerS, atMs: nowMs };
    }
    this.#buckets.set(source, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

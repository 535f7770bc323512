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

export interface CheckBudgetOptions {
  /** MAC checks per second, from all sources together. */
  readonly perS: number;
  /** Sources that proved the key within this long draw on the reserve. Default 60 s. */
  readonly provenForMs?: number;
  /** Proven sources remembered at most (oldest forgotten first). Default 4096. */
  readonly maxProven?: number;
}

// The last quarter of the bucket is for proven sources only.
const RESERVE_FRACTION = 0.25;

/**
 * The peer responder's budget of MAC checks, spent before the MAC (which
 * costs microseconds; this a map look-up): one token bucket of `perS`
 * tokens refilled continuously, holding one second's worth, for every
 * datagram of our form from anywhere. A source that proved the key lately
 * may empty it; any other only down to the reserve, so a flood from forged
 * sources is dropped uncounted by the MAC while peers known to the
 * responder are still answered. Pure: the caller passes a monotonic clock.
 */
export class CheckBudget {
  readonly perS: number;
  readonly #provenForMs: number;
  readonly #maxProven: number;
  readonly #reserve: number;
  /** Proven sources and when they last proved it; insertion order is recency order. */
  readonly #proven = new Map<string, number>();
  #tokens: number;
  #atMs: number | undefined;

  constructor(opts: CheckBudgetOptions) {
    if (!(opts.perS > 0)) throw new RangeError('perS must be positive');
    this.perS = opts.perS;
    this.#provenForMs = opts.provenForMs ?? 60_000;
    this.#maxProven = opts.maxProven ?? 4096;
    this.#reserve = Math.min(this.perS * RESERVE_FRACTION, this.perS - 1);
    this.#tokens = this.perS;
  }

  /** Takes a check for a datagram from `source` at `nowMs`; false: drop it unchecked. */
  take(source: string, nowMs: number): boolean {
    if (this.#atMs !== undefined) {
      const refill = (Math.max(0, nowMs - this.#atMs) * this.perS) / 1000;
      this.#tokens = Math.min(this.perS, this.#tokens + refill);
    }
    this.#atMs = nowMs;
    const provenAt = this.#proven.get(source);
    const floor =
      provenAt !== undefined && nowMs - provenAt <= this.#provenForMs ? 0 : this.#reserve;
    if (this.#tokens - 1 < floor) return false;
    this.#tokens -= 1;
    return true;
  }

  /** `source` sent a datagram whose MAC proved the key. */
  proved(source: string, nowMs: number): void {
    this.#proven.delete(source);
    if (this.#proven.size >= this.#maxProven) {
      const oldest = this.#proven.keys().next();
      if (!oldest.done) this.#proven.delete(oldest.value);
    }
    this.#proven.set(source, nowMs);
  }
}

// What the receiving end of a direction counts, fed with each read's size
// and time: bytes are counted from the first read after the warm-up to the
// last read within the measured duration, and divided by the time between
// those two reads, so neither the first read's backlog nor a read cut by
// the window's edge skews the rate. Pure: the caller passes the time.

import type { Measured } from './protocol.js';

export class Meter {
  readonly #warmupMs: number;
  readonly #durationMs: number;
  #firstMs: number | undefined;
  #total = 0;
  /** The read just before the window opened: where counting starts. */
  #startMs: number | undefined;
  #startBytes = 0;
  /** The last read within the window. */
  #endMs: number | undefined;
  #endBytes = 0;
  #lastMs = 0;

  constructor(warmupMs: number, durationMs: number) {
    this.#warmupMs = warmupMs;
    this.#durationMs = durationMs;
  }

  /** `bytes` arrived in one read at `atMs`. */
  add(atMs: number, bytes: number): void {
    if (this.#firstMs === undefined) this.#firstMs = atMs;
    const opens = this.#firstMs + this.#warmupMs;
    const closes = opens + this.#durationMs;
    if (atMs > opens && atMs <= closes) {
      if (this.#startMs === undefined) {
        this.#startMs = this.#lastMs;
        this.#startBytes = this.#total;
      }
      this.#endMs = atMs;
      this.#endBytes = this.#total + bytes;
    }
    this.#total += bytes;
    this.#lastMs = atMs;
  }

  /** Every byte read, warm-up included. */
  get totalBytes(): number {
    return this.#total;
  }

  /** Whether the measured duration has passed (by the time of the last read). */
  done(atMs: number): boolean {
    return this.#firstMs !== undefined && atMs > this.#firstMs + this.#warmupMs + this.#durationMs;
  }

  /** Bytes and time counted; zero time when no read fell in the window. */
  measured(): Measured {
    if (this.#startMs === undefined || this.#endMs === undefined) return { bytes: 0, micros: 0 };
    return {
      bytes: this.#endBytes - this.#startBytes,
      micros: Math.round((this.#endMs - this.#startMs) * 1000),
    };
  }
}

/** Bits per second of a measurement; undefined when nothing was counted over a usable time. */
export function bitsPerSecond(m: Measured): number | undefined {
  // Under 100 ms the window says more about two reads than about the link.
  if (m.micros < 100_000) return undefined;
  return (m.bytes * 8) / (m.micros / 1e6);
}

/** The median of some numbers (the mean of the middle two for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

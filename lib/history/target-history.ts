// One target's history: a record per minute for 48 hours and per hour for
// 90 days. The probe path adds to the open minute (Accumulator); a timer
// closes minutes (closeMinute), and each closed minute is added to the open
// hour, which closes when a minute of a later hour arrives. Hours are thus
// derived from minutes, so a restart restores the open hour by replaying
// the saved minutes of that hour (replayHours).

import { Accumulator } from './accumulator.js';
import { PeriodRing, type PeriodRecord, type RingLimits } from './period-ring.js';

export const MINUTE_S = 60;
export const HOUR_S = 3600;
export const MINUTE_SLOTS = 48 * 60;
export const HOUR_SLOTS = 90 * 24;

// Byte caps chosen so that one target's full history stays under 200 kB
// (2880 × 4 + 70 kB + 2160 × 4 + 104 kB = 198 kB): room for about 24 bytes
// a minute (counters and ~15 buckets) and 48 bytes an hour (~20 buckets).
// A typical target needs about 15 and 38 (README, "History"); a target whose
// RTTs spread wider keeps a shorter span instead.
export const MINUTE_LIMITS: RingLimits = { maxSlots: MINUTE_SLOTS, maxBytes: 70 * 1024 };
export const HOUR_LIMITS: RingLimits = { maxSlots: HOUR_SLOTS, maxBytes: 104 * 1024 };

export type Resolution = 'minute' | 'hour';

const NO_HOURS: number[] = [];

export class TargetHistory {
  /** The open minute: the probe path adds here. */
  readonly current = new Accumulator();
  readonly #openHour = new Accumulator();
  #openHourPeriod: number | undefined;
  readonly minutes = new PeriodRing(MINUTE_LIMITS);
  readonly hours = new PeriodRing(HOUR_LIMITS);
  /** Hours closed since takeClosedHours() last ran: their records need saving. */
  #closedHours: number[] = [];

  /**
   * Closes the open minute as minute number `minute` (Unix seconds / 60).
   * Returns what it counted, the record to save (undefined when nothing
   * was): only this part, since a minute closed early by a stop and then
   * again after the restart is saved as two records that add up.
   */
  closeMinute(minute: number): PeriodRecord | undefined {
    let closed: PeriodRecord | undefined;
    this.current.drain((counts, indices, bucketCounts, n) => {
      if (this.addMinute(minute, counts, indices, bucketCounts, n)) {
        const pairs: number[] = [];
        for (let k = 0; k < n; k++) pairs.push(indices[k]!, bucketCounts[k]!);
        closed = { period: minute, counts: Array.from(counts), pairs };
      }
    });
    return closed;
  }

  /** Adds a minute record, closed now or restored; it is also added to its hour. False if empty. */
  addMinute(
    minute: number,
    counts: ArrayLike<number>,
    indices: ArrayLike<number>,
    bucketCounts: ArrayLike<number>,
    n: number,
  ): boolean {
    let empty = n === 0;
    for (let f = 0; f < counts.length && empty; f++) if (counts[f]! > 0) empty = false;
    if (empty) return false; // nothing measured: no record (a gap, not zeros)
    this.minutes.add(minute, counts, indices, bucketCounts, n);
    const hour = Math.floor(minute / 60);
    if (this.#openHourPeriod !== undefined && hour > this.#openHourPeriod) this.#closeHour();
    if (this.#openHourPeriod === undefined || hour > this.#openHourPeriod)
      this.#openHourPeriod = hour;
    for (let f = 0; f < counts.length; f++) this.#openHour.add(f, counts[f]);
    for (let k = 0; k < n; k++) this.#openHour.addBucket(indices[k]!, bucketCounts[k]);
    return true;
  }

  #closeHour(): void {
    const hour = this.#openHourPeriod!;
    this.#openHour.drain((counts, indices, bucketCounts, n) =>
      this.hours.add(hour, counts, indices, bucketCounts, n),
    );
    this.#openHourPeriod = undefined;
    this.#closedHours.push(hour);
  }

  /**
   * The hours closed since the last call. An hour closes when a minute of a
   * later hour arrives, which after a gap (a stop overnight) can be any
   * later hour, even of another day: the saver asks rather than guesses.
   */
  takeClosedHours(): number[] {
    if (this.#closedHours.length === 0) return NO_HOURS;
    const hours = this.#closedHours;
    this.#closedHours = [];
    return hours;
  }

  /** A closed hour record read back from the store. */
  restoreHour(hour: number, counts: number[], pairs: number[]): void {
    const { indices, bucketCounts } = unpair(pairs);
    this.hours.add(hour, counts, indices, bucketCounts, indices.length);
  }

  /**
   * A minute record read back from the store. Minutes of hours already
   * closed (restored with restoreHour) only go into the minute ring.
   */
  restoreMinute(minute: number, counts: number[], pairs: number[]): void {
    const { indices, bucketCounts } = unpair(pairs);
    const lastHour = this.hours.lastPeriod;
    if (lastHour !== undefined && Math.floor(minute / 60) <= lastHour) {
      this.minutes.add(minute, counts, indices, bucketCounts, indices.length);
    } else {
      this.addMinute(minute, counts, indices, bucketCounts, indices.length);
    }
  }

  /** Takes over what `other` counted in its open minute (a target re-added, or restored). */
  absorbCurrent(other: TargetHistory): void {
    this.current.absorb(other.current);
  }

  /** Records of `resolution` whose periods lie in [from, to], oldest first. */
  *records(resolution: Resolution, from: number, to: number): Generator<PeriodRecord> {
    const ring = resolution === 'minute' ? this.minutes : this.hours;
    const first = ring.firstPeriod;
    const last = ring.lastPeriod;
    if (first === undefined || last === undefined) return;
    for (let p = Math.max(from, first); p <= Math.min(to, last); p++) {
      const r = ring.get(p);
      if (r) yield r;
    }
  }

  /**
   * The period still open, as a record: the open minute, or the open hour
   * with the open minute in it. undefined when nothing was counted in it.
   */
  openRecord(resolution: Resolution, period: number): PeriodRecord | undefined {
    const parts = [this.current.peek()];
    if (resolution === 'hour' && this.#openHourPeriod === period) parts.push(this.#openHour.peek());
    // Closed early by a stop within this period, then restored: part of it too.
    const closed = (resolution === 'minute' ? this.minutes : this.hours).get(period);
    if (closed) parts.push(closed);
    const counts = parts[0]!.counts.map((_, f) =>
      parts.reduce((sum, part) => sum + (part.counts[f] ?? 0), 0),
    );
    const merged = new Map<number, number>();
    for (const part of parts)
      for (let k = 0; k < part.pairs.length; k += 2)
        merged.set(part.pairs[k]!, (merged.get(part.pairs[k]!) ?? 0) + part.pairs[k + 1]!);
    if (merged.size === 0 && counts.every((c) => c === 0)) return undefined;
    const pairs = [...merged].sort((a, b) => a[0] - b[0]).flat();
    return { period, counts, pairs };
  }

  get heldBytes(): number {
    return this.minutes.heldBytes + this.hours.heldBytes;
  }
}

function unpair(pairs: number[]): { indices: number[]; bucketCounts: number[] } {
  const indices: number[] = [];
  const bucketCounts: number[] = [];
  for (let k = 0; k + 1 < pairs.length; k += 2) {
    indices.push(pairs[k]!);
    bucketCounts.push(pairs[k + 1]!);
  }
  return { indices, bucketCounts };
}

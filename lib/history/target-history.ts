// One target's recent history: a record per minute and per hour, for the
// recent span (RECENT_LIMITS; older records are in the store). The probe path adds to the open minute (Accumulator); a timer
// closes minutes (closeMinute), and each closed minute is added to the open
// hour, which closes when a minute of a later hour arrives. Hours are thus
// derived from minutes, so a restart restores the open hour by replaying
// the saved minutes of that hour (replayHours).

import { Accumulator } from './accumulator.js';
import { sumRecords } from './merge-records.js';
import { PeriodRing, type PeriodRecord, type RingLimits } from './period-ring.js';

export const MINUTE_S = 60;
export const HOUR_S = 3600;
/** The default retention in the store (lib/history/retention.ts): 48 h of minutes, 90 days of hours. */
export const MINUTE_SLOTS = 48 * 60;
export const HOUR_SLOTS = 90 * 24;

// Memory holds the recent span only (the store holds the rest, read when a
// page asks): two hours of minutes, for the sparklines' last hour and the
// minutes not saved yet, and a day of hours. Byte caps room for ~24 bytes a
// minute and ~48 an hour (a typical target needs about 15 and 38); a target
// whose RTTs spread wider keeps a shorter span in memory instead.
export const RECENT_MINUTES = 120;
export const RECENT_HOURS = 26;

export interface HistoryLimits {
  readonly minutes: RingLimits;
  readonly hours: RingLimits;
}

export const RECENT_LIMITS: HistoryLimits = {
  minutes: { maxSlots: RECENT_MINUTES, maxBytes: RECENT_MINUTES * 24 },
  hours: { maxSlots: RECENT_HOURS, maxBytes: RECENT_HOURS * 48 },
};

/** The whole default retention in memory, as earlier releases held it (benchmarks seed stores with it). */
export const FULL_LIMITS: HistoryLimits = {
  minutes: { maxSlots: MINUTE_SLOTS, maxBytes: 70 * 1024 },
  hours: { maxSlots: HOUR_SLOTS, maxBytes: 104 * 1024 },
};

export type Resolution = 'minute' | 'hour';

const NO_HOURS: number[] = [];

export class TargetHistory {
  /** The open minute: the probe path adds here. */
  readonly current = new Accumulator();
  readonly #openHour = new Accumulator();
  #openHourPeriod: number | undefined;
  readonly minutes: PeriodRing;
  readonly hours: PeriodRing;
  /** Hours closed since takeClosedHours() last ran: their records need saving. */
  #closedHours: number[] = [];

  constructor(limits: HistoryLimits = RECENT_LIMITS) {
    this.minutes = new PeriodRing(limits.minutes);
    this.hours = new PeriodRing(limits.hours);
  }

  /**
   * Closes the open minute as minute number `minute` (Unix seconds / 60).
   * Returns what it counted, the record to save (undefined when nothing
   * was): only this part, since a minute closed early by a stop and then
   * again after the restart is saved as two records that add up.
   */
  closeMinute(minute: number): PeriodRecord | undefined {
    let closed: PeriodRecord | undefined;
    this.current.drain((counts, indices, bucketCounts, n) => {
      // Read before addMinute: closing the hour drains the open hour into
      // the same scratch arrays (accumulator.ts) that `indices` are.
      const pairs: number[] = [];
      for (let k = 0; k < n; k++) pairs.push(indices[k]!, bucketCounts[k]!);
      const record = { period: minute, counts: Array.from(counts), pairs };
      if (this.addMinute(minute, record.counts, indices, bucketCounts, n)) closed = record;
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
    if (this.#openHourPeriod !== undefined && hour > this.#openHourPeriod) {
      // Closing drains the open hour into the scratch arrays (accumulator.ts)
      // that `indices` and `bucketCounts` may be: copied first.
      indices = Array.from({ length: n }, (_, k) => indices[k]!);
      bucketCounts = Array.from({ length: n }, (_, k) => bucketCounts[k]!);
      this.#closeHour();
    }
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
    const sum = sumRecords(period, parts);
    if (sum.pairs.length === 0 && sum.counts.every((c) => c === 0)) return undefined;
    return sum;
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

/** A target's closed records of `resolution` in [from, to], in period order, wherever they are held. */
export type ReadRecords = (
  key: string,
  history: TargetHistory,
  resolution: Resolution,
  from: number,
  to: number,
) => Promise<readonly PeriodRecord[]>;

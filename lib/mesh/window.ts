// Counters of a mesh target over a sliding window: a snapshot of its
// cumulative counters and histogram is kept at each summary, and a row is
// the difference between now and the oldest snapshot still in the window.

import type { TargetStats } from '../stats/target-stats.js';

interface Sample {
  readonly atMs: number;
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly counts: Readonly<Record<number, number>>;
}

export interface WindowCounts {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  /** Bucket index, count, … ascending. */
  readonly buckets: number[];
}

const ZERO: Sample = { atMs: 0, sent: 0, received: 0, lost: 0, counts: {} };

export class MeshWindow {
  readonly #samples = new Map<string, Sample[]>();

  constructor(readonly windowMs: number) {}

  /** Records `stats` now and returns the counts since the oldest sample in the window. */
  take(key: string, stats: TargetStats, nowMs: number): WindowCounts {
    const s = stats.summary();
    const now: Sample = {
      atMs: nowMs,
      sent: s.sent,
      received: s.received,
      lost: s.lost,
      counts: stats.histogram.sparseCounts(),
    };
    let list = this.#samples.get(key);
    // A target's counters only grow; if they went back, it is another run
    // of the target (retired and re-added): start over.
    if (!list || (list.length > 0 && list[list.length - 1]!.sent > now.sent)) {
      this.#samples.set(key, (list = []));
    }
    // Keep one sample at or before the window's start, as the base.
    while (list.length > 1 && list[1]!.atMs <= nowMs - this.windowMs) list.shift();
    // A target new to the window counts from its start (it is a new peer, or
    // one come back with the counters it had).
    const base = list[0] ?? ZERO;
    list.push(now);
    const buckets: number[] = [];
    for (const index of Object.keys(now.counts)
      .map(Number)
      .sort((a, b) => a - b)) {
      const d = now.counts[index]! - (base.counts[index] ?? 0);
      if (d > 0) buckets.push(index, d);
    }
    return {
      sent: now.sent - base.sent,
      received: now.received - base.received,
      lost: now.lost - base.lost,
      buckets,
    };
  }

  /** Forgets the targets not in `keys` (the ones no longer meshed). */
  keep(keys: ReadonlySet<string>): void {
    for (const key of this.#samples.keys()) if (!keys.has(key)) this.#samples.delete(key);
  }
}

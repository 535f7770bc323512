import { BUCKET_LAYOUT, LatencyHistogram, type HistogramSnapshot } from './histogram.js';
import { DUPLICATES, ERRORS, LATE, LOST, SENT } from '../history/accumulator.js';
import { TargetHistory } from '../history/target-history.js';
import { TimeWeightedAverage } from './moving-average.js';
import { SAVED_STATS_VERSION, type SavedAverage, type SavedStats } from './saved-stats.js';

const MINUTE_MS = 60_000;

/**
 * The reason of a probe that was in flight when the daemon stopped (killed,
 * or a stop that could not wait for it): it may have been answered, but no
 * one was there to see it, so it counts as lost.
 */
export const INTERRUPTED_REASON = 'interrupted';

/** Counters and RTT aggregates of one target. RTTs are in milliseconds. */
export class TargetStats {
  sent = 0;
  received = 0;
  lost = 0;
  late = 0;
  duplicates = 0;
  readonly errors = new Map<string, number>();
  /** Received probes whose answer was not the usual one, by kind of answer (`tcp:refused`). */
  readonly answers = new Map<string, number>();
  minMs = Infinity;
  maxMs = -Infinity;
  lastMs: number | undefined;
  #sumMs = 0;
  readonly avg15m = new TimeWeightedAverage(15 * MINUTE_MS);
  readonly avg6h = new TimeWeightedAverage(360 * MINUTE_MS);
  readonly avg24h = new TimeWeightedAverage(1440 * MINUTE_MS);
  readonly histogram = new LatencyHistogram();
  /** Per-minute and per-hour records; replaced by the saved one when that is restored. */
  history = new TargetHistory();

  recordSent(): void {
    this.sent++;
    this.history.current.add(SENT);
  }

  recordReply(rttMs: number, atMs: number, answer?: string): void {
    this.received++;
    if (answer !== undefined) this.answers.set(answer, (this.answers.get(answer) ?? 0) + 1);
    if (rttMs < this.minMs) this.minMs = rttMs;
    if (rttMs > this.maxMs) this.maxMs = rttMs;
    this.lastMs = rttMs;
    this.#sumMs += rttMs;
    this.avg15m.add(rttMs, atMs);
    this.avg6h.add(rttMs, atMs);
    this.avg24h.add(rttMs, atMs);
    this.history.current.addBucket(this.histogram.observe(rttMs / 1000));
  }

  recordLost(reason?: string): void {
    this.#countLost(reason);
    this.history.current.add(LOST);
    if (reason !== undefined) this.history.current.add(ERRORS);
  }

  #countLost(reason?: string): void {
    this.lost++;
    if (reason !== undefined) this.errors.set(reason, (this.errors.get(reason) ?? 0) + 1);
  }

  recordLate(): void {
    this.late++;
    this.history.current.add(LATE);
  }

  recordDuplicate(): void {
    this.duplicates++;
    this.history.current.add(DUPLICATES);
  }

  /** Continues with `saved` history (restored, or kept while removed), keeping the open minute's counts. */
  adoptHistory(saved: TargetHistory): void {
    // Minutes closed here before the saved history could be read (a store
    // that was down at start) go on top of it rather than being lost.
    for (const r of this.history.records('minute', 0, Number.MAX_SAFE_INTEGER))
      saved.restoreMinute(r.period, r.counts, r.pairs);
    saved.absorbCurrent(this.history);
    this.history = saved;
  }

  /**
   * The saved form; `nowMs` is this clock's now, `wallNowMs` the wall
   * clock's, `inFlight` the probes sent but not ended yet.
   */
  toSaved(nowMs: number, wallNowMs: number, inFlight = 0): SavedStats {
    const average = (a: TimeWeightedAverage): SavedAverage | null =>
      a.value === undefined
        ? null
        : {
            value: a.value,
            ageMs: Math.max(0, nowMs - a.lastAtMs!),
            // Rounding can carry a sum of weights a hair past 1.
            weight: Math.min(1, a.weight!),
          };
    const has = this.received > 0;
    return {
      v: SAVED_STATS_VERSION,
      savedAt: wallNowMs,
      ...this.#counters(),
      inFlight,
      minMs: has ? this.minMs : null,
      maxMs: has ? this.maxMs : null,
      lastMs: this.lastMs ?? null,
      sumMs: this.#sumMs,
      averages: {
        '15m': average(this.avg15m),
        '6h': average(this.avg6h),
        '24h': average(this.avg24h),
      },
      histogram: {
        layout: BUCKET_LAYOUT,
        counts: this.histogram.sparseCounts(),
        sumSeconds: this.histogram.sumSeconds,
      },
    };
  }

  /**
   * Adds statistics saved before (by an earlier run, or before a remove) to
   * what this run has counted since, so counters continue across restarts.
   */
  mergeSaved(saved: SavedStats, nowMs: number, wallNowMs: number): void {
    this.sent += saved.sent;
    this.received += saved.received;
    this.lost += saved.lost;
    // Probes in flight at the save will never end here: count them, so that
    // sent = received + lost + in flight holds across a restart. Not in the
    // history: they were sent (and recorded there) by the earlier run.
    const interrupted = saved.inFlight ?? 0;
    if (interrupted > 0) {
      this.lost += interrupted;
      this.errors.set(INTERRUPTED_REASON, (this.errors.get(INTERRUPTED_REASON) ?? 0) + interrupted);
    }
    this.late += saved.late;
    this.duplicates += saved.duplicates;
    for (const [reason, n] of Object.entries(saved.errors))
      this.errors.set(reason, (this.errors.get(reason) ?? 0) + n);
    for (const [answer, n] of Object.entries(saved.answers ?? {}))
      this.answers.set(answer, (this.answers.get(answer) ?? 0) + n);
    if (saved.minMs !== null && saved.minMs < this.minMs) this.minMs = saved.minMs;
    if (saved.maxMs !== null && saved.maxMs > this.maxMs) this.maxMs = saved.maxMs;
    this.lastMs ??= saved.lastMs ?? undefined;
    this.#sumMs += saved.sumMs;
    const elapsed = Math.max(0, wallNowMs - saved.savedAt);
    const pairs: [TimeWeightedAverage, SavedAverage | null][] = [
      [this.avg15m, saved.averages['15m']],
      [this.avg6h, saved.averages['6h']],
      [this.avg24h, saved.averages['24h']],
    ];
    for (const [live, old] of pairs)
      if (old) live.mergeEarlier(old.value, nowMs - elapsed - old.ageMs, old.weight);
    this.histogram.addCounts(saved.histogram.counts, saved.histogram.sumSeconds);
  }

  #counters(): Pick<
    SavedStats,
    'sent' | 'received' | 'lost' | 'late' | 'duplicates' | 'errors' | 'answers'
  > {
    const { sent, received, lost, late, duplicates } = this;
    return {
      sent,
      received,
      lost,
      late,
      duplicates,
      errors: Object.fromEntries(this.errors),
      // Left out when empty: an ICMP target's saved form stays as it was.
      ...(this.answers.size === 0 ? {} : { answers: Object.fromEntries(this.answers) }),
    };
  }

  /** Everything but the histogram: what a row of the table or the JSON report needs. */
  summary(): TargetStatsSummary {
    // No spreads: this runs for every row of every page, and an object
    // literal with all its fields is the cheapest to build and to collect.
    const has = this.received > 0;
    return {
      sent: this.sent,
      received: this.received,
      lost: this.lost,
      late: this.late,
      duplicates: this.duplicates,
      errors: this.errors.size === 0 ? {} : Object.fromEntries(this.errors),
      answers: this.answers.size === 0 ? {} : Object.fromEntries(this.answers),
      minMs: has ? this.minMs : undefined,
      maxMs: has ? this.maxMs : undefined,
      meanMs: has ? this.#sumMs / this.received : undefined,
      lastMs: this.lastMs,
      avg15mMs: this.avg15m.value,
      avg6hMs: this.avg6h.value,
      avg24hMs: this.avg24h.value,
    };
  }

  snapshot(): TargetStatsSnapshot {
    return { ...this.summary(), histogram: this.histogram.snapshot() };
  }
}

/** A copy that the HTTP side may keep and read while probing goes on. */
export interface TargetStatsSnapshot extends TargetStatsSummary {
  histogram: HistogramSnapshot;
}

export interface TargetStatsSummary {
  sent: number;
  received: number;
  lost: number;
  late: number;
  duplicates: number;
  errors: Record<string, number>;
  answers: Record<string, number>;
  minMs: number | undefined;
  maxMs: number | undefined;
  meanMs: number | undefined;
  lastMs: number | undefined;
  avg15mMs: number | undefined;
  avg6hMs: number | undefined;
  avg24hMs: number | undefined;
}

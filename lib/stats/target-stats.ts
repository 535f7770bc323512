import { LatencyHistogram, type HistogramSnapshot } from './histogram.js';
import { TimeWeightedAverage } from './moving-average.js';

const MINUTE_MS = 60_000;

/** Counters and RTT aggregates of one target. RTTs are in milliseconds. */
export class TargetStats {
  sent = 0;
  received = 0;
  lost = 0;
  late = 0;
  duplicates = 0;
  readonly errors = new Map<string, number>();
  minMs = Infinity;
  maxMs = -Infinity;
  lastMs: number | undefined;
  #sumMs = 0;
  readonly avg15m = new TimeWeightedAverage(15 * MINUTE_MS);
  readonly avg6h = new TimeWeightedAverage(360 * MINUTE_MS);
  readonly avg24h = new TimeWeightedAverage(1440 * MINUTE_MS);
  readonly histogram = new LatencyHistogram();

  recordSent(): void {
    this.sent++;
  }

  recordReply(rttMs: number, atMs: number): void {
    this.received++;
    if (rttMs < this.minMs) this.minMs = rttMs;
    if (rttMs > this.maxMs) this.maxMs = rttMs;
    this.lastMs = rttMs;
    this.#sumMs += rttMs;
    this.avg15m.add(rttMs, atMs);
    this.avg6h.add(rttMs, atMs);
    this.avg24h.add(rttMs, atMs);
    this.histogram.observe(rttMs / 1000);
  }

  recordLost(reason?: string): void {
    this.lost++;
    if (reason !== undefined) this.errors.set(reason, (this.errors.get(reason) ?? 0) + 1);
  }

  recordLate(): void {
    this.late++;
  }

  recordDuplicate(): void {
    this.duplicates++;
  }

  snapshot(): TargetStatsSnapshot {
    const has = this.received > 0;
    return {
      sent: this.sent,
      received: this.received,
      lost: this.lost,
      late: this.late,
      duplicates: this.duplicates,
      errors: Object.fromEntries(this.errors),
      minMs: has ? this.minMs : undefined,
      maxMs: has ? this.maxMs : undefined,
      meanMs: has ? this.#sumMs / this.received : undefined,
      lastMs: this.lastMs,
      avg15mMs: this.avg15m.value,
      avg6hMs: this.avg6h.value,
      avg24hMs: this.avg24h.value,
      histogram: this.histogram.snapshot(),
    };
  }
}

/** A copy that the HTTP side may keep and read while probing goes on. */
export interface TargetStatsSnapshot {
  sent: number;
  received: number;
  lost: number;
  late: number;
  duplicates: number;
  errors: Record<string, number>;
  minMs: number | undefined;
  maxMs: number | undefined;
  meanMs: number | undefined;
  lastMs: number | undefined;
  avg15mMs: number | undefined;
  avg6hMs: number | undefined;
  avg24hMs: number | undefined;
  histogram: HistogramSnapshot;
}

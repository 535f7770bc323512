// How often the engine's timer may wake the event loop. A wake-up costs
// ~50 µs of CPU whatever it does (an empty setTimeout every millisecond is
// 5 % of a core on the bench machine: docs/BENCHMARKS.md, 2026-12-07), more
// than a probe's own work, so at high rates one wake-up sends a batch:
// above LOW_RATE_PER_MS the engine wakes at most once per gap and sends
// what is due within half a gap either side (on each target's grid still).
// The gap shrinks as the rate grows, so a batch stays near WAKE_BATCH_PROBES
// (the loop held ~1-2 ms), and stays under half the shortest interval, so
// no target sends twice in one wake-up. At low rates, and for very short
// intervals, each send goes at its time, at most EXACT_SLACK_MS early.
// Pure: the engine tells it every schedule it adds and drops.

const LOW_RATE_PER_MS = 0.1; // 100 probes a second
export const EXACT_SLACK_MS = 0.5;
export const WAKE_GAP_MAX_MS = 10;
const WAKE_GAP_MIN_MS = 1;
const WAKE_BATCH_PROBES = 100;

export class WakePacing {
  /** The steady probe rate of all schedules, per millisecond. */
  #probesPerMs = 0;
  /** How many schedules have each interval: the shortest bounds the gap. */
  readonly #intervals = new Map<number, number>();
  #gapMs = 0;

  get probesPerMs(): number {
    return this.#probesPerMs;
  }

  /** The least time between two timer wake-ups; 0: none, each send at its time. */
  get gapMs(): number {
    return this.#gapMs;
  }

  /** A wake-up sends what is due within this much from now. */
  get slackMs(): number {
    return this.#gapMs === 0 ? EXACT_SLACK_MS : this.#gapMs / 2;
  }

  add(intervalMs: number): void {
    this.#probesPerMs += 1 / intervalMs;
    this.#intervals.set(intervalMs, (this.#intervals.get(intervalMs) ?? 0) + 1);
    this.#update();
  }

  remove(intervalMs: number): void {
    this.#probesPerMs -= 1 / intervalMs;
    const n = (this.#intervals.get(intervalMs) ?? 0) - 1;
    if (n > 0) this.#intervals.set(intervalMs, n);
    else this.#intervals.delete(intervalMs);
    if (this.#intervals.size === 0) this.#probesPerMs = 0; // no rounding left over
    this.#update();
  }

  #update(): void {
    const rate = this.#probesPerMs;
    let shortest = Infinity;
    for (const interval of this.#intervals.keys()) shortest = Math.min(shortest, interval);
    const gap = Math.min(WAKE_GAP_MAX_MS, WAKE_BATCH_PROBES / rate, shortest / 2);
    this.#gapMs = rate < LOW_RATE_PER_MS || gap < WAKE_GAP_MIN_MS ? 0 : gap;
  }
}

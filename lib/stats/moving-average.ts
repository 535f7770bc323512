/**
 * An exponentially weighted moving average over a time window, weighted by
 * the time between samples rather than by sample count, so it means the same
 * whatever the probe interval is (meshping's factors assumed 30 s).
 *
 * Each sample stands for the time since the one before it, and its weight
 * decays by 1/e per window. The value is the weighted sum divided by the sum
 * of the weights, not by a full window's worth: until a window has passed it
 * is a (nearly flat) time-weighted mean of the samples that exist, instead of
 * being held for a window by whatever the first sample was. After a few
 * windows the weights sum to almost 1 and it is the usual decaying average.
 */
export class TimeWeightedAverage {
  /** Weighted mean of the samples that have a span; meaningful when #weight > 0. */
  #mean = 0;
  /** Sum of the weights, in [0, 1): 1 - e^(-span/window) for data without gaps. */
  #weight = 0;
  /**
   * The first sample, while no time has passed since it: its span is not
   * known yet, so it gets the span of the gap to the next sample.
   */
  #first: number | undefined;
  #lastAtMs = 0;

  constructor(readonly windowMs: number) {}

  add(value: number, atMs: number): void {
    if (this.#weight === 0 && this.#first === undefined) {
      this.#first = value;
      this.#lastAtMs = atMs;
      return;
    }
    const dt = atMs - this.#lastAtMs;
    // A sample at the same instant (or, on a clock gone backwards, earlier)
    // has no span, so no weight.
    if (!(dt > 0)) return;
    const alpha = -Math.expm1(-dt / this.windowMs);
    // Moved towards each sample by its share of the new weight, so that a
    // constant input stays exactly constant.
    let weight = this.#weight * (1 - alpha);
    if (this.#first !== undefined) {
      // The first sample spanned as long as this gap, one gap ago.
      const firstWeight = alpha * (1 - alpha);
      weight += firstWeight;
      this.#mean =
        this.#weight === 0
          ? this.#first
          : this.#mean + ((this.#first - this.#mean) * firstWeight) / weight;
      this.#first = undefined;
    }
    weight += alpha;
    this.#mean += ((value - this.#mean) * alpha) / weight;
    this.#weight = weight;
    this.#lastAtMs = atMs;
  }

  get value(): number | undefined {
    return this.#weight > 0 ? this.#mean : this.#first;
  }

  /**
   * How much of a full window's weight the samples hold (0 for a first sample
   * alone, about 0.63 after one window of samples, about 0.95 after three):
   * what the saved form keeps so that a restored average goes on as it was.
   */
  get weight(): number | undefined {
    return this.value === undefined ? undefined : this.#weight;
  }

  get lastAtMs(): number | undefined {
    return this.value === undefined ? undefined : this.#lastAtMs;
  }

  /**
   * Folds in an average saved earlier (at `atMs`, on this clock) as the
   * history before the samples this one has seen. The saved weight decays
   * over the time from then to our last sample, the gap while nothing was
   * probed included, and the two weighted means are added. `weight` is
   * absent in entries written before it was saved: those averages were a
   * full window's worth by construction, so they count as weight 1.
   */
  mergeEarlier(value: number, atMs: number, weight = 1): void {
    if (this.value === undefined) {
      this.#lastAtMs = atMs;
      if (weight > 0) {
        this.#mean = value;
        this.#weight = weight;
      } else {
        this.#first = value;
      }
      return;
    }
    // Not older than what we have, or a saved first sample with no span of
    // its own: nothing to add.
    if (atMs >= this.#lastAtMs || !(weight > 0)) return;
    const decayed = weight * Math.exp(-(this.#lastAtMs - atMs) / this.windowMs);
    const total = this.#weight + decayed;
    if (!(total > 0)) return;
    // A pending first sample stays pending: it still gets the next gap.
    this.#mean = (this.#mean * this.#weight + value * decayed) / total;
    // Spans that overlap (clocks that disagree) must not weigh more than a window.
    this.#weight = Math.min(1, total);
  }
}

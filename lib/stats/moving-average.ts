/**
 * An exponentially weighted moving average over a time window, weighted by
 * the time between samples rather than by sample count, so it means the same
 * whatever the probe interval is (meshping's factors assumed 30 s).
 */
export class TimeWeightedAverage {
  #value: number | undefined;
  #lastAtMs = 0;

  constructor(readonly windowMs: number) {}

  add(value: number, atMs: number): void {
    if (this.#value === undefined) {
      this.#value = value;
    } else {
      const dt = Math.max(0, atMs - this.#lastAtMs);
      const alpha = 1 - Math.exp(-dt / this.windowMs);
      this.#value += alpha * (value - this.#value);
    }
    this.#lastAtMs = atMs;
  }

  get value(): number | undefined {
    return this.#value;
  }

  get lastAtMs(): number | undefined {
    return this.#value === undefined ? undefined : this.#lastAtMs;
  }

  /**
   * Folds in an average saved earlier (at `atMs`, on this clock) as the
   * history before the samples this one has seen: what we have now counts as
   * one sample at our last time, weighted by the time since the saved one.
   */
  mergeEarlier(value: number, atMs: number): void {
    if (this.#value === undefined || atMs >= this.#lastAtMs) {
      if (this.#value === undefined) {
        this.#value = value;
        this.#lastAtMs = atMs;
      }
      return;
    }
    const alpha = 1 - Math.exp(-(this.#lastAtMs - atMs) / this.windowMs);
    this.#value = value + alpha * (this.#value - value);
  }
}

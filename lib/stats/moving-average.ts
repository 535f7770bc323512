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
}

// A target that appears should answer at once, not when its slot in the
// interval comes round (up to a whole interval later): whoever just added it
// is watching. So a new target's first probe goes out straight away, and its
// later ones on its slot. Adding thousands of targets at once must not turn
// into a burst of thousands of probes, so first probes are paced by a token
// bucket: at most a tenth of the daemon's steady probe rate, never less than
// MIN_PER_SECOND, with a burst of BURST_MS worth (at least MIN_BURST). A
// target whose slot comes before its turn here simply waits for its slot.
// Pure: time comes in as arguments.

/** First probes per second allowed at the least, however few targets there are. */
export const MIN_PER_SECOND = 50;
/** The share of the steady probe rate that first probes may add. */
export const SHARE_OF_STEADY_RATE = 0.1;
const BURST_MS = 100;
const MIN_BURST = 10;
// Tokens are fractional; without a floor on the wait, rounding could make
// the next token seem due a hair from now, over and over.
const MIN_WAIT_MS = 0.25;
const EPSILON = 1e-9;

export class FirstProbeQueue<T> {
  readonly #queue: T[] = [];
  #head = 0;
  #tokens = MIN_BURST;
  #refilledAtMs = -Infinity;

  get size(): number {
    return this.#queue.length - this.#head;
  }

  enqueue(item: T): void {
    this.#queue.push(item);
  }

  /**
   * Offers queued items to `send` while tokens last, oldest first. `send`
   * returns whether it used the token (false: the item no longer wants a
   * first probe, e.g. it was removed or its slot is due anyway).
   * `steadyPerMs` is the daemon's steady probe rate, per millisecond.
   */
  take(nowMs: number, steadyPerMs: number, send: (item: T) => boolean): void {
    this.#refill(nowMs, steadyPerMs);
    while (this.size > 0 && this.#tokens >= 1 - EPSILON) {
      const item = this.#queue[this.#head++]!;
      if (send(item)) this.#tokens--;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head); // drop what was taken, now and then
      this.#head = 0;
    }
  }

  /** When the next queued item may go, or undefined when none waits. */
  nextDueMs(nowMs: number, steadyPerMs: number): number | undefined {
    if (this.size === 0) return undefined;
    this.#refill(nowMs, steadyPerMs);
    if (this.#tokens >= 1 - EPSILON) return nowMs;
    return nowMs + Math.max(MIN_WAIT_MS, (1 - this.#tokens) / ratePerMs(steadyPerMs));
  }

  #refill(nowMs: number, steadyPerMs: number): void {
    const rate = ratePerMs(steadyPerMs);
    const capacity = Math.max(MIN_BURST, rate * BURST_MS);
    const elapsed = this.#refilledAtMs === -Infinity ? 0 : Math.max(0, nowMs - this.#refilledAtMs);
    this.#tokens = Math.min(capacity, this.#tokens + elapsed * rate);
    this.#refilledAtMs = nowMs;
  }
}

function ratePerMs(steadyPerMs: number): number {
  return Math.max(MIN_PER_SECOND / 1000, SHARE_OF_STEADY_RATE * steadyPerMs);
}

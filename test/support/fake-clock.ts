import type { Clock, TimerHandle } from '../../lib/engine/clock.js';

interface PendingTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly fn: () => void;
}

/**
 * A Clock whose time moves only when a test calls advance(). Timers fire in
 * due order (ties in the order they were set), each with nowMs() equal to
 * its due time, including timers set by a timer that fires during the advance.
 */
export class FakeClock implements Clock {
  #nowMs: number;
  #nextId = 1;
  #timers: PendingTimer[] = [];
  #fired = 0;

  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.push({ id, dueMs: this.#nowMs + Math.max(0, delayMs), fn });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle.id);
  }

  /** How many timers have fired: the wake-ups an event loop would have had. */
  get fired(): number {
    return this.#fired;
  }

  /** The number of timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due by then. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance by ${ms}`);
    this.advanceTo(this.#nowMs + ms);
  }

  /**
   * Moves time forward without firing anything, as a blocked event loop
   * would; the next advance fires the overdue timers, late.
   */
  stall(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot stall by ${ms}`);
    this.#nowMs += ms;
  }

  advanceTo(targetMs: number): void {
    for (;;) {
      const next = this.#earliest();
      if (!next || next.dueMs > targetMs) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#nowMs = Math.max(this.#nowMs, next.dueMs);
      this.#fired++;
      next.fn();
    }
    this.#nowMs = Math.max(this.#nowMs, targetMs);
  }

  #earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.#timers) {
      if (!best || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.id < best.id)) best = t;
    }
    return best;
  }
}

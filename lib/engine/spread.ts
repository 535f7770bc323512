// Spreading probes evenly across the interval. Each target holds a slot
// number; slot k sends at phase vdc(k) of the interval, where vdc is the
// base-2 van der Corput sequence (0, 1/2, 1/4, 3/4, 1/8, ...). Any first n
// slots split the interval into gaps no larger than 2/n, so sends stay spread
// as targets come and go, and nobody else's phase moves when one is added.

/** The k-th element of the base-2 van der Corput sequence, in [0, 1). */
export function vanDerCorput(k: number): number {
  let result = 0;
  let denominator = 1;
  while (k > 0) {
    denominator *= 2;
    result += (k % 2) / denominator;
    k = Math.floor(k / 2);
  }
  return result;
}

/** Hands out the smallest free slot number, so the slots in use stay dense. */
export class SlotAllocator {
  readonly #free: number[] = []; // a min-heap would be faster; frees are rare
  #next = 0;

  allocate(): number {
    if (this.#free.length > 0) {
      let best = 0;
      for (let i = 1; i < this.#free.length; i++) {
        if (this.#free[i]! < this.#free[best]!) best = i;
      }
      const [slot] = this.#free.splice(best, 1);
      return slot!;
    }
    return this.#next++;
  }

  release(slot: number): void {
    this.#free.push(slot);
  }
}

/** The first time at or after `nowMs` at which a slot with this phase is due. */
export function firstDueMs(
  epochMs: number,
  nowMs: number,
  intervalMs: number,
  phase: number,
): number {
  const offset = epochMs + phase * intervalMs;
  if (offset >= nowMs) return offset;
  return offset + Math.ceil((nowMs - offset) / intervalMs) * intervalMs;
}

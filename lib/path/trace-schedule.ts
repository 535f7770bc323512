// When each target's path is traced, pure (times are the caller's
// monotonic milliseconds). Every target once per interval, its first trace
// at an offset from its key's hash so targets added together (all of them,
// at start) are spread over the interval instead of traced at once; starts
// at least `minGapMs` apart and at most `maxConcurrent` traces running, so
// a thousand targets never become a burst of probes.

export interface TraceScheduleOptions {
  readonly intervalMs: number;
  readonly maxConcurrent: number;
  readonly minGapMs: number;
}

interface Entry {
  readonly key: string;
  dueMs: number;
  running: boolean;
  /** The set() that last named it. */
  mark: number;
}

/** Keys handled between two yields of setInSteps(). */
const STEP = 256;

export class TraceSchedule {
  readonly #opts: TraceScheduleOptions;
  readonly #entries = new Map<string, Entry>();
  #running = 0;
  #lastStartMs = -Infinity;
  #generation = 0;

  constructor(opts: TraceScheduleOptions) {
    if (!(opts.intervalMs > 0)) throw new RangeError('trace interval must be positive');
    this.#opts = opts;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Makes the traced targets these keys: new ones get their spread first time, gone ones leave. */
  set(keys: Iterable<string>, nowMs: number): void {
    const steps = this.setInSteps(keys, nowMs);
    while (!steps.next().done);
  }

  /**
   * set() as a generator that yields every few hundred keys, for
   * lib/slicing.ts: at 10,000 targets a whole set() holds the loop ~5 ms.
   */
  *setInSteps(keys: Iterable<string>, nowMs: number): Generator<void> {
    const mark = ++this.#generation;
    let n = 0;
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry) entry.mark = mark;
      else
        this.#entries.set(key, {
          key,
          dueMs: nowMs + spreadOffsetMs(key, this.#opts.intervalMs),
          running: false,
          mark,
        });
      if (++n % STEP === 0) yield;
    }
    for (const [key, entry] of this.#entries) {
      if (entry.mark !== mark && mark === this.#generation) {
        if (entry.running) this.#running--;
        this.#entries.delete(key);
      }
      if (++n % STEP === 0) yield;
    }
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The keys whose trace starts now; each must be `finished()` later. */
  take(nowMs: number): string[] {
    const started: string[] = [];
    if (nowMs - this.#lastStartMs < this.#opts.minGapMs) return started;
    // Over the values, not [key, value] pairs: no allocation per target per tick.
    let best: Entry | undefined;
    for (const entry of this.#entries.values()) {
      if (entry.running || entry.dueMs > nowMs) continue;
      if (!best || entry.dueMs < best.dueMs) best = entry;
    }
    // One start per call: the next waits out the gap.
    if (best && this.#running < this.#opts.maxConcurrent) {
      best.running = true;
      this.#running++;
      this.#lastStartMs = nowMs;
      started.push(best.key);
    }
    return started;
  }

  /** A trace ended: the next is one interval after this one was due, or after it started if it fell that far behind. */
  finished(key: string, startedMs: number): void {
    const entry = this.#entries.get(key);
    if (!entry || !entry.running) return;
    entry.running = false;
    this.#running--;
    entry.dueMs += this.#opts.intervalMs;
    if (entry.dueMs < startedMs) entry.dueMs = startedMs + this.#opts.intervalMs;
  }

  /** When take() may next return something; undefined when nothing is scheduled. */
  nextDueMs(): number | undefined {
    let due = Infinity;
    for (const entry of this.#entries.values())
      if (!entry.running) due = Math.min(due, entry.dueMs);
    if (due === Infinity) return undefined;
    return Math.max(due, this.#lastStartMs + this.#opts.minGapMs);
  }
}

/** Where in the interval a key's first trace falls: FNV-1a of the key, scaled. */
export function spreadOffsetMs(key: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return Math.floor((h / 2 ** 32) * intervalMs);
}

// When each target's path is traced, pure (times are the caller's
// monotonic milliseconds). Every target once per interval, its first trace
// at an offset from its key's hash so targets added together (all of them,
// at start) are spread over the interval instead of traced at once; starts
// at least `minGapMs` apart and at most `maxConcurrent` traces running, so
// a thousand targets never become a burst of probes.

import { TimerQueue } from '../engine/timer-queue.js';

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
  /** Gone from the set: its place in the queue, if any, is skipped. */
  removed: boolean;
}

/** Keys handled between two yields of setInSteps(). */
const STEP = 256;

export class TraceSchedule {
  readonly #opts: TraceScheduleOptions;
  readonly #entries = new Map<string, Entry>();
  /**
   * The entries waiting for their trace, by due time: each entry not
   * running is in it once (removed ones until they reach the top). take()
   * and nextDueMs() run at every trace start, ~11 a second at 10,000
   * targets: a scan of all entries there cost O(targets²) a second.
   */
  readonly #waiting = new TimerQueue<Entry>();
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
      else {
        const added = {
          key,
          dueMs: nowMs + spreadOffsetMs(key, this.#opts.intervalMs),
          running: false,
          mark,
          removed: false,
        };
        this.#entries.set(key, added);
        this.#waiting.push(added.dueMs, added);
      }
      if (++n % STEP === 0) yield;
    }
    for (const [key, entry] of this.#entries) {
      if (entry.mark !== mark && mark === this.#generation) {
        if (entry.running) this.#running--;
        entry.removed = true;
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
    // One start per call: the next waits out the gap.
    const best = this.#earliest();
    if (best && best.dueMs <= nowMs && this.#running < this.#opts.maxConcurrent) {
      this.#waiting.popDue(Infinity);
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
    this.#waiting.push(entry.dueMs, entry);
  }

  /** When take() may next return something; undefined when nothing is scheduled. */
  nextDueMs(): number | undefined {
    const best = this.#earliest();
    if (!best) return undefined;
    return Math.max(best.dueMs, this.#lastStartMs + this.#opts.minGapMs);
  }

  /** The waiting entry due first, after dropping removed ones from the top. */
  #earliest(): Entry | undefined {
    for (let top = this.#waiting.peekItem(); top; top = this.#waiting.peekItem()) {
      if (!top.removed) return top;
      this.#waiting.popDue(Infinity);
    }
    return undefined;
  }
}

/** Where in the interval a key's first trace falls: FNV-1a of the key, scaled. */
export function spreadOffsetMs(key: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return Math.floor((h / 2 ** 32) * intervalMs);
}

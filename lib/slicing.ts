// The event loop is our measuring instrument: a probe goes out when its timer
// fires and a reply is stamped when it is read, so any long piece of work on
// the loop (a render of 10,000 rows, a JSON body, a snapshot) delays sends
// and inflates RTTs. Such work is written as a generator that yields where a
// pause is safe, and run here in slices, with I/O and timers served between
// slices. `await` alone would not do: a resolved promise continues in the
// same turn, before any timer or socket.
//
// The budget is one for the whole process, not one per job: every stream
// and background job draws on the same millisecond per turn of the loop
// (TurnBudget). With a budget each, N jobs that all yielded with
// setImmediate resumed in the same check phase and held the loop N times as
// long (16 readers: timers ~40 ms late). Now the jobs queue, and one turn
// resumes them in order until its budget is spent; the rest wait for the
// next turn, after that turn's timers and I/O.

import { performance } from 'node:perf_hooks';

/** How long sliced work, all of it together, may hold the event loop per turn. */
export const SLICE_MS = 1;
/** A streamed body is written in pieces of at most this many characters. */
export const MAX_CHUNK_CHARS = 64 * 1024;

/**
 * The shared budget. A turn begins when its setImmediate callback runs (the
 * check phase, after timers and I/O); the job it resumes then runs in that
 * callback's microtasks, and when that job yields again with budget left, the
 * next job in the queue is resumed at once, in the same turn.
 */
export class TurnBudget {
  readonly #budgetMs: number;
  readonly #now: () => number;
  /** Jobs waiting for a turn, first come first served. */
  readonly #queue: (() => void)[] = [];
  #end = -Infinity;
  #armed = false;
  /** Turns begun so far (for tests and diagnostics). */
  turns = 0;

  constructor(budgetMs = SLICE_MS, now: () => number = () => performance.now()) {
    this.#budgetMs = budgetMs;
    this.#now = now;
  }

  /** Whether this turn's budget is spent: the caller should `await nextTurn()`. */
  timeUp(): boolean {
    return this.#now() >= this.#end;
  }

  /** Jobs waiting for a turn now. */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Resolves when the caller may work again. With budget left in this turn
   * (a job that yields early), the next waiting job goes first, then this one.
   */
  nextTurn(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#queue.push(resolve);
      if (!this.timeUp() && this.#queue.length > 1) this.#queue.shift()!();
      else this.#arm();
    });
  }

  #arm(): void {
    if (this.#armed) return;
    this.#armed = true;
    // Queued from a check-phase callback, an immediate runs in the next turn.
    setImmediate(this.#turn);
  }

  readonly #turn = (): void => {
    this.#armed = false;
    const next = this.#queue.shift();
    if (!next) return;
    this.turns++;
    this.#end = this.#now() + this.#budgetMs;
    next();
    // Whoever is left waits for the next turn (or is handed this one's rest).
    if (this.#queue.length > 0) this.#arm();
  };
}

/** The process's one budget, shared by every stream and background job. */
export const turnBudget = new TurnBudget();

/** Resolves in a later turn of the loop, after pending I/O and due timers have run. */
export function yieldToLoop(budget: TurnBudget = turnBudget): Promise<void> {
  return budget.nextTurn();
}

/** Runs `work` to its end, yielding to the event loop whenever the turn's budget is spent. */
export async function runSliced<T>(
  work: Generator<unknown, T>,
  budget: TurnBudget = turnBudget,
): Promise<T> {
  if (budget.timeUp()) await budget.nextTurn();
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
    if (budget.timeUp()) await budget.nextTurn();
  }
}

/** For async code that is not a generator: `await slices.pause()` between units of work. */
export class Slices {
  readonly #budget: TurnBudget;

  constructor(budget: TurnBudget = turnBudget) {
    this.#budget = budget;
  }

  /** Yields to the event loop if this turn's budget is spent; otherwise returns at once. */
  async pause(): Promise<void> {
    if (this.#budget.timeUp()) await this.#budget.nextTurn();
  }
}

/**
 * Joins small pieces of text into chunks of at most a turn's work (or
 * MAX_CHUNK_CHARS), handing each chunk on when the turn's budget is spent
 * and waiting for a later turn before taking more. Empty pieces are pause
 * points of the producer.
 */
export async function* slicedChunks(
  pieces: Iterable<string> | AsyncIterable<string>,
  budget: TurnBudget = turnBudget,
): AsyncGenerator<string> {
  let chunk = '';
  if (budget.timeUp()) await budget.nextTurn();
  for await (const piece of pieces) {
    chunk += piece;
    const timeUp = budget.timeUp();
    if (chunk.length < MAX_CHUNK_CHARS && !timeUp) continue;
    if (chunk.length > 0) yield chunk;
    chunk = '';
    if (timeUp || budget.timeUp()) await budget.nextTurn();
  }
  if (chunk.length > 0) yield chunk;
}

// The event loop is our measuring instrument: a probe goes out when its timer
// fires and a reply is stamped when it is read, so any long piece of work on
// the loop (a render of 10,000 rows, a JSON body, a snapshot) delays sends
// and inflates RTTs. Such work is written as a generator that yields where a
// pause is safe, and run here in slices of about a millisecond, with I/O and
// timers served between slices. `await` alone would not do: a resolved
// promise continues in the same turn, before any timer or socket.

import { performance } from 'node:perf_hooks';

/** How long one slice of work may hold the event loop. */
export const SLICE_MS = 1;
/** A streamed body is written in pieces of at most this many characters. */
export const MAX_CHUNK_CHARS = 64 * 1024;

/** Resolves after pending I/O and due timers have run. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs `work` to its end, yielding to the event loop whenever a slice's time is up. */
export async function runSliced<T>(work: Generator<unknown, T>, sliceMs = SLICE_MS): Promise<T> {
  let sliceEnd = performance.now() + sliceMs;
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
    if (performance.now() >= sliceEnd) {
      await yieldToLoop();
      sliceEnd = performance.now() + sliceMs;
    }
  }
}

/** For async code that is not a generator: `await slices.pause()` between units of work. */
export class Slices {
  readonly #sliceMs: number;
  #end: number;

  constructor(sliceMs = SLICE_MS) {
    this.#sliceMs = sliceMs;
    this.#end = performance.now() + sliceMs;
  }

  /** Yields to the event loop if this slice's time is up; otherwise returns at once. */
  async pause(): Promise<void> {
    if (performance.now() < this.#end) return;
    await yieldToLoop();
    this.#end = performance.now() + this.#sliceMs;
  }
}

/**
 * Joins small pieces of text into chunks of at most about a slice's work (or
 * MAX_CHUNK_CHARS), yielding to the event loop after each chunk is taken.
 * Empty pieces are pause points of the producer.
 */
export async function* slicedChunks(
  pieces: Iterable<string> | AsyncIterable<string>,
  sliceMs = SLICE_MS,
): AsyncGenerator<string> {
  let chunk = '';
  let sliceEnd = performance.now() + sliceMs;
  for await (const piece of pieces) {
    chunk += piece;
    if (chunk.length < MAX_CHUNK_CHARS && performance.now() < sliceEnd) continue;
    if (chunk.length > 0) yield chunk;
    chunk = '';
    await yieldToLoop();
    sliceEnd = performance.now() + sliceMs;
  }
  if (chunk.length > 0) yield chunk;
}

// Readers who ask for the same page while it is being made get the same
// body: the chunks made so far, then the rest as they come. Only while it is
// being made: a reader who comes after it is done gets a new one, so no page
// shows counters older than the request (a finished body served on for a
// while showed a probe rate off by up to that while).
//
// The body is made at its own pace, not the slowest reader's, and kept until
// it is done and its last reader has read it. When every reader has gone
// before it is done, the making stops.

type Chunk = string | Uint8Array;

class Render<C extends Chunk> {
  readonly #chunks: C[] = [];
  #done = false;
  #failure: Error | undefined;
  #readers = 0;
  #wake: (() => void)[] = [];
  #abandoned = false;

  constructor(source: AsyncIterable<C>, onEnd: () => void) {
    void this.#make(source).finally(onEnd);
  }

  get abandoned(): boolean {
    return this.#abandoned;
  }

  async #make(source: AsyncIterable<C>): Promise<void> {
    try {
      for await (const chunk of source) {
        this.#chunks.push(chunk);
        this.#wakeReaders();
        if (this.#abandoned) return; // leaving the loop ends the source
      }
    } catch (err) {
      this.#failure = err instanceof Error ? err : new Error(String(err));
    } finally {
      this.#done = true;
      this.#wakeReaders();
    }
  }

  #wakeReaders(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }

  /** The whole body from its first chunk, however far the making has got. */
  async *read(): AsyncGenerator<C> {
    this.#readers++;
    try {
      for (let i = 0; ;) {
        if (i < this.#chunks.length) {
          yield this.#chunks[i++]!;
          continue;
        }
        if (this.#failure) throw this.#failure;
        if (this.#done) return;
        await new Promise<void>((resolve) => this.#wake.push(resolve));
      }
    } finally {
      // Also when the reader stops early (gone): the last one out stops the making.
      if (--this.#readers === 0 && !this.#done) this.#abandoned = true;
    }
  }
}

export class SharedRenders {
  readonly #making = new Map<string, Render<Chunk>>();
  /** Readers served from a body another reader had started (for tests and diagnostics). */
  joined = 0;

  /** Whether a body for `key` is being made now (a reader would join it). */
  has(key: string): boolean {
    const r = this.#making.get(key);
    return r !== undefined && !r.abandoned;
  }

  /**
   * The body of `key`: the one being made now, or a new one from `make`.
   * `onEnd` is called when the new one is done (or stopped); at once when
   * this reader joins one being made.
   */
  read<C extends Chunk>(
    key: string,
    make: () => AsyncIterable<C>,
    onEnd = (): void => {},
  ): AsyncIterable<C> {
    const current = this.#making.get(key);
    if (current && !current.abandoned) {
      this.joined++;
      onEnd();
      // One key is always made by the same `make`, so its chunks are of one type.
      return (current as unknown as Render<C>).read();
    }
    const render = new Render<C>(make(), () => {
      if (this.#making.get(key) === render) this.#making.delete(key);
      onEnd();
    });
    this.#making.set(key, render);
    return render.read();
  }
}

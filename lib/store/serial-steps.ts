/** Steps run one after another: each starts once every step before it has finished, failed or not. */
export class SerialSteps {
  #queue: Promise<void> = Promise.resolve();

  run<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Resolves once every step queued so far has finished, failed or not. */
  settled(): Promise<void> {
    return this.#queue;
  }
}

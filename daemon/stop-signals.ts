// What a stop signal asks for: the first starts a clean stop, a later one
// exits at once. A repeat that comes almost with the first is not a second
// request but the same one delivered twice: a wrapper such as coreutils'
// `timeout`, or a terminal's Ctrl-C, signals both the process and its process
// group, so netpingd under `timeout` got SIGTERM twice in about one stop in
// three and, taking the second for impatience, exited 143 without saving.

/** A repeat sooner than this after the first signal is the same request, delivered twice. */
export const REPEAT_SIGNAL_GAP_MS = 1_000;

export type StopSignalAction = 'stop' | 'repeat' | 'exit-now';

export class StopSignals {
  readonly #now: () => number;
  #firstAtMs: number | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  get stopping(): boolean {
    return this.#firstAtMs !== undefined;
  }

  /** What a stop signal received now asks for. */
  take(): StopSignalAction {
    const now = this.#now();
    if (this.#firstAtMs === undefined) {
      this.#firstAtMs = now;
      return 'stop';
    }
    // A clock that steps back must not turn a late second signal into a repeat forever.
    const sinceFirstMs = now - this.#firstAtMs;
    return sinceFirstMs >= 0 && sinceFirstMs < REPEAT_SIGNAL_GAP_MS ? 'repeat' : 'exit-now';
  }
}

// How long to wait before trying a down Alertmanager again: doubling from
// `baseMs` to `maxMs`, with up to half of each delay random so that many
// netpingd instances do not all come back in the same millisecond. Pure:
// the random number is an argument.

export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 250, maxMs: 30_000 };

/** The delay after `failures` failures in a row (1 for the first), `random` in [0, 1). */
export function backoffDelayMs(backoff: Backoff, failures: number, random: number): number {
  const exp = Math.min(30, Math.max(0, failures - 1));
  const full = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exp);
  return Math.round(full / 2 + (full / 2) * random);
}

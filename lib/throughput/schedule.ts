// When throughput tests run, as pure functions of the time and a random
// number (injected, so tests are exact with a seeded one). Peers started
// together with one schedule would otherwise meet at a shared responder at
// every period, and all but one get `busy` every time: each period is
// jittered, and a `busy` test is retried after a random back-off, a few
// times, before the period.

/** Uniform in [0, 1): Math.random, or a seeded generator in tests. */
export type Random = () => number;

/** Each period is `every` ± this fraction of it. */
export const EVERY_JITTER = 0.1;
/** Retries of a test that found the responder busy, at most. */
export const BUSY_RETRIES = 3;
/** The first retry's back-off is between this and twice it; each later one doubles. */
export const BUSY_BACKOFF_MS = 5000;

/** When the test after one started at `startMs` is due. */
export function nextDueMs(startMs: number, everyMs: number, random: Random): number {
  return startMs + everyMs * (1 - EVERY_JITTER + 2 * EVERY_JITTER * random());
}

/**
 * When the `attempt`th retry (1..BUSY_RETRIES) of a busy test is due, or
 * undefined when there is none: retries used up, or the next period comes
 * first anyway.
 */
export function busyRetryDueMs(
  nowMs: number,
  attempt: number,
  periodDueMs: number,
  random: Random,
): number | undefined {
  if (attempt < 1 || attempt > BUSY_RETRIES) return undefined;
  const dueMs = nowMs + BUSY_BACKOFF_MS * 2 ** (attempt - 1) * (1 + random());
  return dueMs < periodDueMs ? dueMs : undefined;
}

// How long a clean stop may take, as one deadline that the service managers'
// stop timeouts (systemd's TimeoutStopSec, SMF's stop timeout_seconds) are
// set above, with a margin (test/unit/stop-budget.test.ts reads both). Each
// step of a stop is bounded already (a probe by its timeout, up to 60 s; a
// store step by the store's 5 s deadline), but added up with groups and the
// mesh they came to ~110 s, and systemd's SIGKILL at 15 s fell in the middle
// of the last save.

import { STORE_COMMAND_TIMEOUT_MS } from '../lib/store/redis-store.js';

/** The whole stop, from the signal to the last step: past it, steps are skipped. */
export const STOP_DEADLINE_MS = 25_000;
/** main.ts exits this long after the deadline if stop() has not returned (a step that ignores it). */
export const STOP_EXIT_GRACE_MS = 1_000;
/** Slack for the engine's timer, which may fire a probe's timeout a little late. */
export const STOP_WAIT_SLACK_MS = 200;
/** The store gives up on a command after this long, so one step of a save or a close ends within it. */
export const STORE_STEP_BUDGET_MS = STORE_COMMAND_TIMEOUT_MS + 500;
/**
 * Kept back from the wait for probes in flight for what matters most after
 * it: the statistics save (one store step) and the store's close (one more).
 */
export const RESERVED_FOR_SAVE_MS = 2 * STORE_STEP_BUDGET_MS;

export interface StopShape {
  /** The longest timeout of any probe that may be in flight. */
  readonly maxTimeoutMs: number;
  readonly mesh: boolean;
  readonly group: boolean;
  /** The instance claim (daemon/instance-claim.ts), released at stop. */
  readonly claim: boolean;
}

/** Store steps of a stop: the save, the history save, the outage records, the alert flush, the store's goodbye and close, plus the mesh's (its outages too), the group's and the claim's. */
export function storeSteps(s: Pick<StopShape, 'mesh' | 'group' | 'claim'>): number {
  // The mesh: a round in progress, then two deletes, and its outages' round
  // and delete; the group: a round, a delete, a notice; the instance claim:
  // one delete.
  return 6 + (s.mesh ? 4 : 0) + (s.group ? 3 : 0) + (s.claim ? 1 : 0);
}

/** What the steps could add up to without the deadline. */
export function unboundedStopMs(s: StopShape): number {
  return s.maxTimeoutMs + STOP_WAIT_SLACK_MS + storeSteps(s) * STORE_STEP_BUDGET_MS + 1000;
}

/** How long the stop may take: the steps' sum, or the deadline if that is sooner. */
export function stopBudgetMs(s: StopShape): number {
  return Math.min(unboundedStopMs(s), STOP_DEADLINE_MS);
}

/**
 * How long to wait for probes in flight to end by their timeouts: all of
 * the longest, unless that would leave the save less than its reserve
 * before the deadline; what is still in flight then counts as interrupted.
 */
export function probeWaitMs(maxTimeoutMs: number): number {
  return Math.min(maxTimeoutMs + STOP_WAIT_SLACK_MS, STOP_DEADLINE_MS - RESERVED_FOR_SAVE_MS);
}

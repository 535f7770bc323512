// Whether this instance's own uplink is at fault rather than its targets:
// the rule of docs/MEASUREMENT.md ("Which vantage point is at fault").
// Pure: the caller hands in the counts and the open outages' start times.

export interface VantageRule {
  /** The fewest targets down at once that can make the vantage point down. */
  readonly minDown: number;
  /** Outages count as "at once" when they were declared within this long of each other. */
  readonly windowMs: number;
}

export const DEFAULT_VANTAGE_MIN_DOWN = 2;

export interface VantageInput {
  /** Targets probed now. */
  readonly probed: number;
  /** When each open outage was declared (wall ms), in any order. */
  readonly declaredAtMs: readonly number[];
  /** The verdict so far. */
  readonly wasDown: boolean;
}

/**
 * Down when more than half of the targets went down within one window
 * (and at least `minDown` of them); once down, up again only when no more
 * than a quarter are still down, so a partial recovery does not flap it.
 */
export function vantageDown(rule: VantageRule, input: VantageInput): boolean {
  const { probed, declaredAtMs, wasDown } = input;
  const open = declaredAtMs.length;
  if (wasDown) return open > 0 && open * 4 > probed;
  if (open < rule.minDown || open * 2 <= probed) return false;
  return mostInOneWindow(declaredAtMs, rule.windowMs) * 2 > probed;
}

/** The most of `times` that fall within one window of `windowMs`. */
export function mostInOneWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let lo = 0, hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! > windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

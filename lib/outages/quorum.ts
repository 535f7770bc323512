// "Down everywhere": a target down from at least k of the n instances that
// can judge it. Pure: the caller hands in every live instance's report
// (lib/outages/down-report.ts); the rule is in docs/MEASUREMENT.md.

import type { DownReport, DownTarget } from './down-report.js';

export interface QuorumVerdict {
  readonly target: DownTarget;
  /** The instances that see it down, sorted. */
  readonly downFrom: readonly string[];
  /** n: the instances that can judge it. */
  readonly judges: number;
  /** Earliest start among the instances that see it down (ISO). */
  readonly start: string;
}

/**
 * The targets down from at least `quorum` of their judges (default: a
 * majority, and never fewer than 2). The judges of a target are the live
 * instances whose own uplink is not down, less the target itself when it is
 * a peer (an instance does not probe itself). Reports of instances whose
 * vantage point is down count neither way.
 */
export function downEverywhere(
  reports: readonly DownReport[],
  quorum: number | undefined,
): QuorumVerdict[] {
  const judging = reports.filter((r) => !r.vantageDown);
  const seen = new Map<string, { target: DownTarget; from: string[]; start: string }>();
  for (const r of judging) {
    for (const t of r.down) {
      const entry = seen.get(t.key);
      if (!entry) seen.set(t.key, { target: t, from: [r.instance], start: t.start });
      else {
        entry.from.push(r.instance);
        if (Date.parse(t.start) < Date.parse(entry.start)) entry.start = t.start;
      }
    }
  }
  const out: QuorumVerdict[] = [];
  for (const { target, from, start } of seen.values()) {
    const judges = judging.filter((r) => r.instance !== target.peerOf).length;
    const k = quorum ?? Math.max(2, Math.floor(judges / 2) + 1);
    if (from.length >= k) out.push({ target, downFrom: from.sort(), judges, start });
  }
  return out.sort((a, b) => (a.target.key < b.target.key ? -1 : 1));
}

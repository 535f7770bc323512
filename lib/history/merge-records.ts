// Parts of one period added up: a period closed early by a stop and again
// after the restart is saved (and may be read back) as two records.

import type { PeriodRecord } from './period-ring.js';

/** `parts` (records of one period) as one record of `period`. */
export function sumRecords(
  period: number,
  parts: readonly Pick<PeriodRecord, 'counts' | 'pairs'>[],
): PeriodRecord {
  const counts: number[] = [];
  const buckets = new Map<number, number>();
  for (const part of parts) {
    part.counts.forEach((c, f) => (counts[f] = (counts[f] ?? 0) + c));
    for (let k = 0; k + 1 < part.pairs.length; k += 2)
      buckets.set(part.pairs[k]!, (buckets.get(part.pairs[k]!) ?? 0) + part.pairs[k + 1]!);
  }
  const pairs = [...buckets].sort((a, b) => a[0] - b[0]).flat();
  return { period, counts, pairs };
}

/** Records in period order with the parts of each period added up; `records` need not be sorted. */
export function mergePeriods(records: readonly PeriodRecord[]): PeriodRecord[] {
  const byPeriod = new Map<number, PeriodRecord[]>();
  for (const r of records) {
    const parts = byPeriod.get(r.period);
    if (parts) parts.push(r);
    else byPeriod.set(r.period, [r]);
  }
  return [...byPeriod]
    .sort((a, b) => a[0] - b[0])
    .map(([period, parts]) => (parts.length === 1 ? parts[0]! : sumRecords(period, parts)));
}

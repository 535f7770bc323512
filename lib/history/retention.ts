// How long history is kept in the store (--history-minutes, --history-hours),
// in periods of each resolution; 0 keeps none of that resolution.

import type { Resolution } from './target-history.js';

export interface HistoryRetention {
  /** Minute records kept (48 h: 2880). */
  readonly minutes: number;
  /** Hour records kept (90 d: 2160). */
  readonly hours: number;
}

export const DEFAULT_RETENTION: HistoryRetention = { minutes: 48 * 60, hours: 90 * 24 };

/** Periods of `resolution` kept. */
export function keptPeriods(retention: HistoryRetention, resolution: Resolution): number {
  return resolution === 'minute' ? retention.minutes : retention.hours;
}

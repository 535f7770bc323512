// The spans /api/history serves and the step each one is drawn at.

export const RANGES = {
  '1h': 3600,
  '6h': 6 * 3600,
  '24h': 24 * 3600,
  '48h': 48 * 3600,
  '7d': 7 * 86400,
  '30d': 30 * 86400,
  '90d': 90 * 86400,
} as const;

export type RangeName = keyof typeof RANGES;

export function isRange(s: string | undefined): s is RangeName {
  return s !== undefined && Object.prototype.hasOwnProperty.call(RANGES, s);
}

/** Minute records up to 48 h (what they cover), hour records beyond. */
export function stepOf(range: RangeName): 60 | 3600 {
  return RANGES[range] <= RANGES['48h'] ? 60 : 3600;
}

// The saved form of a target's statistics: versioned JSON, so a later
// release can read what this one wrote, and validated field by field, so a
// bad entry in Redis or on disk is skipped instead of crashing anything.

import { BUCKET_BOUNDS_SECONDS, BUCKET_LAYOUT } from './histogram.js';

export const SAVED_STATS_VERSION = 1;

export interface SavedAverage {
  value: number;
  /** How long before `savedAt` its last sample was. */
  ageMs: number;
  /**
   * How much of a full window the samples behind `value` weigh, 0 to 1
   * (`TimeWeightedAverage.weight`): a young average restored goes on as a
   * young one. Absent in entries written before it was kept; those read as
   * 1, which is what their averages were. An older netpingd ignores it.
   */
  weight?: number;
}

export interface SavedStats {
  v: typeof SAVED_STATS_VERSION;
  /** Wall-clock milliseconds when this was saved. */
  savedAt: number;
  sent: number;
  received: number;
  lost: number;
  /**
   * Probes still in flight when this was saved (sent = received + lost +
   * inFlight). Absent in entries of 0.1, which read as 0.
   */
  inFlight?: number;
  late: number;
  duplicates: number;
  errors: Record<string, number>;
  /**
   * Received probes with an unusual answer (`tcp:refused`), by answer.
   * Absent in entries written before probe kinds, and when there are none:
   * an ICMP target's entry is what it always was, so an older netpingd
   * still reads it.
   */
  answers?: Record<string, number>;
  minMs: number | null;
  maxMs: number | null;
  lastMs: number | null;
  sumMs: number;
  averages: Record<'15m' | '6h' | '24h', SavedAverage | null>;
  histogram: { layout: string; counts: Record<string, number>; sumSeconds: number };
}

export class SavedStatsError extends Error {
  override name = 'SavedStatsError';
}

const COUNTERS = ['sent', 'received', 'lost', 'late', 'duplicates', 'sumMs'] as const;

/** Parses and checks a saved entry; throws SavedStatsError saying what is wrong. */
export function parseSavedStats(text: string): SavedStats {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new SavedStatsError('not JSON');
  }
  if (!isObject(raw)) throw new SavedStatsError('not an object');
  if (raw.v !== SAVED_STATS_VERSION)
    throw new SavedStatsError(`unknown version ${JSON.stringify(raw.v)}`);
  for (const field of [...COUNTERS, 'savedAt']) {
    if (!isCount(raw[field])) throw new SavedStatsError(`${field} is not a non-negative number`);
  }
  if (
    raw.inFlight !== undefined &&
    !(
      isCount(raw.inFlight) &&
      Number.isInteger(raw.inFlight) &&
      raw.inFlight <= (raw.sent as number)
    )
  )
    throw new SavedStatsError('inFlight is not a whole number from 0 to sent');
  for (const field of ['minMs', 'maxMs', 'lastMs']) {
    if (raw[field] !== null && !isCount(raw[field]))
      throw new SavedStatsError(`${field} is not a number or null`);
  }
  if (!isObject(raw.errors) || !Object.values(raw.errors).every(isCount)) {
    throw new SavedStatsError('errors is not a map of counts');
  }
  if (
    raw.answers !== undefined &&
    !(
      isObject(raw.answers) &&
      Object.values(raw.answers).every((n) => isCount(n) && Number.isInteger(n))
    )
  ) {
    throw new SavedStatsError('answers is not a map of whole counts');
  }
  const averages = raw.averages;
  if (!isObject(averages)) throw new SavedStatsError('averages missing');
  for (const w of ['15m', '6h', '24h']) {
    const a = averages[w];
    if (a !== null && !(isObject(a) && Number.isFinite(a.value) && isCount(a.ageMs))) {
      throw new SavedStatsError(`average ${w} is malformed`);
    }
    if (a !== null && a.weight !== undefined && !(isCount(a.weight) && a.weight <= 1)) {
      throw new SavedStatsError(`average ${w} has a weight that is not from 0 to 1`);
    }
  }
  const h = raw.histogram;
  if (
    !isObject(h) ||
    typeof h.layout !== 'string' ||
    !isObject(h.counts) ||
    !isCount(h.sumSeconds)
  ) {
    throw new SavedStatsError('histogram is malformed');
  }
  for (const [index, count] of Object.entries(h.counts)) {
    const i = Number(index);
    if (!Number.isInteger(i) || i < 0 || i > BUCKET_BOUNDS_SECONDS.length || !isCount(count)) {
      throw new SavedStatsError(`histogram bucket ${index} is malformed`);
    }
  }
  // Every field was checked above; the cast only names the shape.
  const saved = raw as unknown as SavedStats;
  if (h.layout !== BUCKET_LAYOUT) {
    // Bounds changed between releases: the counters stay, the buckets cannot.
    saved.histogram = { layout: BUCKET_LAYOUT, counts: {}, sumSeconds: 0 };
  }
  return saved;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

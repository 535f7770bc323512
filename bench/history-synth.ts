// Synthetic history for the figures in the README: a full 48 h of minutes
// and 90 days of hours per target, RTTs log-normal around a per-target base
// with some loss, 60 probes a minute (a 1 s interval). Seeded, so the
// figures replay.

import {
  chunkOf,
  chunkPeriods,
  recordNumbers,
  type ChunkId,
} from '../lib/history/history-chunks.js';
import {
  FULL_LIMITS,
  HOUR_SLOTS,
  MINUTE_SLOTS,
  TargetHistory,
  type HistoryLimits,
} from '../lib/history/target-history.js';
import { bucketIndex } from '../lib/stats/histogram.js';
import { seededRandom } from '../test/support/prng.js';

export interface SynthOptions {
  /** Spread of log(RTT): 0.1 is a quiet path (~6 buckets a minute), 0.4 a jittery one. */
  readonly sigma: number;
  readonly lossRatio: number;
  readonly probesPerMinute: number;
}

export const TYPICAL: SynthOptions = { sigma: 0.15, lossRatio: 0.005, probesPerMinute: 60 };

// Normal deviates drawn once and picked at random: the figures need the
// shape, and drawing each afresh made a 1,000-target run take minutes.
const NORMALS = (() => {
  const rand = seededRandom(12345);
  return Float64Array.from(
    { length: 1 << 14 },
    () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()),
  );
})();

function gauss(rand: () => number): number {
  return NORMALS[Math.floor(rand() * NORMALS.length)]!;
}

/** One period's counters and sorted (index, count) pairs. */
// An hour is 3,600 probes; drawing 360 and counting each ten times keeps the
// shape (and nearly the number of buckets touched) at a tenth of the time.
const HOUR_SAMPLE = 10;

function period(
  rand: () => number,
  baseMs: number,
  probes: number,
  o: SynthOptions,
  weight = 1,
): { counts: number[]; pairs: number[] } {
  const buckets = new Map<number, number>();
  let lost = 0;
  for (let i = 0; i < probes; i++) {
    if (rand() < o.lossRatio) {
      lost++;
      continue;
    }
    const rttMs = baseMs * Math.exp(o.sigma * gauss(rand));
    const b = bucketIndex(rttMs / 1000);
    buckets.set(b, (buckets.get(b) ?? 0) + weight);
  }
  const pairs = [...buckets].sort((a, b) => a[0] - b[0]).flat();
  return { counts: [probes * weight, lost * weight, 0, 0, 0], pairs };
}

/**
 * History ending at minute `nowMinute` (exclusive): by default a full one,
 * 48 h of minutes and 90 days of hours; or only the last `minutes`. With
 * RECENT_LIMITS it holds what netpingd holds of it (the recent span).
 */
export function synthHistory(
  seed: number,
  nowMinute: number,
  o = TYPICAL,
  minutes = MINUTE_SLOTS,
  limits: HistoryLimits = FULL_LIMITS,
): TargetHistory {
  const rand = seededRandom(seed);
  const baseMs = 2 + rand() * 80;
  const h = new TargetHistory(limits);
  const firstMinute = nowMinute - minutes;
  const hours = minutes === MINUTE_SLOTS ? HOUR_SLOTS - MINUTE_SLOTS / 60 : 0;
  const firstHour = Math.floor(firstMinute / 60) - hours;
  for (let hour = firstHour; hour < Math.floor(firstMinute / 60); hour++) {
    const p = period(rand, baseMs, (o.probesPerMinute * 60) / HOUR_SAMPLE, o, HOUR_SAMPLE);
    h.restoreHour(hour, p.counts, p.pairs);
  }
  for (let m = firstMinute; m < nowMinute; m++) {
    const p = period(rand, baseMs, o.probesPerMinute, o);
    h.restoreMinute(m, p.counts, p.pairs);
  }
  return h;
}

/** One chunk's records of each history, as a store saves them (history-chunks.ts). */
export function chunkRecords(
  id: ChunkId,
  histories: Iterable<[string, TargetHistory]>,
): Map<string, number[][]> {
  const [from, to] = chunkPeriods(id);
  const out = new Map<string, number[][]>();
  for (const [key, history] of histories) {
    const list = [...history.records(id.resolution, from, to)].map((r) =>
      recordNumbers(r, r.period - from),
    );
    if (list.length > 0) out.set(key, list);
  }
  return out;
}

/** Every chunk that full history fills at `nowMinute`: 49 hours of minutes, 92 days of hours. */
export function fullChunks(nowMinute: number): ChunkId[] {
  const ids: ChunkId[] = [];
  for (let hour = Math.floor(nowMinute / 60) - 48; hour <= Math.floor(nowMinute / 60); hour++)
    ids.push(chunkOf('minute', hour * 60));
  for (let day = Math.floor(nowMinute / 1440) - 91; day <= Math.floor(nowMinute / 1440); day++)
    ids.push({ resolution: 'hour', span: day });
  return ids;
}

// One target's statistics as what differs from a checkpoint of them: the
// form the embedded store rewrites every save between two checkpoints
// (lib/store/stats-journal.ts), so that the disk is sent tens of bytes a
// target, not the ~700 of its whole entry. Counters are written as their
// growth since the checkpoint, histogram buckets only those that grew, and
// the times and averages only when they moved, as whole microseconds (the
// checkpoint keeps them at full precision; a restore from the delta is
// within half a microsecond, the weight of an average within 1/16,383 and
// the age of its last sample within 5 ms).
//
// An entry that does not fit (a counter smaller than at the checkpoint, a
// bucket or error reason gone, an average gone) is not a delta: the caller
// writes it whole.

import type { SavedAverage, SavedStats } from './saved-stats.js';
import type { VarintReader, VarintWriter } from '../state/varints.js';

// The fields a delta carries, one bit each, the frequent ones first so that a
// typical entry's mask fits in one byte.
const SENT = 1 << 0;
const LOST = 1 << 1;
const IN_FLIGHT = 1 << 2;
const LAST = 1 << 3;
const SUM = 1 << 4;
const AVERAGES = 1 << 5;
const BUCKETS = 1 << 6;
/** Else received follows from sent = received + lost + in flight, as it did at the checkpoint. */
const RECEIVED = 1 << 7;
/** Else the histogram's sum grew by the same time as sumMs. */
const SUM_SECONDS = 1 << 8;
const MIN = 1 << 9;
const MAX = 1 << 10;
const LATE = 1 << 11;
const DUPLICATES = 1 << 12;
const ERRORS = 1 << 13;
const ANSWERS = 1 << 14;
/** Else the entry was saved when the one before it was (every live target is). */
const SAVED_AT = 1 << 15;

const WINDOWS = ['15m', '6h', '24h'] as const;
/** Per average: value, then weight; then one age for all or one each. */
const AGE = 1 << 6;
const AGES = 1 << 7;
const WEIGHT_STEPS = 16_383;
/** An average's age in steps of 10 ms (one byte for a sample up to 1.27 s before the save). */
const AGE_STEP_MS = 10;

const micros = (ms: number): number => Math.round(ms * 1000);
const weightSteps = (w: number | undefined): number => Math.round((w ?? 1) * WEIGHT_STEPS);

/**
 * Writes what `now` has beyond `base`; false (having written nothing) when it
 * cannot be said as a delta. `savedAt` is the one its save time is told
 * from (the entry's before it: every live target has the same).
 */
export function writeStatsDelta(
  w: VarintWriter,
  base: SavedStats,
  now: SavedStats,
  savedAt: number,
): boolean {
  if (!fits(base, now)) return false;
  const grew = (a: number, b: number): number => b - a;
  const baseInFlight = base.inFlight ?? 0;
  const nowInFlight = now.inFlight ?? 0;
  const dSent = grew(base.sent, now.sent);
  const dLost = grew(base.lost, now.lost);
  const dReceived = grew(base.received, now.received);
  const impliedReceived = dSent - dLost - (nowInFlight - baseInFlight);
  const dSum = micros(now.sumMs - base.sumMs);
  const dSumSeconds = Math.round((now.histogram.sumSeconds - base.histogram.sumSeconds) * 1e6);
  const buckets = grownCounts(base.histogram.counts, now.histogram.counts);
  const errors = grownCounts(base.errors, now.errors);
  const answers = grownCounts(base.answers ?? {}, now.answers ?? {});
  const averages = averagesDelta(base, now);
  let mask = 0;
  if (dSent !== 0) mask |= SENT;
  if (dLost !== 0) mask |= LOST;
  if (nowInFlight !== baseInFlight) mask |= IN_FLIGHT;
  if (changedMicros(base.lastMs, now.lastMs)) mask |= LAST;
  if (dSum !== 0) mask |= SUM;
  if (averages.mask !== 0) mask |= AVERAGES;
  if (buckets.length > 0) mask |= BUCKETS;
  if (dReceived !== impliedReceived) mask |= RECEIVED;
  if (dSumSeconds !== dSum) mask |= SUM_SECONDS;
  if (changedMicros(base.minMs, now.minMs)) mask |= MIN;
  if (changedMicros(base.maxMs, now.maxMs)) mask |= MAX;
  if (now.late !== base.late) mask |= LATE;
  if (now.duplicates !== base.duplicates) mask |= DUPLICATES;
  if (errors.length > 0) mask |= ERRORS;
  if (answers.length > 0) mask |= ANSWERS;
  if (now.savedAt !== savedAt) mask |= SAVED_AT;
  // What targets probed alike share first (the masks, the averages' ages and
  // weights, the probes sent), so that deflate finds it repeated target
  // after target; then what each has of its own.
  w.uint(mask);
  if (mask & AVERAGES) averages.writeShared(w);
  if (mask & SENT) w.uint(dSent);
  if (mask & LOST) w.uint(dLost);
  if (mask & IN_FLIGHT) w.uint(nowInFlight);
  if (mask & LAST) nullableMicros(w, now.lastMs);
  if (mask & SUM) w.sint(dSum);
  if (mask & AVERAGES) averages.writeValues(w);
  if (mask & BUCKETS) writeCounts(w, buckets, true);
  if (mask & RECEIVED) w.uint(dReceived);
  if (mask & SUM_SECONDS) w.sint(dSumSeconds);
  if (mask & MIN) nullableMicros(w, now.minMs);
  if (mask & MAX) nullableMicros(w, now.maxMs);
  if (mask & LATE) w.uint(now.late - base.late);
  if (mask & DUPLICATES) w.uint(now.duplicates - base.duplicates);
  if (mask & ERRORS) writeCounts(w, errors, false);
  if (mask & ANSWERS) writeCounts(w, answers, false);
  if (mask & SAVED_AT) w.sint(now.savedAt - savedAt);
  return true;
}

/** `base` with a delta read back applied: a new object, `base` untouched. Throws VarintError when cut short. */
export function readStatsDelta(r: VarintReader, base: SavedStats, savedAt: number): SavedStats {
  const mask = r.uint();
  const out: SavedStats = {
    ...base,
    errors: { ...base.errors },
    averages: { ...base.averages },
    histogram: { ...base.histogram, counts: { ...base.histogram.counts } },
  };
  if (base.answers) out.answers = { ...base.answers };
  const values = mask & AVERAGES ? readAveragesShared(r, out) : undefined;
  const dSent = mask & SENT ? r.uint() : 0;
  const dLost = mask & LOST ? r.uint() : 0;
  const inFlight = mask & IN_FLIGHT ? r.uint() : (base.inFlight ?? 0);
  out.sent = base.sent + dSent;
  out.lost = base.lost + dLost;
  if (mask & IN_FLIGHT) out.inFlight = inFlight;
  if (mask & LAST) out.lastMs = readNullableMicros(r);
  const dSum = mask & SUM ? r.sint() : 0;
  out.sumMs = base.sumMs + dSum / 1000;
  values?.(r);
  if (mask & BUCKETS) readCounts(r, out.histogram.counts, true);
  const dReceived = mask & RECEIVED ? r.uint() : dSent - dLost - (inFlight - (base.inFlight ?? 0));
  out.received = base.received + dReceived;
  const dSumSeconds = mask & SUM_SECONDS ? r.sint() : dSum;
  out.histogram.sumSeconds = base.histogram.sumSeconds + dSumSeconds / 1e6;
  if (mask & MIN) out.minMs = readNullableMicros(r);
  if (mask & MAX) out.maxMs = readNullableMicros(r);
  if (mask & LATE) out.late = base.late + r.uint();
  if (mask & DUPLICATES) out.duplicates = base.duplicates + r.uint();
  if (mask & ERRORS) readCounts(r, out.errors, false);
  if (mask & ANSWERS) readCounts(r, (out.answers ??= {}), false);
  out.savedAt = mask & SAVED_AT ? savedAt + r.sint() : savedAt;
  return out;
}

/** Whether `now` grew from `base` only in ways a delta says. */
function fits(base: SavedStats, now: SavedStats): boolean {
  const counters = ['sent', 'received', 'lost', 'late', 'duplicates'] as const;
  if (counters.some((c) => !Number.isInteger(now[c] - base[c]) || now[c] < base[c])) return false;
  if (now.histogram.layout !== base.histogram.layout) return false;
  if (!Number.isSafeInteger(now.savedAt) || !Number.isInteger(now.inFlight ?? 0)) return false;
  if (base.inFlight !== undefined && now.inFlight === undefined) return false;
  if (base.answers !== undefined && now.answers === undefined) return false;
  if (WINDOWS.some((k) => base.averages[k] !== null && now.averages[k] === null)) return false;
  return (
    countsGrew(base.histogram.counts, now.histogram.counts) &&
    countsGrew(base.errors, now.errors) &&
    countsGrew(base.answers ?? {}, now.answers ?? {})
  );
}

function countsGrew(base: Record<string, number>, now: Record<string, number>): boolean {
  for (const [k, n] of Object.entries(base)) if (!((now[k] ?? -1) >= n)) return false;
  for (const [k, n] of Object.entries(now))
    if (!Number.isSafeInteger(n - (base[k] ?? 0))) return false;
  return true;
}

function grownCounts(
  base: Record<string, number>,
  now: Record<string, number>,
): [string, number][] {
  const out: [string, number][] = [];
  for (const [k, n] of Object.entries(now)) {
    const d = n - (base[k] ?? 0);
    if (d !== 0 || !(k in base)) out.push([k, d]);
  }
  return out;
}

/**
 * Reasons and answers by name. Buckets by index: as one run from the lowest
 * to the highest that grew (0 for those between that did not), or, when
 * that is longer, as gaps; an RTT's buckets lie side by side, so mostly a run.
 */
function writeCounts(w: VarintWriter, counts: [string, number][], byIndex: boolean): void {
  if (!byIndex) {
    w.uint(counts.length);
    for (const [k, d] of counts) {
      w.text(k);
      w.uint(d);
    }
    return;
  }
  const sorted = counts.map(([k, d]) => [Number(k), d] as const).sort((a, b) => a[0] - b[0]);
  const lo = sorted[0]![0];
  const span = sorted.at(-1)![0] - lo + 1;
  // A 0 in a run is a bucket that did not grow: one new at 0 is said as a gap.
  if (span <= 2 * sorted.length && sorted.every(([, d]) => d > 0)) {
    w.uint(span * 2 + 1);
    w.uint(lo);
    let at = lo;
    for (const [i, d] of sorted) {
      for (; at < i; at++) w.uint(0);
      w.uint(d);
      at++;
    }
    return;
  }
  w.uint(sorted.length * 2);
  let last = 0;
  for (const [i, d] of sorted) {
    w.uint(i - last);
    last = i;
    w.uint(d);
  }
}

function readCounts(r: VarintReader, into: Record<string, number>, byIndex: boolean): void {
  const add = (k: string, d: number): void => {
    into[k] = (into[k] ?? 0) + d;
  };
  if (!byIndex) {
    for (let n = r.uint(); n > 0; n--) add(r.text(), r.uint());
    return;
  }
  const head = r.uint();
  const n = Math.floor(head / 2);
  if (head % 2 === 1) {
    const lo = r.uint();
    for (let i = 0; i < n; i++) {
      const d = r.uint();
      if (d !== 0) add(String(lo + i), d);
    }
    return;
  }
  let last = 0;
  for (let i = 0; i < n; i++) {
    last += r.uint();
    add(String(last), r.uint());
  }
}

function changedMicros(base: number | null, now: number | null): boolean {
  return now === null ? base !== null : base === null || micros(base) !== micros(now);
}

/** 0 for null, else the microseconds + 1 (times are never negative: saved-stats.ts checks). */
function nullableMicros(w: VarintWriter, v: number | null): void {
  w.uint(v === null ? 0 : micros(v) + 1);
}

function readNullableMicros(r: VarintReader): number | null {
  const v = r.uint();
  return v === 0 ? null : (v - 1) / 1000;
}

/** The averages' part: a mask, each moved weight, the ages; later each moved value. */
function averagesDelta(
  base: SavedStats,
  now: SavedStats,
): {
  mask: number;
  writeShared: (w: VarintWriter) => void;
  writeValues: (w: VarintWriter) => void;
} {
  let mask = 0;
  const ages: number[] = [];
  WINDOWS.forEach((k, i) => {
    const b = base.averages[k];
    const a = now.averages[k];
    if (a === null) return;
    if (!b || micros(b.value) !== micros(a.value)) mask |= 1 << (2 * i);
    if (!b || weightSteps(b.weight) !== weightSteps(a.weight)) mask |= 1 << (2 * i + 1);
    const age = Math.round(a.ageMs / AGE_STEP_MS);
    if (!b || Math.round(b.ageMs / AGE_STEP_MS) !== age) mask |= AGE;
    ages.push(age);
  });
  if (mask & AGE && ages.some((age) => age !== ages[0])) mask |= AGES;
  return {
    mask,
    writeShared(w) {
      w.uint(mask);
      WINDOWS.forEach((k, i) => {
        if (mask & (1 << (2 * i + 1))) w.uint(weightSteps(now.averages[k]!.weight));
      });
      if (mask & AGES) ages.forEach((age) => w.uint(age));
      else if (mask & AGE) w.uint(ages[0]!);
    },
    writeValues(w) {
      WINDOWS.forEach((k, i) => {
        if (mask & (1 << (2 * i))) w.sint(micros(now.averages[k]!.value));
      });
    },
  };
}

/** Reads the averages' mask, weights and ages into `out`; returns the reader of their values. */
function readAveragesShared(r: VarintReader, out: SavedStats): (r: VarintReader) => void {
  const mask = r.uint();
  const present: [number, SavedAverage][] = [];
  WINDOWS.forEach((k, i) => {
    const valueMoved = (mask & (1 << (2 * i))) !== 0;
    const weightMoved = (mask & (1 << (2 * i + 1))) !== 0;
    const base = out.averages[k];
    if (!base && !(valueMoved && weightMoved)) return;
    const a: SavedAverage = { value: base?.value ?? 0, ageMs: base?.ageMs ?? 0 };
    if (base?.weight !== undefined) a.weight = base.weight;
    if (weightMoved) a.weight = r.uint() / WEIGHT_STEPS;
    out.averages[k] = a;
    present.push([i, a]);
  });
  if (mask & AGES) for (const [, a] of present) a.ageMs = r.uint() * AGE_STEP_MS;
  else if (mask & AGE) {
    const age = r.uint() * AGE_STEP_MS;
    for (const [, a] of present) a.ageMs = age;
  }
  return (values) => {
    for (const [i, a] of present) if (mask & (1 << (2 * i))) a.value = values.sint() / 1000;
  };
}

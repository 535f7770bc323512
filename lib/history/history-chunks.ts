// The saved form of history: chunks of time holding every target's records
// of that time. `m:<hour>` holds the minute records of one hour (rewritten
// each minute while that hour is open, then never again), `h:<day>` the hour
// records of one UTC day. So a save writes one or two chunks, not every
// target's full history, and a chunk past the retention is deleted whole.
//
// A chunk is JSON: {"v":1,"targets":{"<name@address>":[[offset,sent,lost,
// late,duplicates,errors,lo,count(lo),count(lo+1),...],...]}}, offset being
// the period's place in the chunk (0-59 or 0-23) and the buckets one run
// from index lo, zeros included (the buckets of a period are nearly always
// contiguous, so this is about half the size of index,count pairs). It is
// validated record by record on the way back in: a bad record is skipped,
// never fatal.

import { FIELDS, type PeriodRecord } from './period-ring.js';
import { BUCKET_SLOTS } from './accumulator.js';
import { HOUR_SLOTS, MINUTE_SLOTS, type Resolution, type TargetHistory } from './target-history.js';

export const HISTORY_CHUNK_VERSION = 1;
const NF = FIELDS.length;

export interface ChunkId {
  resolution: Resolution;
  /** The hour (minute chunks) or day (hour chunks) it covers, in periods since the epoch. */
  span: number;
}

export function chunkKey(id: ChunkId): string {
  return `${id.resolution === 'minute' ? 'm' : 'h'}:${id.span}`;
}

export function parseChunkKey(key: string): ChunkId | undefined {
  const m = /^([mh]):(\d{1,9})$/.exec(key);
  if (!m) return undefined;
  return { resolution: m[1] === 'm' ? 'minute' : 'hour', span: Number(m[2]) };
}

/** The chunk holding `period` of `resolution`. */
export function chunkOf(resolution: Resolution, period: number): ChunkId {
  return { resolution, span: Math.floor(period / (resolution === 'minute' ? 60 : 24)) };
}

/** Periods covered by a chunk, [first, last]. */
export function chunkPeriods(id: ChunkId): [number, number] {
  const per = id.resolution === 'minute' ? 60 : 24;
  return [id.span * per, id.span * per + per - 1];
}

/** Whether a chunk holds nothing still kept at `nowS` (Unix seconds). */
export function chunkExpired(id: ChunkId, nowS: number): boolean {
  const [, last] = chunkPeriods(id);
  return id.resolution === 'minute'
    ? last < Math.floor(nowS / 60) - MINUTE_SLOTS
    : last < Math.floor(nowS / 3600) - HOUR_SLOTS;
}

/** The chunk's text in pieces, one target per piece (empty strings are pause points). */
export function* chunkPieces(
  id: ChunkId,
  histories: Iterable<[string, TargetHistory]>,
): Generator<string> {
  const [from, to] = chunkPeriods(id);
  yield `{"v":${HISTORY_CHUNK_VERSION},"targets":{`;
  let first = true;
  for (const [key, history] of histories) {
    // Joined, not +=: a flat string, where += would leave a rope of objects
    // that survives until the chunk is written (costly young-generation GC).
    const records = [...history.recordTexts(id.resolution, from, to)];
    if (records.length > 0) {
      yield `${first ? '' : ','}${JSON.stringify(key)}:[[${records.join('],[')}]]`;
      first = false;
    } else {
      yield '';
    }
  }
  yield '}}';
}

export class HistoryChunkError extends Error {
  override name = 'HistoryChunkError';
}

/** Target key → its records in this chunk; records that do not check out are counted in `skipped`. */
export function parseChunk(
  id: ChunkId,
  text: string,
): { records: Map<string, PeriodRecord[]>; skipped: number } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HistoryChunkError('not JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw new HistoryChunkError('not an object');
  const { v, targets } = raw as { v?: unknown; targets?: unknown };
  if (v !== HISTORY_CHUNK_VERSION) throw new HistoryChunkError(`unknown version ${String(v)}`);
  if (typeof targets !== 'object' || targets === null || Array.isArray(targets))
    throw new HistoryChunkError('no targets');
  const [from, to] = chunkPeriods(id);
  const records = new Map<string, PeriodRecord[]>();
  let skipped = 0;
  for (const [key, list] of Object.entries(targets as Record<string, unknown>)) {
    if (!Array.isArray(list)) {
      skipped++;
      continue;
    }
    const good: PeriodRecord[] = [];
    for (const r of list as unknown[]) {
      const rec = checkRecord(r, from, to);
      if (rec) good.push(rec);
      else skipped++;
    }
    good.sort((a, b) => a.period - b.period);
    records.set(key, good);
  }
  return { records, skipped };
}

function checkRecord(r: unknown, from: number, to: number): PeriodRecord | undefined {
  if (!Array.isArray(r) || r.length < 1 + NF || r.length === 2 + NF) return undefined;
  const nums = r as unknown[];
  if (!nums.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) return undefined;
  const values = nums as number[];
  const period = from + values[0]!;
  if (period > to) return undefined;
  const pairs: number[] = [];
  if (values.length > 1 + NF) {
    const lo = values[1 + NF]!;
    const counts = values.slice(2 + NF);
    if (lo + counts.length > BUCKET_SLOTS) return undefined;
    counts.forEach((c, i) => {
      if (c > 0) pairs.push(lo + i, c);
    });
  }
  return { period, counts: values.slice(1, 1 + NF), pairs };
}

// The saved form of history: chunks of time, each holding every target's
// records of that time. `m:<hour>` holds the minute records of one hour,
// `h:<day>` the hour records of one UTC day, each target's records apart
// (a field of a Redis hash, a line of a file), so a save appends only the
// periods closed since the last one, for the targets this process owns,
// and a chunk past the retention is dropped whole.
//
// A record is a list of whole numbers: offset,sent,lost,late,duplicates,
// errors[,lo,count(lo),count(lo+1),...], offset being the period's place in
// the chunk (0-59 or 0-23) and the buckets one run from index lo, zeros
// included (the buckets of a period are nearly always contiguous). A
// target's records in one chunk are kept as text (`1,60,0,0,0,0,40,3,57;2,...`,
// the embedded store's files) or as LEB128 varints (Redis), appended to as
// periods close: a period may appear twice (closed early by a stop, then
// again after the restart), and its parts add up. Records are validated one
// by one on the way back in: a bad record is skipped, never fatal.
//
// The first release kept a chunk as one JSON document,
// {"v":1,"targets":{"<name@address>":[[record],...]}}, rewritten whole each
// minute; parseChunk reads it so that such a store is converted at start.

import { FIELDS, type PeriodRecord } from './period-ring.js';
import { BUCKET_SLOTS } from './accumulator.js';
import { VarintError, VarintReader, VarintWriter } from '../state/varints.js';
import { DEFAULT_RETENTION, keptPeriods, type HistoryRetention } from './retention.js';
import type { Resolution } from './target-history.js';

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

/** Whether a chunk holds nothing still kept at `nowS` (Unix seconds); all are, of a resolution kept 0 periods. */
export function chunkExpired(
  id: ChunkId,
  nowS: number,
  retention: HistoryRetention = DEFAULT_RETENTION,
): boolean {
  const kept = keptPeriods(retention, id.resolution);
  const [, last] = chunkPeriods(id);
  return kept === 0 || last < Math.floor(nowS / periodSeconds(id.resolution)) - kept;
}

export function periodSeconds(resolution: Resolution): 60 | 3600 {
  return resolution === 'minute' ? 60 : 3600;
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

/** A record's numbers checked and read as a period of the chunk [from, to]; undefined if they do not check out. */
export function checkRecord(r: unknown, from: number, to: number): PeriodRecord | undefined {
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

/** Chunk names that may still hold records kept at `nowS` (Unix seconds), oldest first: hours, then minutes. */
export function chunksWithin(
  nowS: number,
  retention: HistoryRetention = DEFAULT_RETENTION,
): ChunkId[] {
  return [
    ...chunksSince('hour', nowS, keptPeriods(retention, 'hour'), retention),
    ...chunksSince('minute', nowS, keptPeriods(retention, 'minute'), retention),
  ];
}

/** The chunks of `resolution` that hold the last `periods` periods up to `nowS`, oldest first. */
export function chunksSince(
  resolution: Resolution,
  nowS: number,
  periods: number,
  retention: HistoryRetention = DEFAULT_RETENTION,
): ChunkId[] {
  const ids: ChunkId[] = [];
  if (periods <= 0) return ids;
  const per = resolution === 'minute' ? 60 : 24;
  const now = chunkOf(resolution, Math.floor(nowS / periodSeconds(resolution))).span;
  for (let span = now - Math.ceil(periods / per) - 1; span <= now; span++) {
    const id: ChunkId = { resolution, span };
    if (!chunkExpired(id, nowS, retention) && chunkPeriods(id)[1] >= lastPeriods(id, nowS, periods))
      ids.push(id);
  }
  return ids;
}

/** The first of the last `periods` periods of `id`'s resolution at `nowS`. */
function lastPeriods(id: ChunkId, nowS: number, periods: number): number {
  return Math.floor(nowS / periodSeconds(id.resolution)) - periods + 1;
}

/** When a chunk holds nothing kept any more (Unix seconds): a Redis key's expiry. */
export function chunkExpiresAtS(
  id: ChunkId,
  retention: HistoryRetention = DEFAULT_RETENTION,
): number {
  const [, last] = chunkPeriods(id);
  return (last + keptPeriods(retention, id.resolution) + 1) * periodSeconds(id.resolution);
}

/** A record's numbers: `offset`, the counters, then the bucket run from its lowest index. */
export function recordNumbers(r: PeriodRecord, offset: number): number[] {
  const out = [offset, ...r.counts];
  if (r.pairs.length === 0) return out;
  const lo = r.pairs[0]!;
  const hi = r.pairs[r.pairs.length - 2]!;
  const run = new Array<number>(hi - lo + 1).fill(0);
  for (let k = 0; k < r.pairs.length; k += 2) run[r.pairs[k]! - lo] = r.pairs[k + 1]!;
  out.push(lo, ...run);
  return out;
}

/** Records as the embedded store's text: numbers joined by commas, records by semicolons. */
export function recordsToText(records: readonly (readonly number[])[]): string {
  return records.map((r) => r.join(',')).join(';');
}

/** The text form back into lists of numbers (checkRecord judges them). */
export function recordsFromText(text: string): number[][] {
  if (text === '') return [];
  return text
    .split(';')
    .map((r) => r.split(',').map((n) => (/^\d{1,15}$/.test(n) ? Number(n) : -1)));
}

/** Records as varints: offset, the counters, the run's length, then lo and the run. */
export function recordsToBinary(records: readonly (readonly number[])[]): Buffer {
  const w = new VarintWriter();
  for (const r of records) {
    for (let i = 0; i <= NF; i++) w.uint(r[i] ?? 0);
    const run = Math.max(0, r.length - NF - 2);
    w.uint(run);
    if (run > 0) for (let i = NF + 1; i < r.length; i++) w.uint(r[i]!);
  }
  return Buffer.from(w.bytes());
}

/** The varint form back into lists of numbers; a record cut short (it cannot be, in Redis) ends the list. */
export function recordsFromBinary(buf: Uint8Array): number[][] {
  const out: number[][] = [];
  const rd = new VarintReader(buf);
  try {
    while (!rd.done) {
      const r: number[] = [];
      for (let i = 0; i <= NF; i++) r.push(rd.uint());
      const run = rd.uint();
      if (run > BUCKET_SLOTS) return out;
      if (run > 0) for (let i = 0; i <= run; i++) r.push(rd.uint());
      out.push(r);
    }
  } catch (err) {
    if (!(err instanceof VarintError)) throw err;
  }
  return out;
}

/** A first-release chunk's records as lists of numbers, for its conversion (throws HistoryChunkError). */
export function legacyChunkRecords(id: ChunkId, text: string): Map<string, number[][]> {
  const out = new Map<string, number[][]>();
  const [from] = chunkPeriods(id);
  for (const [key, records] of parseChunk(id, text).records)
    out.set(
      key,
      records.map((r) => recordNumbers(r, r.period - from)),
    );
  return out;
}

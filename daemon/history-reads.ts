// A target's records over a range, for /api/history and the target page:
// the recent span from memory (TargetHistory), everything older from the
// store, a chunk at a time and one target only (HMGET in Redis, a binary
// search in the embedded store's compacted files). Closed chunks do not
// change, so what was read of them is kept (a few thousand target-chunks,
// least recently used dropped): a page reloaded, or read by several people,
// reads the store once.

import {
  checkRecord,
  chunkExpired,
  chunkKey,
  chunkOf,
  chunkPeriods,
  type ChunkId,
} from '../lib/history/history-chunks.js';
import { mergePeriods } from '../lib/history/merge-records.js';
import type { PeriodRecord } from '../lib/history/period-ring.js';
import type { HistoryRetention } from '../lib/history/retention.js';
import type { Resolution, TargetHistory } from '../lib/history/target-history.js';
import type { HistoryStore } from '../lib/store/stats-store.js';

const CACHED = 4096;
// Chunks read at once for one page (90 days of hours are 91 chunks).
const PARALLEL = 8;

export class HistoryReads {
  readonly #store: HistoryStore;
  readonly #retention: HistoryRetention;
  /** Target-chunk (`<chunk>\n<target>`) → its records, in the order last used. */
  readonly #cache = new Map<string, readonly PeriodRecord[]>();

  constructor(store: HistoryStore, retention: HistoryRetention) {
    this.#store = store;
    this.#retention = retention;
  }

  /**
   * `key`'s records of `resolution` with periods in [from, to], in order:
   * those older than what `history` holds from the store (and `unsaved`,
   * records closed and not saved yet), the rest from `history`.
   */
  async records(
    key: string,
    history: TargetHistory,
    resolution: Resolution,
    from: number,
    to: number,
    nowS: number,
    unsaved: (chunk: string) => readonly (readonly number[])[] | undefined,
  ): Promise<PeriodRecord[]> {
    const held = resolution === 'minute' ? history.minutes.firstPeriod : history.hours.firstPeriod;
    const boundary = held ?? to + 1;
    const out: PeriodRecord[] = [];
    if (from < boundary) {
      const last = Math.min(to, boundary - 1);
      const ids: ChunkId[] = [];
      for (
        let span = chunkOf(resolution, from).span;
        span <= chunkOf(resolution, last).span;
        span++
      ) {
        const id: ChunkId = { resolution, span };
        if (!chunkExpired(id, nowS, this.#retention)) ids.push(id);
      }
      const stored: (readonly PeriodRecord[])[] = [];
      for (let i = 0; i < ids.length; i += PARALLEL)
        stored.push(
          ...(await Promise.all(ids.slice(i, i + PARALLEL).map((id) => this.#chunk(id, key)))),
        );
      const parts = stored.flat();
      for (const id of ids) parts.push(...checked(id, unsaved(chunkKey(id)) ?? []));
      for (const r of mergePeriods(parts)) if (r.period >= from && r.period <= last) out.push(r);
    }
    for (const r of history.records(resolution, Math.max(from, boundary), to)) out.push(r);
    return out;
  }

  /** Records saved since they were read: read again next time. */
  forget(chunk: string, target: string): void {
    this.#cache.delete(`${chunk}\n${target}`);
  }

  async #chunk(id: ChunkId, key: string): Promise<readonly PeriodRecord[]> {
    const name = chunkKey(id);
    const cacheKey = `${name}\n${key}`;
    const kept = this.#cache.get(cacheKey);
    if (kept) {
      this.#cache.delete(cacheKey);
      this.#cache.set(cacheKey, kept);
      return kept;
    }
    const records = (await this.#store.loadHistoryChunk(name, [key])).get(key) ?? [];
    const made = checked(id, records);
    this.#cache.set(cacheKey, made);
    if (this.#cache.size > CACHED) this.#cache.delete(this.#cache.keys().next().value!);
    return made;
  }
}

function checked(id: ChunkId, records: readonly (readonly number[])[]): PeriodRecord[] {
  const [from, to] = chunkPeriods(id);
  const out: PeriodRecord[] = [];
  for (const numbers of records) {
    const r = checkRecord(numbers, from, to);
    if (r) out.push(r);
  }
  return out;
}

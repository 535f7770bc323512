// Closes every target's minute when the wall clock passes a minute boundary,
// appends the records closed since the last save to the store, and restores
// the recent span of history (what memory holds: RECENT_LIMITS) at start and
// into a target that comes back; older records are read from the store when
// a page asks (history-reads.ts). Saved once a minute,
// not every --save-interval: only closed minutes are new. A save carries
// only what closed (a minute per target, once an hour an hour), never a
// record again, so it costs the same at any point of the retention. A kill
// -9 loses at most the open minute's history (the counters keep their own
// save).
//
// With --group the history is the group's, like the statistics: a target's
// records are read from the group's chunks when this member takes it on,
// and written under the member's token, so a target moved to another member
// keeps its history there, and a member cut off never writes a target
// another member has taken over.

import { quoted } from '../lib/render/printable.js';
import { runSliced } from '../lib/slicing.js';
import {
  checkRecord,
  chunkExpired,
  chunkKey,
  chunkOf,
  chunkPeriods,
  chunksSince,
  chunksWithin,
  parseChunkKey,
  recordNumbers,
  type ChunkId,
} from '../lib/history/history-chunks.js';
import type { PeriodRecord } from '../lib/history/period-ring.js';
import { DEFAULT_RETENTION, keptPeriods, type HistoryRetention } from '../lib/history/retention.js';
import {
  RECENT_HOURS,
  RECENT_MINUTES,
  TargetHistory,
  type ReadRecords,
  type Resolution,
} from '../lib/history/target-history.js';
import type { TargetStats } from '../lib/stats/target-stats.js';
import type { HistoryStore } from '../lib/store/stats-store.js';
import { HistoryReads } from './history-reads.js';

export interface HistoryKeeperOptions {
  readonly store: HistoryStore;
  readonly live: () => Iterable<{ readonly key: string; readonly stats: TargetStats }>;
  readonly wallNowMs: () => number;
  readonly forgetAfterMs: number;
  /** How long records are kept in the store; a resolution kept 0 periods is not saved. */
  readonly retention?: HistoryRetention;
  readonly log: (line: string) => void;
  /**
   * With --group: nothing is read whole at start; a target taken on has its
   * records read alone, and saves carry the member's token (none while it
   * is not registered: nothing is written then, the records wait).
   */
  readonly shared?: { token(): string | undefined };
}

interface Held {
  readonly history: TargetHistory;
  readonly sinceWallMs: number;
}

// Records waiting for a save that failed are kept for this many minute
// chunks (hours of minutes); older ones are dropped with a log line, so a
// store down for a day does not grow memory without bound.
const PENDING_MINUTE_CHUNKS = 3;
// Targets taken on within this long are read together.
const FETCH_DELAY_MS = 50;
const FETCH_RETRY_MS = 5_000;

type Pending = Map<string, Map<string, number[][]>>;

export class HistoryKeeper {
  readonly #opts: HistoryKeeperOptions;
  #loaded = false;
  readonly #held = new Map<string, Held>();
  /** Chunk names the store holds, to delete them once expired. */
  readonly #stored = new Set<string>();
  /** Records closed and not saved yet: chunk name → target → records. */
  #pending: Pending = new Map();
  #busy: Promise<void> = Promise.resolve();
  /** Shared mode: targets taken on whose saved records are not read yet. */
  readonly #toFetch = new Set<string>();
  #fetchTimer: NodeJS.Timeout | undefined;
  #refusing = false;

  readonly #retention: HistoryRetention;
  readonly #reads: HistoryReads;

  constructor(opts: HistoryKeeperOptions) {
    this.#opts = opts;
    this.#retention = opts.retention ?? DEFAULT_RETENTION;
    this.#reads = new HistoryReads(opts.store, this.#retention);
  }

  /** Reads the recent span of the saved history once, a chunk at a time; false while the store cannot be read. */
  async load(): Promise<boolean> {
    if (this.#loaded) return true;
    if (this.#opts.shared) {
      // Nothing read whole: each target's records are read as it is taken
      // on. Asking for no chunk still converts what an older release saved
      // under this member's instance, into the group's chunks.
      try {
        await this.#opts.store.historyChunkNames([]);
      } catch (err) {
        this.#opts.log(`cannot read saved history yet: ${message(err)}`);
        return false;
      }
      this.#loaded = true;
      return true;
    }
    const histories = new Map<string, TargetHistory>();
    let chunks = 0;
    try {
      const nowS = this.#opts.wallNowMs() / 1000;
      const within = chunksWithin(nowS, this.#retention);
      const names = new Set(await this.#opts.store.historyChunkNames(within.map(chunkKey)));
      // Those past the retention too: the next save deletes them.
      for (const name of names) this.#stored.add(name);
      for (const id of this.#recentChunks(nowS, names)) {
        const name = chunkKey(id);
        if (!names.has(name)) continue;
        const records = await this.#opts.store.loadHistoryChunk(name);
        chunks++;
        await runSliced(this.#restoreChunk(id, records, histories));
      }
    } catch (err) {
      this.#opts.log(`cannot read saved history yet: ${message(err)}`);
      this.#stored.clear();
      return false;
    }
    const live = new Map([...this.#opts.live()].map((t) => [t.key, t.stats]));
    const wall = this.#opts.wallNowMs();
    for (const [key, history] of histories) {
      const stats = live.get(key);
      if (stats) stats.adoptHistory(history);
      else this.#held.set(key, { history, sinceWallMs: wall });
    }
    this.#loaded = true;
    this.#opts.log(`restored history of ${histories.size} targets from ${chunks} chunks`);
    return true;
  }

  /**
   * The chunks memory holds from (RECENT_LIMITS): the last day of hours, the
   * last hours of minutes, and the newest minute chunk saved if older (its
   * hour was open at the stop: replayed, it closes and is saved).
   */
  #recentChunks(nowS: number, names?: ReadonlySet<string>): ChunkId[] {
    const hours = chunksSince('hour', nowS, RECENT_HOURS, this.#retention);
    const minutes = chunksSince('minute', nowS, RECENT_MINUTES, this.#retention);
    const newest = Math.max(
      -1,
      ...[...(names ?? [])]
        .map(parseChunkKey)
        .filter((id) => id?.resolution === 'minute' && !chunkExpired(id, nowS, this.#retention))
        .map((id) => id!.span),
    );
    if (minutes.length > 0 && newest >= 0 && newest < minutes[0]!.span)
      minutes.unshift({ resolution: 'minute', span: newest });
    return [...hours, ...minutes];
  }

  /** A target's records for a page: the recent ones from its history, the older ones from the store. */
  readonly records: ReadRecords = (key, history, resolution, from, to) =>
    this.#reads.records(
      key,
      history,
      resolution,
      from,
      to,
      this.#opts.wallNowMs() / 1000,
      (chunk) => this.#pending.get(chunk)?.get(key),
    );

  /** One chunk's records into the histories, a target per step (hours before minutes, in time order). */
  *#restoreChunk(
    id: ChunkId,
    records: ReadonlyMap<string, number[][]>,
    histories: Map<string, TargetHistory>,
  ): Generator<void> {
    const [from, to] = chunkPeriods(id);
    let skipped = 0;
    for (const [key, list] of records) {
      const good: PeriodRecord[] = [];
      for (const numbers of list) {
        const r = checkRecord(numbers, from, to);
        if (r) good.push(r);
        else skipped++;
      }
      if (good.length === 0) continue;
      // Stable: two parts of one period (a stop within it) stay in order and add up.
      good.sort((a, b) => a.period - b.period);
      let h = histories.get(key);
      if (!h) histories.set(key, (h = new TargetHistory()));
      for (const r of good) {
        if (id.resolution === 'hour') h.restoreHour(r.period, r.counts, r.pairs);
        else h.restoreMinute(r.period, r.counts, r.pairs);
      }
      yield;
    }
    if (skipped > 0)
      this.#opts.log(`history chunk ${chunkKey(id)}: skipped ${skipped} malformed records`);
  }

  /**
   * The history kept for a target being added, if any; handed over once.
   * In a group its records are read from the group's chunks instead (its
   * last owner may have been another member), shortly after.
   */
  take(key: string): TargetHistory | undefined {
    const held = this.#held.get(key);
    this.#held.delete(key);
    if (!this.#opts.shared) return held?.history;
    this.#toFetch.add(key);
    this.#scheduleFetch(FETCH_DELAY_MS);
    return undefined;
  }

  #scheduleFetch(delayMs: number): void {
    if (this.#fetchTimer) return;
    this.#fetchTimer = setTimeout(() => {
      this.#fetchTimer = undefined;
      void this.#fetch();
    }, delayMs);
    this.#fetchTimer.unref();
  }

  /** Shared mode: reads the records of the targets taken on and hands them to those still probed here. */
  async #fetch(): Promise<void> {
    const keys = [...this.#toFetch];
    this.#toFetch.clear();
    if (keys.length === 0) return;
    const histories = new Map<string, TargetHistory>();
    try {
      for (const id of this.#recentChunks(this.#opts.wallNowMs() / 1000)) {
        const records = await this.#opts.store.loadHistoryChunk(chunkKey(id), keys);
        await runSliced(this.#restoreChunk(id, records, histories));
      }
    } catch (err) {
      this.#opts.log(
        `cannot read the group's history of ${keys.length} targets yet: ${message(err)}`,
      );
      for (const key of keys) this.#toFetch.add(key);
      this.#scheduleFetch(FETCH_RETRY_MS);
      return;
    }
    const wanted = new Set(keys);
    for (const t of this.#opts.live()) {
      const history = histories.get(t.key);
      if (history && wanted.has(t.key)) t.stats.adoptHistory(history);
    }
  }

  /** Keeps a removed target's history for the grace period (it stays in the saved chunks anyway). */
  release(key: string, history: TargetHistory): void {
    const wall = this.#opts.wallNowMs();
    // Its last, partial minute: closed now, or the minute closes would skip
    // it (they run over live targets) and a re-add would file it later.
    this.#closed(key, history, history.closeMinute(Math.floor(wall / 60_000)));
    this.#held.set(key, { history, sinceWallMs: wall });
  }

  /** The history of a live or held target, for the API. */
  find(key: string, live: TargetStats | undefined): TargetHistory | undefined {
    return live?.history ?? this.#held.get(key)?.history;
  }

  /**
   * Closes the minute just ended (or, at stop, the open one) for every live
   * target, then saves what closed. Calls run one after another.
   */
  closeAndSave(minute: number): Promise<void> {
    const run = this.#busy.then(() => this.#closeAndSave(minute));
    this.#busy = run.catch(() => undefined);
    return run;
  }

  async #closeAndSave(minute: number): Promise<void> {
    const live = [...this.#opts.live()];
    await runSliced(this.#closeAll(live, minute));
    if (!(await this.load())) return; // records closed before the saved ones are read would be read twice
    const wall = this.#opts.wallNowMs();
    for (const [key, held] of this.#held)
      if (wall - held.sinceWallMs > this.#opts.forgetAfterMs) this.#held.delete(key);
    this.#trimPending();
    const forget = [...this.#stored].filter((name) => {
      const id = parseChunkKey(name);
      return !id || chunkExpired(id, wall / 1000, this.#retention);
    });
    if (forget.length > 0) {
      await this.#opts.store.forgetHistory(forget);
      for (const name of forget) this.#stored.delete(name);
    }
    let token: string | undefined;
    if (this.#opts.shared) {
      token = this.#opts.shared.token();
      if (token === undefined) return; // not a member now: the records wait for the next save
    }
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    let refused: string[];
    try {
      refused = await this.#opts.store.appendHistory(batch, token);
    } catch (err) {
      // Back in front of what closed meanwhile, for the next save.
      for (const [name, targets] of this.#pending)
        for (const [key, records] of targets) addRecords(batch, name, key, records);
      this.#pending = batch;
      throw err;
    }
    for (const [name, targets] of batch) {
      this.#stored.add(name);
      for (const key of targets.keys()) this.#reads.forget(name, key);
    }
    if (refused.length > 0 && !this.#refusing)
      this.#opts.log(
        `history of ${refused.length} targets not saved: another member of the group has taken them over (${quoted(refused[0]!.slice(0, 60))}, ...)`,
      );
    this.#refusing = refused.length > 0;
  }

  *#closeAll(
    live: readonly { readonly key: string; readonly stats: TargetStats }[],
    minute: number,
  ): Generator<void> {
    for (const t of live) {
      this.#closed(t.key, t.stats.history, t.stats.history.closeMinute(minute));
      yield;
    }
    for (const [key, held] of this.#held) this.#closed(key, held.history, undefined);
  }

  /** Queues a closed minute and the hours it closed, if any. */
  #closed(key: string, history: TargetHistory, minute: PeriodRecord | undefined): void {
    if (minute) this.#queue(key, 'minute', minute);
    for (const hour of history.takeClosedHours()) {
      const r = history.hours.get(hour);
      if (r) this.#queue(key, 'hour', r);
    }
  }

  #queue(key: string, resolution: Resolution, r: PeriodRecord): void {
    if (keptPeriods(this.#retention, resolution) === 0) return;
    const id = chunkOf(resolution, r.period);
    addRecords(this.#pending, chunkKey(id), key, [
      recordNumbers(r, r.period - chunkPeriods(id)[0]),
    ]);
  }

  #trimPending(): void {
    const minutes = [...this.#pending.keys()]
      .map((name) => [name, parseChunkKey(name)] as const)
      .filter(([, id]) => id?.resolution === 'minute')
      .sort((a, b) => a[1]!.span - b[1]!.span);
    for (const [name] of minutes.slice(0, Math.max(0, minutes.length - PENDING_MINUTE_CHUNKS))) {
      this.#pending.delete(name);
      this.#opts.log(
        `history chunk ${name} dropped unsaved: the store has refused saves for hours`,
      );
    }
  }
}

function addRecords(pending: Pending, name: string, key: string, records: number[][]): void {
  let targets = pending.get(name);
  if (!targets) pending.set(name, (targets = new Map<string, number[][]>()));
  const list = targets.get(key);
  if (list) list.push(...records);
  else targets.set(key, records);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

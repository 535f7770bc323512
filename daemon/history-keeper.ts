// Closes every target's minute when the wall clock passes a minute boundary,
// saves the history chunks that changed, and restores history at start and
// into a target that comes back. Saved once a minute, not every
// --save-interval: only closed minutes are new, so a save every 5 s would
// rewrite the same records twelve times. A kill -9 loses at most the open
// minute's history (the counters keep their own 5 s save).

import { quoted } from '../lib/render/printable.js';
import { runSliced } from '../lib/slicing.js';
import {
  chunkExpired,
  chunkKey,
  chunkOf,
  chunkPieces,
  parseChunk,
  parseChunkKey,
  type ChunkId,
} from '../lib/history/history-chunks.js';
import type { PeriodRecord } from '../lib/history/period-ring.js';
import { TargetHistory } from '../lib/history/target-history.js';
import type { TargetStats } from '../lib/stats/target-stats.js';
import type { HistoryStore } from '../lib/store/stats-store.js';

export interface HistoryKeeperOptions {
  readonly store: HistoryStore;
  readonly live: () => Iterable<{ readonly key: string; readonly stats: TargetStats }>;
  readonly wallNowMs: () => number;
  readonly forgetAfterMs: number;
  readonly log: (line: string) => void;
}

interface Held {
  readonly history: TargetHistory;
  readonly sinceWallMs: number;
}

export class HistoryKeeper {
  readonly #opts: HistoryKeeperOptions;
  #loaded = false;
  readonly #held = new Map<string, Held>();
  /** Chunk names the store holds, to delete them once expired. */
  readonly #stored = new Set<string>();
  /** Days (hour-chunk spans) with hours closed and not yet saved. */
  readonly #unsavedDays = new Set<number>();
  #busy: Promise<void> = Promise.resolve();

  constructor(opts: HistoryKeeperOptions) {
    this.#opts = opts;
  }

  /** Reads the saved history once, a chunk at a time; false while the store cannot be read. */
  async load(): Promise<boolean> {
    if (this.#loaded) return true;
    const histories = new Map<string, TargetHistory>();
    let chunks = 0;
    try {
      for (const [id, name] of this.#chunkOrder(await this.#opts.store.historyChunkNames())) {
        const text = await this.#opts.store.loadHistoryChunk(name);
        if (text === undefined) continue;
        this.#stored.add(name);
        chunks++;
        await runSliced(this.#restoreChunk(id, name, text, histories));
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

  /** Hour chunks first, then minutes, each in time order (restoreMinute needs it). */
  #chunkOrder(names: readonly string[]): [ChunkId, string][] {
    const ids: [ChunkId, string][] = [];
    for (const name of names) {
      const id = parseChunkKey(name);
      if (id) ids.push([id, name]);
      else this.#opts.log(`skipping history chunk ${quoted(name.slice(0, 60))}: not a chunk name`);
    }
    return ids.sort(
      (a, b) =>
        (a[0].resolution === b[0].resolution ? 0 : a[0].resolution === 'hour' ? -1 : 1) ||
        a[0].span - b[0].span,
    );
  }

  /** One chunk's records into the histories, a target per step. */
  *#restoreChunk(
    id: ChunkId,
    name: string,
    text: string,
    histories: Map<string, TargetHistory>,
  ): Generator<void> {
    let records: Map<string, PeriodRecord[]>;
    try {
      const parsed = parseChunk(id, text);
      records = parsed.records;
      if (parsed.skipped > 0)
        this.#opts.log(`history chunk ${name}: skipped ${parsed.skipped} malformed records`);
    } catch (err) {
      this.#opts.log(`skipping history chunk ${name}: ${message(err)}`);
      return;
    }
    for (const [key, list] of records) {
      let h = histories.get(key);
      if (!h) histories.set(key, (h = new TargetHistory()));
      for (const r of list) {
        if (id.resolution === 'hour') h.restoreHour(r.period, r.counts, r.pairs);
        else h.restoreMinute(r.period, r.counts, r.pairs);
      }
      yield;
    }
  }

  /** The history kept for a target being added, if any; handed over once. */
  take(key: string): TargetHistory | undefined {
    const held = this.#held.get(key);
    this.#held.delete(key);
    return held?.history;
  }

  /** Keeps a removed target's history for the grace period (it stays in the saved chunks anyway). */
  release(key: string, history: TargetHistory): void {
    const wall = this.#opts.wallNowMs();
    // Its last, partial minute: closed now, or the minute closes would skip
    // it (they run over live targets) and a re-add would file it later.
    history.closeMinute(Math.floor(wall / 60_000));
    this.#held.set(key, { history, sinceWallMs: wall });
  }

  /** The history of a live or held target, for the API. */
  find(key: string, live: TargetStats | undefined): TargetHistory | undefined {
    return live?.history ?? this.#held.get(key)?.history;
  }

  /**
   * Closes the minute just ended (or, at stop, the open one) for every live
   * target, then saves the chunks it changed. Calls run one after another.
   */
  closeAndSave(minute: number): Promise<void> {
    const run = this.#busy.then(() => this.#closeAndSave(minute));
    this.#busy = run.catch(() => undefined);
    return run;
  }

  async #closeAndSave(minute: number): Promise<void> {
    const live = [...this.#opts.live()];
    await runSliced(closeAll(live, minute));
    if (!(await this.load())) return; // never overwrite history not read yet
    const wall = this.#opts.wallNowMs();
    for (const [key, held] of this.#held)
      if (wall - held.sinceWallMs > this.#opts.forgetAfterMs) this.#held.delete(key);
    const histories: [string, TargetHistory][] = [
      ...live.map((t): [string, TargetHistory] => [t.key, t.stats.history]),
      ...[...this.#held].map(([key, held]): [string, TargetHistory] => [key, held.history]),
    ];
    // This minute's chunk, and the day chunk of every hour some target
    // closed since the last save: usually none, once an hour the hour
    // before, after a gap whatever hour was open then.
    // (Kept until a save succeeds: a failed one must not lose them.)
    const changed: ChunkId[] = [chunkOf('minute', minute)];
    for (const [, history] of histories)
      for (const hour of history.takeClosedHours())
        this.#unsavedDays.add(chunkOf('hour', hour).span);
    const days = [...this.#unsavedDays].sort((a, b) => a - b);
    for (const span of days) changed.push({ resolution: 'hour', span });
    const chunks = new Map<string, string>();
    for (const id of changed) {
      const pieces = await runSliced(collect(chunkPieces(id, histories)));
      chunks.set(chunkKey(id), pieces.join(''));
    }
    const forget = [...this.#stored].filter((name) => {
      const id = parseChunkKey(name);
      return !id || chunkExpired(id, wall / 1000);
    });
    await this.#opts.store.saveHistory(chunks, forget);
    for (const span of days) this.#unsavedDays.delete(span);
    for (const name of chunks.keys()) this.#stored.add(name);
    for (const name of forget) this.#stored.delete(name);
  }
}

function* closeAll(
  live: readonly { readonly stats: TargetStats }[],
  minute: number,
): Generator<void> {
  for (const t of live) {
    t.stats.history.closeMinute(minute);
    yield;
  }
}

function* collect(pieces: Generator<string>): Generator<void, string[]> {
  const out: string[] = [];
  for (const piece of pieces) {
    out.push(piece);
    yield;
  }
  return out;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

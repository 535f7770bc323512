// Saves every target's statistics every few seconds and at shutdown, and
// restores them: at start into the targets being probed, later into a target
// that comes back (a restart, or a remove followed by an add within the
// grace period). Nothing is saved before the old statistics have been read,
// so a daemon that starts while its store is down never overwrites them.

import { quoted } from '../lib/render/printable.js';
import { runSliced } from '../lib/slicing.js';
import { parseSavedStats, type SavedStats } from '../lib/stats/saved-stats.js';
import type { TargetStats } from '../lib/stats/target-stats.js';
import type { StatsStore } from '../lib/store/stats-store.js';

export interface StatsKeeperOptions {
  readonly store: StatsStore;
  /** The targets being probed now. */
  readonly live: () => Iterable<LiveTarget>;
  readonly nowMs: () => number; // the engine's monotonic clock
  readonly wallNowMs: () => number;
  readonly forgetAfterMs: number;
  readonly log: (line: string) => void;
}

export interface LiveTarget {
  readonly key: string;
  readonly stats: TargetStats;
  readonly ledger: { readonly inFlight: number };
}

interface Held {
  readonly saved: SavedStats;
  readonly sinceWallMs: number;
}

export class StatsKeeper {
  readonly #opts: StatsKeeperOptions;
  #loaded = false;
  readonly #held = new Map<string, Held>();
  /** Expired entries still to delete from the store (a failed save retries them). */
  readonly #toForget = new Set<string>();
  #saving: Promise<void> | undefined;
  #loading: Promise<boolean> | undefined;
  /** Targets whose saved statistics were merged back, at load or on add. */
  #restored = 0;
  /** Resolves once the saved statistics have been read. */
  readonly whenLoaded: Promise<void>;
  #markLoaded: () => void = () => {};

  constructor(opts: StatsKeeperOptions) {
    this.#opts = opts;
    this.whenLoaded = new Promise((resolve) => (this.#markLoaded = resolve));
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** Reads the saved statistics once; false while the store cannot be read. Concurrent calls share one read. */
  load(): Promise<boolean> {
    this.#loading ??= this.#load().finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  async #load(): Promise<boolean> {
    if (this.#loaded) return true;
    let entries: Map<string, string>;
    try {
      entries = await this.#opts.store.loadStats();
    } catch (err) {
      this.#opts.log(
        `cannot read saved statistics yet: ${err instanceof Error ? err.message : String(err)}`,
      );
      return false;
    }
    const live = new Map([...this.#opts.live()].map((t) => [t.key, t.stats]));
    for (const [key, text] of entries) {
      let saved: SavedStats;
      try {
        saved = parseSavedStats(text);
      } catch (err) {
        this.#opts.log(
          `skipping saved statistics of ${quoted(key.slice(0, 200))}: ${err instanceof Error ? err.message : String(err)}`,
        );
        continue;
      }
      const stats = live.get(key);
      if (stats) {
        stats.mergeSaved(saved, this.#opts.nowMs(), this.#opts.wallNowMs());
        this.#restored++;
      } else {
        this.#held.set(key, { saved, sinceWallMs: this.#opts.wallNowMs() });
      }
    }
    this.#loaded = true;
    this.#markLoaded();
    return true;
  }

  /**
   * For the log, once the first list of targets has been applied: at start
   * the statistics are read before any target is known, and handed over as
   * the targets arrive (take), so only then can they be counted.
   */
  restoredSummary(): string {
    const restored = this.#restored;
    const held = this.#held.size;
    if (restored === 0 && held === 0) return 'no saved statistics to restore';
    const line = `restored the saved statistics of ${count(restored, 'target')}`;
    if (held === 0) return line;
    return (
      `${line}; keeping those of ${count(held, 'other target')}, not in the list, ` +
      `for --forget-after in case they are added again`
    );
  }

  /** Saved statistics for a target being added, if any; they are handed over once. */
  take(key: string): SavedStats | undefined {
    const held = this.#held.get(key);
    this.#held.delete(key);
    this.#toForget.delete(key);
    if (held) this.#restored++;
    return held?.saved;
  }

  /** Keeps a removed target's statistics for the grace period. */
  release(key: string, stats: TargetStats): void {
    const wall = this.#opts.wallNowMs();
    this.#held.set(key, { saved: stats.toSaved(this.#opts.nowMs(), wall), sinceWallMs: wall });
  }

  /** Saves now; concurrent calls share one save. */
  save(): Promise<void> {
    this.#saving ??= this.#save().finally(() => (this.#saving = undefined));
    return this.#saving;
  }

  /** Each live target's saved form, one target per step. */
  *#serialise(live: readonly LiveTarget[], wall: number): Generator<void, Map<string, string>> {
    const entries = new Map<string, string>();
    for (const { key, stats, ledger } of live) {
      entries.set(key, JSON.stringify(stats.toSaved(this.#opts.nowMs(), wall, ledger.inFlight)));
      yield;
    }
    return entries;
  }

  async #save(): Promise<void> {
    if (!(await this.load())) return;
    const wall = this.#opts.wallNowMs();
    const entries = await runSliced(this.#serialise([...this.#opts.live()], wall));
    for (const [key, held] of this.#held) {
      if (wall - held.sinceWallMs > this.#opts.forgetAfterMs) {
        this.#toForget.add(key);
        this.#held.delete(key);
      } else if (!entries.has(key)) {
        entries.set(key, JSON.stringify(held.saved));
      }
    }
    const forget = [...this.#toForget].filter((key) => !entries.has(key));
    await this.#opts.store.saveStats(entries, forget);
    forget.forEach((key) => this.#toForget.delete(key));
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

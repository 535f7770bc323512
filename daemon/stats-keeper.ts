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
  /**
   * With --group: the statistics are the group's (one hash, all members),
   * so they are not read whole at start; a target this member takes over
   * has its own entry fetched (at start, or moved from another member), and
   * a target given up is saved once, at once, then left to its new owner.
   * Every read and write carries the member's token: a read makes it the
   * entry's owner, and a write by anyone but the owner is refused, so a
   * member that was cut off never overwrites what a newer owner saved.
   */
  readonly shared?: {
    /** Reads the entries of targets taken on, making `token` their owner. */
    fetch(keys: readonly string[], token: string): Promise<Map<string, string>>;
    /** Writes what `token` owns (or nobody does) and forgets; resolves to the keys refused. */
    save(
      entries: ReadonlyMap<string, string>,
      forget: readonly string[],
      token: string,
    ): Promise<readonly string[]>;
    /** The member's token while its registration is current; nothing is read or written without one. */
    token(): string | undefined;
    /** Whether the target is in the group's set still (owned by some member). */
    inSet(key: string): boolean;
  };
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
  /** Shared mode: written to the store since it was released. */
  written?: boolean;
  /** Shared mode: the member's token when it was released; only that token writes or takes it back. */
  readonly token?: string | undefined;
}

// A target given up in a group is saved this soon, with any others given up
// at the same time, so its new owner finds its latest counters.
const HANDOVER_SAVE_DELAY_MS = 50;

export class StatsKeeper {
  readonly #opts: StatsKeeperOptions;
  #loaded = false;
  readonly #held = new Map<string, Held>();
  /** Expired entries still to delete from the store (a failed save retries them). */
  readonly #toForget = new Set<string>();
  #saving: Promise<void> | undefined;
  /** A save asked for while one runs: it runs right after (requests in between share it). */
  #followUp: Promise<void> | undefined;
  #loading: Promise<boolean> | undefined;
  /** Targets whose saved statistics were merged back, at load or on add. */
  #restored = 0;
  /** Shared mode: targets taken on whose saved entry is not read yet; never saved before it is. */
  readonly #pending = new Set<string>();
  #fetching: Promise<void> | undefined;
  #fetchFailing = false;
  /** Shared mode: the last save had entries refused (another member owns them); logged once. */
  #refusing = false;
  #handoverTimer: NodeJS.Timeout | undefined;
  #closed = false;
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
    if (this.#opts.shared) {
      // Nothing read whole: each target's entry is fetched as it is taken on.
      this.#loaded = true;
      this.#markLoaded();
      return true;
    }
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
    if (this.#opts.shared) return this.#takeShared(key);
    const held = this.#held.get(key);
    this.#held.delete(key);
    this.#toForget.delete(key);
    if (held) this.#restored++;
    return held?.saved;
  }

  /**
   * Shared mode: a held entry not yet written is the latest there is if
   * this member gave the target up and gets it back within one membership
   * (the same token); otherwise the store's entry is, whoever wrote it:
   * fetched, and merged on arrival. After a rejoin, always the store's.
   */
  #takeShared(key: string): SavedStats | undefined {
    const held = this.#held.get(key);
    this.#held.delete(key);
    this.#toForget.delete(key);
    const token = this.#opts.shared?.token();
    if (held && !held.written && token !== undefined && held.token === token) {
      this.#restored++;
      return held.saved;
    }
    this.#pending.add(key);
    void this.fetchPending();
    return undefined;
  }

  /** Reads the saved entries of the targets taken on, and merges each into its live target. */
  fetchPending(): Promise<void> {
    this.#fetching ??= this.#fetch().finally(() => (this.#fetching = undefined));
    return this.#fetching;
  }

  async #fetch(): Promise<void> {
    const shared = this.#opts.shared;
    // Let a whole apply's worth of take() calls gather first.
    await new Promise((resolve) => setImmediate(resolve));
    while (shared && this.#pending.size > 0) {
      const keys = [...this.#pending];
      // Not a current member: left pending (and unsaved) until it is.
      const token = shared.token();
      if (token === undefined) return;
      let entries: Map<string, string>;
      try {
        entries = await shared.fetch(keys, token);
      } catch (err) {
        // Left pending (and unsaved); the next save retries.
        if (!this.#fetchFailing)
          this.#opts.log(
            `cannot read the saved statistics of ${count(keys.length, 'target')} taken on: ${err instanceof Error ? err.message : String(err)}`,
          );
        this.#fetchFailing = true;
        return;
      }
      this.#fetchFailing = false;
      const live = new Map([...this.#opts.live()].map((t) => [t.key, t.stats]));
      for (const key of keys) {
        if (!this.#pending.delete(key)) continue;
        const text = entries.get(key);
        const stats = live.get(key);
        if (text === undefined || !stats) continue;
        try {
          stats.mergeSaved(parseSavedStats(text), this.#opts.nowMs(), this.#opts.wallNowMs());
          this.#restored++;
        } catch (err) {
          this.#opts.log(
            `skipping saved statistics of ${quoted(key.slice(0, 200))}: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
    }
  }

  /** Keeps a removed target's statistics for the grace period. */
  release(key: string, stats: TargetStats): void {
    const wall = this.#opts.wallNowMs();
    this.#pending.delete(key);
    this.#held.set(key, {
      saved: stats.toSaved(this.#opts.nowMs(), wall),
      sinceWallMs: wall,
      written: false,
      token: this.#opts.shared?.token(),
    });
    if (this.#opts.shared && !this.#closed) {
      // Handed over: its new owner reads it from the store, so now.
      this.#handoverTimer ??= setTimeout(() => {
        this.#handoverTimer = undefined;
        this.save().catch((err: unknown) =>
          this.#opts.log(
            `cannot save statistics at handover: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
      }, HANDOVER_SAVE_DELAY_MS);
    }
  }

  /** Stops the handover timer (the daemon's stop saves anyway). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#handoverTimer);
    this.#handoverTimer = undefined;
  }

  /**
   * Saves now. A save already running serialised its targets before this
   * call (a target handed over since would miss it), so a call during one
   * is answered by the next save, chained right after it; every call made
   * meanwhile shares that one.
   */
  save(): Promise<void> {
    if (this.#followUp) return this.#followUp;
    if (this.#saving) {
      this.#followUp = this.#saving
        .catch(() => {}) // the running save's caller hears of its failure
        .then(() => {
          this.#followUp = undefined;
          return this.save();
        });
      return this.#followUp;
    }
    this.#saving = this.#save().finally(() => (this.#saving = undefined));
    return this.#saving;
  }

  /** Each live target's saved form, as text and as the object it was made from, one target per step. */
  *#serialise(
    live: readonly LiveTarget[],
    wall: number,
  ): Generator<void, [Map<string, string>, Map<string, SavedStats>]> {
    const entries = new Map<string, string>();
    const parsed = new Map<string, SavedStats>();
    for (const { key, stats, ledger } of live) {
      const saved = stats.toSaved(this.#opts.nowMs(), wall, ledger.inFlight);
      entries.set(key, JSON.stringify(saved));
      parsed.set(key, saved);
      yield;
    }
    return [entries, parsed];
  }

  async #save(): Promise<void> {
    if (!(await this.load())) return;
    const shared = this.#opts.shared;
    // In a group, only a current member writes (its share may be another's by now).
    const token = shared?.token();
    if (shared && token === undefined) return;
    if (shared && this.#pending.size > 0) await this.fetchPending();
    const wall = this.#opts.wallNowMs();
    // Not the targets whose saved entry is unread: a fresh count would overwrite it.
    const live = [...this.#opts.live()].filter((t) => !this.#pending.has(t.key));
    const [entries, parsed] = await runSliced(this.#serialise(live, wall));
    const written: Held[] = [];
    for (const [key, held] of this.#held) {
      if (wall - held.sinceWallMs > this.#opts.forgetAfterMs) {
        // In a group, a target out of our share but in the set is another
        // member's now: its entry is theirs.
        if (!shared?.inSet(key)) this.#toForget.add(key);
        this.#held.delete(key);
      } else if (!entries.has(key) && !(shared && (held.written || held.token !== token))) {
        // Shared: written once, at handover, by the membership that held
        // it; later the new owner's saves rule.
        entries.set(key, JSON.stringify(held.saved));
        written.push(held);
      }
    }
    const forget = [...this.#toForget].filter((key) => !entries.has(key));
    if (shared && token !== undefined) {
      const refused = await shared.save(entries, forget, token);
      if (refused.length > 0 && !this.#refusing)
        this.#opts.log(
          `not saving the statistics of ${count(refused.length, 'target')} (${quoted(refused[0]!.slice(0, 200))} first): ` +
            'another member of the group has taken them over',
        );
      this.#refusing = refused.length > 0;
    } else await this.#opts.store.saveStats(entries, forget, parsed);
    forget.forEach((key) => this.#toForget.delete(key));
    for (const held of written) held.written = true;
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

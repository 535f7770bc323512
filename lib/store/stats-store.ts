import type { SavedStats } from '../stats/saved-stats.js';

/**
 * Where a daemon instance keeps its targets' statistics between runs: Redis
 * (one hash per instance) or the state directory. Entries are opaque text
 * (saved-stats.ts gives them meaning), keyed by target member.
 */
export interface StatsStore {
  loadStats(): Promise<Map<string, string>>;
  /**
   * Writes `entries` (replacing those members' entries) and deletes `forget`.
   * `parsed` may give entries as the objects their text was made from, so a
   * store that compares them with what it saved before need not parse them.
   */
  saveStats(
    entries: ReadonlyMap<string, string>,
    forget: readonly string[],
    parsed?: ReadonlyMap<string, SavedStats>,
  ): Promise<void>;
}

/** Records by chunk name, then by target key (lib/history/history-chunks.ts). */
export type ChunkRecords = ReadonlyMap<string, ReadonlyMap<string, readonly (readonly number[])[]>>;

/**
 * Where a daemon instance (or, with --group, the group) keeps its targets'
 * history: chunks of time (`m:<hour>`, `h:<day>`), each holding every
 * target's records of that time apart, so that a save appends only the
 * periods closed since the last one, and a target's history can be read
 * alone (a group member taking it over). Records are lists of numbers
 * (history-chunks.ts); each store has its own encoding.
 */
export interface HistoryStore {
  /** The names of the saved chunks, among `candidates` (those still within the retention). */
  historyChunkNames(candidates: readonly string[]): Promise<string[]>;
  /**
   * One chunk's records per target, all of them or those of `targets` only.
   * Read one chunk at a time: all of a large history at once is hundreds of MB.
   */
  loadHistoryChunk(name: string, targets?: readonly string[]): Promise<Map<string, number[][]>>;
  /**
   * Appends records to the chunks' targets. With `owner` (a group member's
   * token), a target another member owns is refused: resolves to the keys
   * of those refused.
   */
  appendHistory(chunks: ChunkRecords, owner?: string): Promise<string[]>;
  /** Deletes whole chunks (past the retention); a store whose chunks expire by themselves ignores it. */
  forgetHistory(names: readonly string[]): Promise<void>;
}

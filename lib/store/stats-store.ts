/**
 * Where a daemon instance keeps its targets' statistics between runs: Redis
 * (one hash per instance) or the state directory. Entries are opaque text
 * (saved-stats.ts gives them meaning), keyed by target member.
 */
export interface StatsStore {
  loadStats(): Promise<Map<string, string>>;
  /** Writes `entries` (replacing those members' entries) and deletes `forget`. */
  saveStats(entries: ReadonlyMap<string, string>, forget: readonly string[]): Promise<void>;
}

/**
 * Where a daemon instance keeps its targets' history (lib/history/): chunks
 * of time, each holding every target's records of that time, keyed by
 * chunk name (`m:<hour>`, `h:<day>`). Separate from the statistics so that a
 * save writes only the chunks that changed.
 */
export interface HistoryStore {
  /** The names of the saved chunks. */
  historyChunkNames(): Promise<string[]>;
  /**
   * One chunk's text, or undefined if it is gone. Read one at a time: all of
   * a large history at once is hundreds of MB, over any sane deadline.
   */
  loadHistoryChunk(name: string): Promise<string | undefined>;
  /** Writes `chunks` (replacing those) and deletes `forget`. */
  saveHistory(chunks: ReadonlyMap<string, string>, forget: readonly string[]): Promise<void>;
}

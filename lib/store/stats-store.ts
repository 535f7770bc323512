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

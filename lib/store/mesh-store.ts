/**
 * What the mesh (lib/mesh/, daemon/mesh-keeper.ts) needs from Redis: keys
 * that expire, a value set once, and every value under a pattern. Keys are
 * built by keys.ts; values are opaque text here.
 */
export interface MeshStore {
  /** SET with an expiry (PX). */
  putExpiring(key: string, text: string, ttlMs: number): Promise<void>;
  deleteKey(key: string): Promise<void>;
  /** Sets `key` to `candidate` unless it is set (SET NX); resolves to the value it holds. */
  claimOnce(key: string, candidate: string): Promise<string>;
  /**
   * The values of the keys matching `pattern` (SCAN then MGET, in batches,
   * the event loop served between them), keys in sorted order; a key that
   * expires meanwhile is left out.
   */
  scanValues(pattern: string): Promise<string[]>;
  readonly up: boolean;
}

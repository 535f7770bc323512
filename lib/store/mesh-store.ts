/**
 * What the mesh (lib/mesh/, daemon/mesh-keeper.ts) needs from Redis: keys
 * that expire, an index of who registered, a value set once. Keys are built
 * by keys.ts; values are opaque text here.
 */
export interface MeshStore {
  /** SET with an expiry (PX), and `member` added to the set `index`, in one transaction. */
  putExpiring(
    key: string,
    text: string,
    ttlMs: number,
    index?: { key: string; member: string },
  ): Promise<void>;
  deleteKey(key: string): Promise<void>;
  /** Sets `key` to `candidate` unless it is set (SET NX); resolves to the value it holds. */
  claimOnce(key: string, candidate: string): Promise<string>;
  /** The members of a set (SSCAN in batches, at most a bounded number). */
  setMembers(key: string): Promise<string[]>;
  /** The values of `keys` in order, undefined where a key is gone (MGET in batches). */
  values(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Removes members from a set. */
  removeMembers(key: string, members: readonly string[]): Promise<void>;
  readonly up: boolean;
}

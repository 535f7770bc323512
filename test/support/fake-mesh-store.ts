// A MeshStore in memory, for the mesh's unit tests: keys without expiry
// (a test deletes one to expire it), sets, and a switch that makes every
// call fail as an unreachable Redis would.

import { StoreUnavailableError } from '../../lib/errors.js';
import type { MeshStore } from '../../lib/store/mesh-store.js';

export class FakeMeshStore implements MeshStore {
  readonly kv = new Map<string, string>();
  readonly ttl = new Map<string, number>();
  readonly sets = new Map<string, Set<string>>();
  failing = false;

  get up(): boolean {
    return !this.failing;
  }

  #check(): void {
    if (this.failing) throw new StoreUnavailableError('cannot reach Redis at fake: ECONNREFUSED');
  }

  putExpiring(
    key: string,
    text: string,
    ttlMs: number,
    index?: { key: string; member: string },
  ): Promise<void> {
    return this.#do(() => {
      this.kv.set(key, text);
      this.ttl.set(key, ttlMs);
      if (index)
        this.sets.set(index.key, (this.sets.get(index.key) ?? new Set()).add(index.member));
    });
  }

  deleteKey(key: string): Promise<void> {
    return this.#do(() => void this.kv.delete(key));
  }

  claimOnce(key: string, candidate: string): Promise<string> {
    return this.#do(() => {
      if (!this.kv.has(key)) this.kv.set(key, candidate);
      return this.kv.get(key)!;
    });
  }

  setMembers(key: string): Promise<string[]> {
    return this.#do(() => [...(this.sets.get(key) ?? [])].sort());
  }

  values(keys: readonly string[]): Promise<(string | undefined)[]> {
    return this.#do(() => keys.map((k) => this.kv.get(k)));
  }

  removeMembers(key: string, members: readonly string[]): Promise<void> {
    return this.#do(() => {
      for (const m of members) this.sets.get(key)?.delete(m);
    });
  }

  #do<T>(f: () => T): Promise<T> {
    try {
      this.#check();
      return Promise.resolve(f());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

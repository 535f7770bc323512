// A TargetStore that is a Set in memory: for the target changes (add,
// remove, list) without a daemon, Redis or files.

import type { TargetStore } from '../../lib/store/target-store.js';

export class MemoryTargetStore implements TargetStore {
  readonly up = true;
  readonly set: Set<string>;
  /** Every write, in order: a refused change must leave this empty. */
  readonly writes: string[] = [];

  constructor(members: readonly string[] = []) {
    this.set = new Set(members);
  }

  members(): Promise<string[]> {
    return Promise.resolve([...this.set]);
  }

  add(members: readonly string[]): Promise<number> {
    this.writes.push(`add ${members.join(' ')}`);
    const before = this.set.size;
    for (const m of members) this.set.add(m);
    return Promise.resolve(this.set.size - before);
  }

  remove(members: readonly string[]): Promise<number> {
    this.writes.push(`remove ${members.join(' ')}`);
    return Promise.resolve(members.filter((m) => this.set.delete(m)).length);
  }

  watch(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

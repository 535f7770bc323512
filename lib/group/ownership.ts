// Which targets this member of a group probes: the owner of every target
// key under the current member list (rendezvous.ts), cached, and recomputed
// in ~1 ms slices when the list changes (100,000 targets × 3 members is
// some 15 ms of hashing: never at once on the event loop).

import { runSliced } from '../slicing.js';
import { ownerOf, prepareMembers, type Members } from './rendezvous.js';

export class Ownership {
  readonly #self: string;
  #members: Members = prepareMembers([]);
  /** Target key → owner id, under #members. */
  #owners = new Map<string, string>();
  #computing: Promise<void> | undefined;
  #pending = new Set<string>();

  constructor(self: string) {
    this.#self = self;
  }

  get members(): readonly string[] {
    return this.#members.ids;
  }

  /**
   * Whether this member probes `key`: undefined while its owner is not
   * computed yet (a key new to us; see need()).
   */
  owns(key: string): boolean | undefined {
    const owner = this.#owners.get(key);
    return owner === undefined ? undefined : owner === this.#self;
  }

  ownerOf(key: string): string | undefined {
    return this.#owners.get(key) || undefined;
  }

  /** Computes the owners of keys not known yet, in slices; resolves when done. */
  need(keys: Iterable<string>): Promise<void> {
    for (const key of keys) if (!this.#owners.has(key)) this.#pending.add(key);
    return this.#drain();
  }

  async #drain(): Promise<void> {
    while (this.#computing) await this.#computing;
    if (this.#pending.size === 0) return;
    const keys = [...this.#pending];
    this.#pending = new Set();
    const members = this.#members;
    this.#computing = runSliced(this.#compute(keys, members, this.#owners)).finally(
      () => (this.#computing = undefined),
    );
    await this.#computing;
  }

  *#compute(keys: readonly string[], members: Members, into: Map<string, string>): Generator<void> {
    for (const key of keys) {
      // No members (before this one has settled, with nobody else): nobody
      // owns it, which is an answer too ('' is no valid id).
      into.set(key, ownerOf(key, members) ?? '');
      yield;
    }
  }

  /**
   * A new member list: every known key's owner is recomputed (in slices)
   * into a fresh map, swapped in at the end, so owns() never mixes lists.
   * `keep` are the keys still wanted (others are dropped from the cache).
   */
  async setMembers(ids: Iterable<string>, keep: Iterable<string>): Promise<boolean> {
    const members = prepareMembers(ids);
    if (sameList(members.ids, this.#members.ids)) return false;
    while (this.#computing) await this.#computing;
    const owners = new Map<string, string>();
    const work = runSliced(this.#compute([...keep], members, owners));
    this.#computing = work.finally(() => (this.#computing = undefined));
    await this.#computing;
    this.#members = members;
    this.#owners = owners;
    return true;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

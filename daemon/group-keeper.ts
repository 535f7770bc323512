// The daemon's part in a group (--group): every refresh it re-registers
// (a key with a short expiry, so a member killed without a goodbye drops out
// by itself), re-reads the live members and, when the list changed,
// recomputes which targets it owns (lib/group/ownership.ts) and has
// TargetSync apply its share. Joins and leaves are announced on the group's
// channel so the others re-read at once rather than at their next refresh.
//
// No target is probed twice around a change: a member gives a target up as
// soon as it sees a new member that owns it, and a joiner counts itself in
// only after a refresh period registered, by which time the others have
// seen it (its notice, or their own re-read). Redis trouble is logged once
// and survived: the last share is probed on.

import { encodeMember, readMembers } from '../lib/group/member.js';
import type { Ownership } from '../lib/group/ownership.js';
import type { GroupKeys } from '../lib/store/keys.js';
import type { MeshStore } from '../lib/store/mesh-store.js';

/** What the group needs of Redis besides the registry's expiring keys. */
export interface GroupStore extends MeshStore {
  publish(channel: string, text: string): Promise<void>;
  subscribe(channel: string, onEvent: () => void): void;
}

export interface GroupKeeperOptions {
  readonly store: GroupStore;
  readonly keys: GroupKeys;
  readonly self: string;
  readonly refreshMs: number;
  readonly expiryMs: number;
  readonly ownership: Ownership;
  /** The keys of the whole target set (TargetSync.setKeys). */
  readonly setKeys: () => readonly string[];
  /** The owners changed: TargetSync applies the share again (reapply). */
  readonly changed: () => void;
  readonly log: (line: string) => void;
}

export class GroupKeeper {
  readonly #o: GroupKeeperOptions;
  readonly #startedAt = new Date().toISOString();
  #registeredAtMs: number | undefined;
  #settled = false;
  #announced = false;
  #timer: NodeJS.Timeout | undefined;
  #settleTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #failing = false;
  #stopped = false;
  readonly #reportedSkips = new Set<string>();

  constructor(opts: GroupKeeperOptions) {
    this.#o = opts;
  }

  /** How long a joiner waits, registered, before it takes its share. */
  get settleMs(): number {
    return this.#o.refreshMs + 250;
  }

  start(): void {
    this.#o.log(
      `group ${this.#o.keys.name}: joining as ${this.#o.self} (refresh ${this.#o.refreshMs} ms, expiry ${this.#o.expiryMs} ms)`,
    );
    this.#o.store.subscribe(this.#o.keys.events, () => void this.refresh());
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#o.refreshMs);
  }

  /** One round; asked during one, another follows it (a notice must not be lost). */
  refresh(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#round().catch((err: unknown) => this.#trouble(err));
      } while (this.#again && !this.#stopped);
    })().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #round(): Promise<void> {
    const { store, keys, self, expiryMs } = this.#o;
    await store.putExpiring(
      keys.member(self),
      encodeMember({ id: self, startedAt: this.#startedAt }),
      expiryMs,
      { key: keys.members, member: self },
    );
    const now = Date.now();
    if (this.#registeredAtMs === undefined) {
      this.#registeredAtMs = now;
      this.#settleTimer = setTimeout(() => void this.refresh(), this.settleMs);
    }
    if (!this.#announced) {
      await store.publish(keys.events, JSON.stringify({ op: 'join', id: self }));
      this.#announced = true;
    }
    this.#settled ||= now - this.#registeredAtMs >= this.settleMs;
    const skipped: string[] = [];
    const live = await readMembers(store, keys, skipped);
    for (const why of skipped) {
      if (this.#reportedSkips.size < 100 && !this.#reportedSkips.has(why)) {
        this.#reportedSkips.add(why);
        this.#o.log(`group ${keys.name}: skipping a registration: ${why}`);
      }
    }
    if (this.#failing) this.#o.log(`group ${keys.name}: Redis answers again; members re-read`);
    this.#failing = false;
    const ids = live.map((m) => m.id).filter((id) => id !== self);
    if (this.#settled) ids.push(self);
    const before = this.#o.ownership.members;
    if (await this.#o.ownership.setMembers(ids, this.#o.setKeys())) {
      const now = this.#o.ownership.members;
      const joined = now.filter((id) => !before.includes(id));
      const left = before.filter((id) => !now.includes(id));
      this.#o.log(
        `group ${keys.name}: ${now.length} members (${now.join(', ')})` +
          (joined.length > 0 ? `; joined: ${joined.join(', ')}` : '') +
          (left.length > 0 ? `; left: ${left.join(', ')}` : ''),
      );
      this.#o.changed();
    }
  }

  #trouble(err: unknown): void {
    if (!this.#failing) {
      this.#o.log(
        `group ${this.#o.keys.name}: cannot reach the registry, probing the share last computed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.#failing = true;
  }

  /**
   * Stops refreshing and, if Redis answers, leaves at once: the key goes and
   * a notice tells the others to take over now rather than at expiry.
   * Called after the last statistics save, so the takers find them.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#settleTimer);
    await this.#running;
    const { store, keys, self } = this.#o;
    await store.deleteKey(keys.member(self));
    await store.removeMembers(keys.members, [self]);
    await store.publish(keys.events, JSON.stringify({ op: 'leave', id: self }));
  }
}

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
// seen it (its notice, or their own re-read).
//
// Nor around a partition: a member whose registration has not been renewed
// for the expiry cannot know it still owns anything (the others may have
// seen it expire and taken its share over), so it stops probing its share
// and rejoins, as a new member, once Redis answers. Each join has a
// generation (a counter in Redis); `<id> <generation>` is the member's
// token, which fences its writes of the group's statistics
// (lib/store/fenced-writes.ts): a target's entry is written only by the
// token that last read it, so neither a cut-off member nor a save of its
// old generation arriving late overwrites the counts of a newer owner.

import { encodeMember, readMembers } from '../lib/group/member.js';
import type { Ownership } from '../lib/group/ownership.js';
import type { GroupKeys } from '../lib/store/keys.js';
import type { MeshStore } from '../lib/store/mesh-store.js';

/** What the group needs of Redis besides the registry's expiring keys. */
export interface GroupStore extends MeshStore {
  /** One more join: INCR of the group's generation counter. */
  nextGeneration(key: string): Promise<number>;
  publish(channel: string, text: string): Promise<void>;
  subscribe(channel: string, onEvent: () => void): void;
}

export interface GroupKeeperOptions {
  readonly store: GroupStore;
  readonly keys: GroupKeys;
  readonly self: string;
  readonly refreshMs: number;
  readonly expiryMs: number;
  /** Monotonic milliseconds: the registration's age is measured on it. */
  readonly nowMs: () => number;
  /** Registers only while this is true (the process holds its instance id, daemon/instance-claim.ts). */
  readonly mayRegister?: () => boolean;
  readonly ownership: Ownership;
  /** The keys of the whole target set (TargetSync.setKeys). */
  readonly setKeys: () => readonly string[];
  /** The owners changed: TargetSync applies the share again (reapply). */
  readonly changed: () => void;
  readonly log: (line: string) => void;
}

// The share is dropped this long before the registration's expiry, so it
// is no longer probed when the others can first see the registration gone.
const LAPSE_MARGIN_MS = 250;

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
  /** This join's generation, once drawn; `<id> <generation>` is the token. */
  #generation: number | undefined;
  #token: string | undefined;
  /** The registration is current until then (monotonic ms): the last renewal sent + the expiry. */
  #leaseUntilMs = -Infinity;
  #lapseTimer: NodeJS.Timeout | undefined;
  /** Counts lapses, so a round that was waiting on Redis during one does not undo it. */
  #lapses = 0;
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

  /**
   * This member's token while its registration is current, for writing and
   * claiming the group's statistics; undefined before it joins and once the
   * registration has gone unrenewed for the expiry.
   */
  token(): string | undefined {
    return this.#o.nowMs() < this.#leaseUntilMs ? this.#token : undefined;
  }

  async #round(): Promise<void> {
    const { store, keys, self, expiryMs } = this.#o;
    if (this.#o.mayRegister && !this.#o.mayRegister()) return;
    const lapses = this.#lapses;
    const sentAt = this.#o.nowMs();
    // A renewal later than the expiry (a paused process, a late timer) is no renewal.
    if (this.#token !== undefined && sentAt >= this.#leaseUntilMs) await this.#lapse();
    this.#generation ??= await store.nextGeneration(keys.generation);
    await store.putExpiring(
      keys.member(self),
      encodeMember({ id: self, startedAt: this.#startedAt }),
      expiryMs,
      { key: keys.members, member: self },
    );
    // The registration lapsed while this round waited: the next one rejoins.
    if (lapses !== this.#lapses) return;
    this.#leaseUntilMs = sentAt + expiryMs;
    this.#armLapse();
    const now = this.#o.nowMs();
    if (this.#registeredAtMs === undefined) {
      this.#registeredAtMs = now;
      this.#token = `${self} ${this.#generation}`;
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

  /** Stops a little before the registration can expire in Redis (renewals are sent before they arrive). */
  #armLapse(): void {
    clearTimeout(this.#lapseTimer);
    const inMs = Math.max(0, this.#leaseUntilMs - LAPSE_MARGIN_MS - this.#o.nowMs());
    this.#lapseTimer = setTimeout(() => void this.#lapse(), inMs);
  }

  /**
   * The registration went unrenewed for the expiry: the others may own this
   * member's share by now. It probes nothing of the set until it has joined
   * again (a new generation, a settle period, the statistics read back).
   */
  async #lapse(): Promise<void> {
    if (this.#token === undefined || this.#stopped) return;
    this.#lapses++;
    this.#o.log(
      `group ${this.#o.keys.name}: registration not renewed for ${this.#o.expiryMs} ms: ` +
        'stopped probing this member’s share (the others take it over); rejoining when Redis answers',
    );
    this.#token = undefined;
    this.#generation = undefined;
    this.#leaseUntilMs = -Infinity;
    this.#registeredAtMs = undefined;
    this.#settled = false;
    this.#announced = false;
    clearTimeout(this.#settleTimer);
    clearTimeout(this.#lapseTimer);
    const others = this.#o.ownership.members.filter((id) => id !== this.#o.self);
    if (await this.#o.ownership.setMembers(others, this.#o.setKeys())) this.#o.changed();
  }

  #trouble(err: unknown): void {
    if (!this.#failing) {
      this.#o.log(
        `group ${this.#o.keys.name}: cannot reach the registry, probing the share last computed until the registration expires: ${err instanceof Error ? err.message : String(err)}`,
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
    clearTimeout(this.#lapseTimer);
    await this.#running;
    const { store, keys, self } = this.#o;
    await store.deleteKey(keys.member(self));
    await store.removeMembers(keys.members, [self]);
    await store.publish(keys.events, JSON.stringify({ op: 'leave', id: self }));
  }
}

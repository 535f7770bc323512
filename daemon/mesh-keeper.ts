// The daemon's part in the mesh: every refresh it re-registers itself (a
// Redis key with an expiry, so a dead instance leaves by itself), puts the
// mesh's peer key back if Redis lost it, reads the registry, hands the
// peers to TargetSync as generated targets, and writes the summary of its
// mesh targets. Redis trouble is logged once and survived: the last peers
// known are probed on, and the mesh re-forms when Redis answers again.

import type { ProbedTarget } from '../lib/engine/probe-engine.js';
import { meshTargets } from '../lib/mesh/mesh-targets.js';
import { readRegistrations } from '../lib/mesh/read.js';
import { encodeRegistration, type Registration } from '../lib/mesh/registration.js';
import { addBuckets, encodeSummary, MESH_WINDOW_MS, type SummaryRow } from '../lib/mesh/summary.js';
import { MeshWindow } from '../lib/mesh/window.js';
import type { Keys } from '../lib/store/keys.js';
import type { MeshStore } from '../lib/store/mesh-store.js';
import { probeKindOf, targetKey, type Target } from '../lib/target.js';

export { MESH_WINDOW_MS };

export interface MeshKeeperOptions {
  readonly store: MeshStore;
  readonly keys: Keys;
  readonly self: Registration;
  readonly probes: readonly string[];
  readonly refreshMs: number;
  readonly expiryMs: number;
  /** The mesh key we hold, when it came from Redis (and so is put back there if lost). */
  readonly sharedPeerKey: string | undefined;
  /** Hands the peers' targets to TargetSync (setGenerated). */
  readonly setTargets: (targets: readonly Target[]) => void;
  readonly probed: (key: string) => ProbedTarget | undefined;
  readonly nowMs: () => number;
  readonly log: (line: string) => void;
}

export class MeshKeeper {
  readonly #o: MeshKeeperOptions;
  readonly #window = new MeshWindow(MESH_WINDOW_MS);
  #targets: readonly Target[] = [];
  #peers = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #failing = false;
  #warnedKey = false;
  #warnedTwin = false;
  readonly #reportedSkips = new Set<string>();

  constructor(opts: MeshKeeperOptions) {
    this.#o = opts;
  }

  start(): void {
    this.#o.log(
      `mesh: registering as ${this.#o.self.id} at ${this.#o.self.addresses.join(', ')} ` +
        `(peer port ${this.#o.self.peerPort}); probing peers with ${this.#o.probes.join(', ')}`,
    );
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#o.refreshMs);
  }

  /** One round; a round still running when the next is due is not doubled. */
  refresh(): Promise<void> {
    this.#running ??= this.#round()
      .catch((err: unknown) => this.#trouble(err))
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #round(): Promise<void> {
    const { store, keys, self, expiryMs } = this.#o;
    await store.putExpiring(keys.mesh.instance(self.id), encodeRegistration(self), expiryMs, {
      key: keys.mesh.instances,
      member: self.id,
    });
    if (this.#o.sharedPeerKey !== undefined) {
      const held = await store.claimOnce(keys.mesh.peerKey, this.#o.sharedPeerKey);
      if (held !== this.#o.sharedPeerKey && !this.#warnedKey) {
        this.#warnedKey = true;
        this.#o.log(
          `mesh: the peer key in Redis (${keys.mesh.peerKey}) is not the one this instance started with; ` +
            'peers that started after the change cannot check our udp probes: restart this instance to take it',
        );
      }
    }
    const skipped: string[] = [];
    const registrations = await readRegistrations(store, keys, skipped);
    for (const why of skipped) {
      if (this.#reportedSkips.size < 100 && !this.#reportedSkips.has(why)) {
        this.#reportedSkips.add(why);
        this.#o.log(`mesh: skipping a registration: ${why}`);
      }
    }
    const mine = registrations.find((r) => r.id === self.id);
    if (mine && mine.startedAt !== self.startedAt && !this.#warnedTwin) {
      // Another process wrote our key since our SET: two instances share an id.
      this.#warnedTwin = true;
      this.#o.log(
        `mesh: another instance registers as ${self.id} (started ${mine.startedAt}, at ${mine.addresses.join(', ')}); give each its own --instance`,
      );
    }
    if (this.#failing) this.#o.log('mesh: Redis answers again; registered and registry re-read');
    this.#failing = false;
    this.#setPeers(registrations);
    await store.putExpiring(keys.mesh.summary(self.id), encodeSummary(this.summary()), expiryMs);
  }

  #setPeers(registrations: readonly Registration[]): void {
    const peers = new Set(registrations.map((r) => r.id).filter((id) => id !== this.#o.self.id));
    for (const id of peers) if (!this.#peers.has(id)) this.#o.log(`mesh: peer ${id} joined`);
    for (const id of this.#peers) if (!peers.has(id)) this.#o.log(`mesh: peer ${id} left`);
    this.#peers = peers;
    this.#targets = meshTargets(this.#o.self.id, registrations, this.#o.probes);
    this.#o.setTargets(this.#targets);
  }

  /** The rows of our mesh targets over the window, one per peer and probe kind. */
  summary(): {
    from: string;
    at: string;
    windowMs: number;
    rows: SummaryRow[];
  } {
    const now = this.#o.nowMs();
    const rows = new Map<string, SummaryRow>();
    const keys = new Set<string>();
    for (const target of this.#targets) {
      const key = targetKey(target);
      const probed = this.#o.probed(key);
      if (!probed) continue;
      keys.add(key);
      const w = this.#window.take(key, probed.stats, now);
      const probe = probeKindOf(target);
      // A peer with several addresses: one row for all of them.
      const id = `${target.name}\n${probe}`;
      const before = rows.get(id);
      rows.set(id, {
        to: target.name,
        probe,
        sent: (before?.sent ?? 0) + w.sent,
        received: (before?.received ?? 0) + w.received,
        lost: (before?.lost ?? 0) + w.lost,
        buckets: before ? addBuckets(before.buckets, w.buckets) : w.buckets,
      });
    }
    this.#window.keep(keys);
    return {
      from: this.#o.self.id,
      at: new Date().toISOString(),
      windowMs: MESH_WINDOW_MS,
      rows: [...rows.values()],
    };
  }

  #trouble(err: unknown): void {
    if (!this.#failing) {
      this.#o.log(
        `mesh: cannot reach the registry, probing the ${this.#peers.size} peers last known: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.#failing = true;
  }

  /** Stops refreshing and, if Redis answers, leaves the mesh at once rather than at expiry. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    const { store, keys, self } = this.#o;
    await store.deleteKey(keys.mesh.instance(self.id));
    await store.deleteKey(keys.mesh.summary(self.id));
    await store.removeMembers(keys.mesh.instances, [self.id]);
  }
}

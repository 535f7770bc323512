// Keeps the engine's targets equal to the store's set plus the targets the
// daemon generates itself (the mesh's peers, never written into the set:
// setGenerated). A name@host member stands for every address its name has
// now (`names`, the DnsFollower): one target per address.
//
// Every change costs what it touches. A change notice that carries its
// members (TargetChange) is applied as a delta to the set as known
// (lib/target-set-model.ts); a notice without them (an older npcli, a
// resubscription) and the periodic resync re-read the whole set and apply
// the difference. The applying is one queue, worked in slices under the
// loop's one budget (lib/slicing.ts); the store's answer is awaited outside
// it, so a slow store holds back no notice. Notices are applied in the order
// they came, at once, and those that came while a read was in flight are
// applied again after its difference. That ends where the store is,
// whichever side of the read's snapshot each change fell on: adds and
// removes of a member are idempotent, and the last one of each member wins.

import { quoted } from '../lib/render/printable.js';
import type { ProbeSettings } from '../lib/engine/probe-engine.js';
import { LimitedOrder } from '../lib/limited-order.js';
import type { InvalidMember } from '../lib/report.js';
import { runSliced } from '../lib/slicing.js';
import type { TargetChange, TargetStore } from '../lib/store/target-store.js';
import { parseMember, probeKindOf, targetKey, type Member, type Target } from '../lib/target.js';
import { TargetSetModel } from '../lib/target-set-model.js';

export interface TargetSink {
  /**
   * Probes the target with these settings: a new one from scratch, one
   * probed already with its counters and probes in flight kept.
   */
  add(target: Target, settings: ProbeSettings): void;
  remove(key: string): boolean;
  keys(): Iterable<string>;
}

export interface TargetSyncOptions {
  readonly store: TargetStore;
  readonly sink: TargetSink;
  /**
   * Kinds probed by their own runner, not the engine (lib/probes/prober.ts,
   * ownRunner): their targets go to the sink named by the kind, and only
   * there.
   */
  readonly runners?: Readonly<Record<string, TargetSink>>;
  /** The daemon's interval and timeout, for targets without their own. */
  readonly settings: ProbeSettings;
  /** Members past this many (in sorted order) are reported, not probed. */
  readonly maxTargets: number;
  /** Where the last list read is kept for a start without the store. */
  readonly cache?: {
    load(): Promise<string[] | undefined>;
    save(members: readonly string[]): Promise<void>;
  };
  /**
   * With --group: which of the set's targets this member probes
   * (lib/group/ownership.ts). A target whose owner is not computed yet is
   * left out and taken in once it is: hashing a large set happens in
   * slices, off the probe path.
   */
  readonly group?: {
    owns(key: string): boolean | undefined;
    need(keys: Iterable<string>): Promise<void>;
  };
  /** The names of name@host members, followed in DNS; without it such members are refused. */
  readonly names?: FollowedNames;
  /** Reads a member's text (lib/target.ts parseMember unless given: tests count its calls). */
  readonly parse?: (member: string) => Member;
  readonly log: (line: string) => void;
}

/** What TargetSync needs of the DnsFollower. */
export interface FollowedNames {
  follow(hosts: ReadonlySet<string>): void;
  addresses(host: string): readonly string[];
  problem(host: string): string | undefined;
}

const MAX_INVALID_KEPT = 1000;
/**
 * Sliced passes look at the clock once per this many members or keys: a
 * yield and a clock read per member cost more than the member (~1 µs).
 */
const STEPS_PER_CHECK = 32;
/** Notices queued past this many are one re-read instead (a flood of small changes). */
const MAX_QUEUED_NOTICES = 1000;

/** One piece of work on the set, in the order it came. */
type Work =
  /** A read of the whole set, and the notices that came while it was in flight, to apply after it. */
  | {
      readonly kind: 'read';
      readonly members: readonly string[];
      readonly since: readonly TargetChange[];
    }
  | { readonly kind: 'members'; readonly members: readonly string[] }
  | { readonly kind: 'delta'; readonly change: TargetChange }
  | { readonly kind: 'names'; readonly hosts: readonly string[] }
  | { readonly kind: 'owners'; readonly keys?: readonly string[] }
  | { readonly kind: 'generated' };

export class TargetSync {
  readonly #opts: TargetSyncOptions;
  readonly #model: TargetSetModel;
  /** The set's keys this member probes, within --max-targets (the group's share, if any). */
  readonly #order: LimitedOrder;
  /** What each sink was last given, by key. */
  readonly #applied = new Map<string, Target>();
  readonly #reported = new Set<string>();
  readonly #queue: Work[] = [];
  #running: Promise<void> | undefined;
  /** The read of the whole set in flight (and those asked for meanwhile). */
  #reading: Promise<void> | undefined;
  #readAgain = false;
  /** The notices that came since each read in flight was issued. */
  readonly #sinceRead = new Set<TargetChange[]>();
  #storeFailing = false;
  #loadedOnce = false;
  #reportedOverLimit = false;
  #followedVersion = 0;
  /** The set's membersVersion the cache was last written at (-1: never). */
  #cachedVersion = -1;
  /** Bumped by every piece of work: `invalid` is listed again after a change only. */
  #version = 0;
  #invalid: { version: number; list: InvalidMember[] } = { version: 0, list: [] };
  /** Targets of the daemon's own (the mesh), by key, in their order of precedence. */
  #generated = new Map<string, Target>();
  /** The generated targets within the limit now. */
  #placed = new Map<string, Target>();
  #generatedDropped = 0;
  /** The count last logged, so a refresh that changes nothing logs nothing. */
  #loggedDropped = 0;
  /** Whether the set (or its cached copy) has been applied once. */
  #setRead = false;
  /** Passes over the whole set so far (re-reads and cached copies), for tests and benchmarks. */
  fullPasses = 0;
  /** Notices applied as deltas so far. */
  deltas = 0;
  /** Resolves when the first successful read has been applied. */
  readonly firstLoad: Promise<void>;
  #markLoaded: () => void = () => {};

  constructor(opts: TargetSyncOptions) {
    this.#opts = opts;
    this.#order = new LimitedOrder(opts.maxTargets);
    this.#model = new TargetSetModel({
      parse: opts.parse ?? parseMember,
      ...(opts.names
        ? {
            addresses: (host) => opts.names!.addresses(host),
            problem: (host) => opts.names!.problem(host),
          }
        : {}),
      skipped: (member, error) => {
        if (this.#reported.has(member) || this.#reported.size >= MAX_INVALID_KEPT) return;
        this.#reported.add(member);
        this.#opts.log(`skipping target set member ${quoted(member.slice(0, 200))}: ${error}`);
      },
    });
    this.firstLoad = new Promise((resolve) => (this.#markLoaded = resolve));
  }

  /** What of the set is not probed and why (at most MAX_INVALID_KEPT), as of the last change. */
  get invalid(): readonly InvalidMember[] {
    if (this.#invalid.version === this.#version) return this.#invalid.list;
    const list = this.#model.problems(MAX_INVALID_KEPT);
    const error = `over the limit of ${this.#opts.maxTargets} targets (--max-targets)`;
    for (const key of this.#order.overKeys(MAX_INVALID_KEPT - list.length)) {
      list.push({ member: key, error });
    }
    this.#invalid = { version: this.#version, list };
    return list;
  }

  /**
   * Asks for a re-read of the whole set; resolves when it has been applied.
   * Requests while a read is in flight coalesce into one more read after it.
   */
  request(): Promise<void> {
    if (this.#reading) {
      this.#readAgain = true;
      return this.#reading;
    }
    this.#reading = this.#readLoop();
    return this.#reading;
  }

  /**
   * The store's answer is awaited outside the queue: a store slow to
   * answer (a cut-off Redis, up to its command timeout) holds back no
   * notice, DNS or group change. The notices that come meanwhile are
   * applied at once and again after the read (`since`): its snapshot may
   * predate them.
   */
  async #readLoop(): Promise<void> {
    for (;;) {
      this.#readAgain = false;
      const since: TargetChange[] = [];
      this.#sinceRead.add(since);
      let members: string[] | undefined;
      try {
        members = await this.#read();
      } finally {
        this.#sinceRead.delete(since);
      }
      if (members) {
        await this.#enqueue({ kind: 'read', members, since });
        await this.#saveCache(members);
      }
      // Cleared in the same step as it is checked: a request after this starts a new loop.
      if (!this.#readAgain) {
        this.#reading = undefined;
        return;
      }
    }
  }

  /** Written when the set changed since the last write, not on every resync. */
  async #saveCache(members: readonly string[]): Promise<void> {
    const version = this.#model.membersVersion;
    if (version === this.#cachedVersion) return;
    await this.#opts.cache?.save(members).then(
      () => (this.#cachedVersion = version),
      (err: unknown) => {
        this.#opts.log(
          `cannot write the target cache: ${err instanceof Error ? err.message : String(err)}`,
        );
      },
    );
  }

  /**
   * A change notice: applied as it says when it carries its members, a
   * re-read otherwise (an older npcli's notice, a resubscription).
   */
  notice(change?: TargetChange): Promise<void> {
    const queued = this.#queue.filter((w) => w.kind === 'delta').length;
    if (!change || queued >= MAX_QUEUED_NOTICES) return this.request();
    for (const since of this.#sinceRead) {
      // Past the bound, the read in flight is followed by another instead.
      if (since.length < MAX_QUEUED_NOTICES) since.push(change);
      else this.#readAgain = true;
    }
    return this.#enqueue({ kind: 'delta', change });
  }

  /** A followed name's addresses changed: only its members' targets follow. */
  namesChanged(hosts: Iterable<string>): Promise<void> {
    return this.#enqueue({ kind: 'names', hosts: [...hosts] });
  }

  /** The group's member list changed: every target's owner is looked at again. */
  reapply(): Promise<void> {
    return this.#enqueue({ kind: 'owners' });
  }

  /** Before the store first answers: probe the targets last read, if any were kept. */
  async applyCached(): Promise<number> {
    const cached = await this.#opts.cache?.load();
    if (!cached || this.#loadedOnce) return 0;
    await this.#enqueue({ kind: 'members', members: cached });
    return cached.length;
  }

  /**
   * The targets the daemon probes besides the store's set, replacing the
   * previous ones, first the most wanted (--max-targets may leave out the
   * last). A member of the set with the same key wins: the user's settings
   * for it stand.
   */
  setGenerated(targets: readonly Target[]): Promise<void> {
    this.#generated = new Map(targets.map((t) => [targetKey(t), t]));
    return this.#enqueue({ kind: 'generated' });
  }

  /** The keys of the whole set's targets (a group's ownership is computed over them). */
  setKeys(): readonly string[] {
    return [...this.#model.keys()];
  }

  /** Whether the whole set (not only this member's share) holds the target. */
  inSet(key: string): boolean {
    return this.#model.hasKey(key);
  }

  /**
   * A member read as parseMember would, from the set as known, where it is
   * parsed once while it stays (the control API checks every member on each
   * change: at 2,000 members that was 7-17 ms in one piece). A member not
   * in the set is parsed.
   */
  parse(member: string): Member {
    return this.#model.parse(member);
  }

  /** Generated (mesh) targets left out by --max-targets at the last change. */
  get generatedDropped(): number {
    return this.#generatedDropped;
  }

  #enqueue(work: Work): Promise<void> {
    this.#queue.push(work);
    // #drain clears #running in the same step as it finds the queue empty.
    this.#running ??= this.#drain();
    return this.#running;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const work = this.#queue.shift();
      if (!work) {
        this.#running = undefined;
        return;
      }
      try {
        await this.#work(work);
      } catch (err) {
        this.#opts.log(`targets: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  async #work(work: Work): Promise<void> {
    const touched = new Set<string>();
    switch (work.kind) {
      case 'read':
        await this.#pass(work.members, touched, work.since);
        this.#loadedOnce = true;
        this.#markLoaded();
        return;
      case 'members':
        if (this.#loadedOnce) return; // the store answered first
        await this.#pass(work.members, touched);
        return;
      case 'delta':
        this.deltas++;
        await runSliced(this.#change(work.change, touched));
        break;
      case 'names':
        for (const host of work.hosts) this.#model.refreshHost(host, touched);
        break;
      case 'owners':
        await runSliced(this.#touch(work.keys ?? this.#model.keys(), touched));
        break;
      case 'generated':
        break;
    }
    await this.#settle(touched);
  }

  /** The whole set, or undefined (logged once per outage) when the store cannot be read. */
  async #read(): Promise<string[] | undefined> {
    try {
      const members = await this.#opts.store.members();
      if (this.#storeFailing) this.#opts.log('target store is back; targets re-read');
      this.#storeFailing = false;
      return members;
    } catch (err) {
      if (!this.#storeFailing) {
        this.#opts.log(
          `cannot read targets, keeping the ${[...this.#opts.sink.keys()].length} we have: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      this.#storeFailing = true;
      return undefined;
    }
  }

  /**
   * The whole set read: the difference applied, then the notices that came
   * while it was read (`since`), and the sinks checked to hold nothing else.
   */
  async #pass(
    members: readonly string[],
    touched: Set<string>,
    since: readonly TargetChange[] = [],
  ): Promise<void> {
    this.fullPasses++;
    this.#setRead = true;
    await runSliced(this.#difference(members, touched));
    for (const change of since) await runSliced(this.#change(change, touched));
    await this.#settle(touched);
    await runSliced(this.#removeStrays());
  }

  /** Whatever a sink holds that was not given it under its key now goes (a safety net). */
  *#removeStrays(): Generator<void> {
    let steps = 0;
    for (const sink of this.#sinks()) {
      const strays: string[] = [];
      for (const key of sink.keys()) {
        const given = this.#applied.get(key);
        if (!given || this.#sinkOf(given) !== sink) strays.push(key);
        if (++steps % STEPS_PER_CHECK === 0) yield;
      }
      for (const key of strays) sink.remove(key);
    }
  }

  /**
   * Removals first: a member replaced by one for the same target is never
   * reported as its rival. The members read are marked, not copied.
   */
  *#difference(members: readonly string[], touched: Set<string>): Generator<void> {
    let steps = 0;
    const pass = this.fullPasses;
    const listed = (member: string): void => this.#model.mark(member, pass, touched);
    const fresh: string[] = [];
    for (const member of members) {
      if (this.#model.has(member)) listed(member);
      else fresh.push(member);
      if (++steps % STEPS_PER_CHECK === 0) yield;
    }
    const gone: string[] = [];
    for (const member of this.#model.unmarked(pass)) {
      gone.push(member);
      if (++steps % STEPS_PER_CHECK === 0) yield;
    }
    for (const member of gone) {
      this.#model.remove(member, touched);
      if (++steps % STEPS_PER_CHECK === 0) yield;
    }
    for (const member of fresh) {
      listed(member);
      if (++steps % STEPS_PER_CHECK === 0) yield;
    }
  }

  *#change(change: TargetChange, touched: Set<string>): Generator<void> {
    let steps = 0;
    for (const member of change.members) {
      if (typeof member !== 'string') continue;
      if (change.op === 'add') this.#model.add(member, touched);
      else this.#model.remove(member, touched);
      if (++steps % STEPS_PER_CHECK === 0) yield;
    }
  }

  *#touch(keys: Iterable<string>, touched: Set<string>): Generator<void> {
    let steps = 0;
    for (const key of keys) {
      touched.add(key);
      if (++steps % STEPS_PER_CHECK === 0) yield;
    }
  }

  /**
   * The keys the set's change touched, placed (owned, within the limit),
   * the generated targets fitted into the room left, and every key whose
   * target that changed handed to its sink.
   */
  async #settle(touched: Set<string>): Promise<void> {
    this.#version++;
    const moved = new Set<string>();
    const unknown: string[] = [];
    await runSliced(this.#place(touched, moved, unknown));
    if (unknown.length > 0) {
      const group = this.#opts.group!;
      void group.need(unknown).then(
        () => this.#enqueue({ kind: 'owners', keys: unknown }),
        (err: unknown) => this.#opts.log(`group: cannot compute owners: ${String(err)}`),
      );
    }
    if (this.#order.over > 0 && !this.#reportedOverLimit) {
      this.#opts.log(
        `${this.#order.over} targets over the limit of ${this.#opts.maxTargets} are not probed`,
      );
      this.#reportedOverLimit = true;
    }
    this.#placeGenerated(moved);
    if (this.#model.hostsVersion !== this.#followedVersion) {
      this.#followedVersion = this.#model.hostsVersion;
      this.#opts.names?.follow(new Set(this.#model.hosts()));
    }
    await runSliced(this.#commit(moved));
  }

  *#place(touched: Set<string>, moved: Set<string>, unknown: string[]): Generator<void> {
    let steps = 0;
    const group = this.#opts.group;
    for (const key of touched) {
      moved.add(key);
      const owns = this.#model.winner(key) === undefined ? false : group ? group.owns(key) : true;
      if (owns === undefined) unknown.push(key);
      if (owns === true) this.#order.insert(key, moved);
      else this.#order.delete(key, moved);
      if (++steps % STEPS_PER_CHECK === 0) yield;
    }
  }

  /**
   * The generated targets, within --max-targets: the set's targets come
   * first (the user's targets stand, and a peer joining never pushes one
   * out), the generated ones fill the room left in the order given (the
   * mesh's: one target of each peer before a second of any). What does not
   * fit is one log line when its count changes, and `generatedDropped`.
   */
  #placeGenerated(moved: Set<string>): void {
    // Before the set is read, nothing is known of what fills first: held
    // back, rather than probed for a moment and pushed out by the set.
    if (!this.#setRead || (this.#generated.size === 0 && this.#placed.size === 0)) return;
    let room = this.#opts.maxTargets - Math.min(this.#order.size, this.#opts.maxTargets);
    let dropped = 0;
    let offered = 0;
    const placed = new Map<string, Target>();
    for (const [key, target] of this.#generated) {
      if (this.#order.within(key)) continue;
      offered++;
      if (room <= 0) {
        dropped++;
        continue;
      }
      placed.set(key, target);
      room--;
    }
    for (const key of this.#placed.keys()) if (!placed.has(key)) moved.add(key);
    for (const [key, target] of placed) if (this.#placed.get(key) !== target) moved.add(key);
    this.#placed = placed;
    this.#generatedDropped = dropped;
    if (dropped === this.#loggedDropped) return;
    if (dropped > 0)
      this.#opts.log(
        `${dropped} of ${offered} mesh targets are not probed: the limit is ` +
          `${this.#opts.maxTargets} targets (--max-targets), and the target set's come first`,
      );
    else this.#opts.log('every mesh target is probed again: within --max-targets');
    this.#loggedDropped = dropped;
  }

  /** Each moved key's sink made to hold what is wanted under it now. */
  *#commit(moved: Set<string>): Generator<void> {
    let steps = 0;
    for (const key of moved) {
      const wanted = this.#order.within(key) ? this.#model.winner(key) : this.#placed.get(key);
      const had = this.#applied.get(key);
      if (wanted === had) continue;
      if (had && (!wanted || this.#sinkOf(had) !== this.#sinkOf(wanted)))
        this.#sinkOf(had).remove(key);
      if (wanted) {
        this.#sinkOf(wanted).add(wanted, this.#settingsFor(wanted));
        this.#applied.set(key, wanted);
      } else {
        this.#applied.delete(key);
      }
      if (++steps % STEPS_PER_CHECK === 0) yield;
    }
  }

  #sinks(): TargetSink[] {
    return [this.#opts.sink, ...Object.values(this.#opts.runners ?? {})];
  }

  #sinkOf(target: Target): TargetSink {
    return this.#opts.runners?.[probeKindOf(target)] ?? this.#opts.sink;
  }

  #settingsFor(target: Target): ProbeSettings {
    const defaults = this.#opts.settings;
    const o = target.overrides;
    if (o === undefined) return defaults;
    return {
      intervalMs: o.intervalMs ?? defaults.intervalMs,
      timeoutMs: o.timeoutMs ?? defaults.timeoutMs,
    };
  }
}

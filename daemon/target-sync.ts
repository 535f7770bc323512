// Keeps the engine's targets equal to the store's set plus the targets the
// daemon generates itself (the mesh's peers, never written into the set:
// setGenerated). Every change is a
// full re-read of the set, serialised: a re-read issued after a change
// notice always sees that change, so no ordering of notices, reconnects and
// periodic re-reads can leave the daemon wrong, and an unchanged target
// keeps its counters. A name@host member stands for every address its
// name has now (`names`, the DnsFollower): one target per address.

import { InvalidInputError } from '../lib/errors.js';
import { quoted } from '../lib/render/printable.js';
import type { ProbeSettings } from '../lib/engine/probe-engine.js';
import type { InvalidMember } from '../lib/report.js';
import type { TargetStore } from '../lib/store/target-store.js';
import {
  hostTarget,
  parseMember,
  probeKindOf,
  targetKey,
  type Member,
  type Target,
} from '../lib/target.js';

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
   * left out and the set applied again once it is: hashing a large set
   * happens in slices, off the probe path.
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

export class TargetSync {
  readonly #opts: TargetSyncOptions;
  #invalid: InvalidMember[] = [];
  readonly #reported = new Set<string>();
  #running: Promise<void> | undefined;
  #again = false;
  #storeFailing = false;
  #loadedOnce = false;
  #reportedOverLimit = false;
  /** The valid members of the last read, parsed. */
  #parsed = new Map<string, Member>();
  /** The invalid members of the last read and why: a re-read does not parse them (and throw) again. */
  #unparsable = new Map<string, string>();
  /** The members last applied, so a change of the generated targets can be applied alone. */
  #lastMembers: readonly string[] = [];
  /** The keys of the set's valid members at the last apply, before the group's share was taken. */
  #setKeys = new Set<string>();
  /** Targets of the daemon's own (the mesh), by key, in their order of precedence. */
  #generated = new Map<string, Target>();
  #generatedDropped = 0;
  /** The count last logged, so a refresh that changes nothing logs nothing. */
  #loggedDropped = 0;
  /** Whether the set (or its cached copy) has been applied once. */
  #setRead = false;
  /** Resolves when the first successful read has been applied. */
  readonly firstLoad: Promise<void>;
  #markLoaded: () => void = () => {};

  constructor(opts: TargetSyncOptions) {
    this.#opts = opts;
    this.firstLoad = new Promise((resolve) => (this.#markLoaded = resolve));
  }

  get invalid(): readonly InvalidMember[] {
    return this.#invalid;
  }

  /** Asks for a re-read; requests during a re-read coalesce into one more. */
  request(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      await this.#reloadOnce();
    } while (this.#again);
  }

  async #reloadOnce(): Promise<void> {
    let members: string[];
    try {
      members = await this.#opts.store.members();
    } catch (err) {
      if (!this.#storeFailing) {
        this.#opts.log(
          `cannot read targets, keeping the ${[...this.#opts.sink.keys()].length} we have: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      this.#storeFailing = true;
      return;
    }
    if (this.#storeFailing) this.#opts.log('target store is back; targets re-read');
    this.#storeFailing = false;
    this.#setRead = true;
    this.apply(members);
    this.#loadedOnce = true;
    this.#markLoaded();
    await this.#opts.cache?.save(members).catch((err: unknown) => {
      this.#opts.log(
        `cannot write the target cache: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
  }

  /** Before the store first answers: probe the targets last read, if any were kept. */
  async applyCached(): Promise<number> {
    const cached = await this.#opts.cache?.load();
    if (!cached || this.#loadedOnce) return 0;
    this.#setRead = true;
    this.apply(cached);
    return cached.length;
  }

  /**
   * The targets the daemon probes besides the store's set, replacing the
   * previous ones, first the most wanted (--max-targets may leave out the
   * last). A member of the set with the same key wins: the user's settings
   * for it stand.
   */
  setGenerated(targets: readonly Target[]): void {
    this.#generated = new Map(targets.map((t) => [targetKey(t), t]));
    this.apply(this.#lastMembers);
  }

  /** The keys of the whole set's targets (a group's ownership is computed over them). */
  setKeys(): readonly string[] {
    return [...this.#setKeys];
  }

  /** Whether the whole set (not only this member's share) holds the target. */
  inSet(key: string): boolean {
    return this.#setKeys.has(key);
  }

  /** Applies the last members read again: the group's member list changed. */
  reapply(): void {
    this.apply(this.#lastMembers);
  }

  /**
   * A member read as parseMember would, from the last pass where it was in
   * the set (the control API checks every member on each change: at 2,000
   * members that was 7-17 ms in one piece). A member not seen is parsed.
   */
  parse(member: string): Member {
    const known = this.#parsed.get(member);
    if (known) return known;
    const error = this.#unparsable.get(member);
    if (error !== undefined) throw new InvalidInputError(error);
    return (this.#opts.parse ?? parseMember)(member);
  }

  /** Makes the sink hold exactly the valid members and the generated targets. */
  apply(members: readonly string[]): void {
    this.#lastMembers = members;
    const wanted = new Map<string, Target>();
    const invalid: InvalidMember[] = [];
    const parsed = new Map<string, Member>();
    const hosts = new Set<string>();
    const memberOf = new Map<string, string>(); // key → the member text it came from
    const skip = (member: string, error: string): void => {
      if (invalid.length < MAX_INVALID_KEPT) invalid.push({ member, error });
      if (!this.#reported.has(member) && this.#reported.size < MAX_INVALID_KEPT) {
        this.#reported.add(member);
        this.#opts.log(`skipping target set member ${quoted(member.slice(0, 200))}: ${error}`);
      }
    };
    const want = (member: string, target: Target): void => {
      const key = targetKey(target);
      const other = memberOf.get(key);
      if (other === undefined) {
        wanted.set(key, target);
        memberOf.set(key, member);
        return;
      }
      if (other === member) return; // one name answering an address twice
      // Two members for one target (with different options, or a pinned
      // address and a name that has it): the first in sorted order wins,
      // whatever order the store lists them in.
      const [kept, dropped] = member < other ? [member, other] : [other, member];
      if (kept === member) {
        wanted.set(key, target);
        memberOf.set(key, member);
      }
      skip(dropped, `another member names the same target, ${quoted(kept.slice(0, 200))} is used`);
    };
    const names = this.#opts.names;
    const parse = this.#opts.parse ?? parseMember;
    const unparsable = new Map<string, string>();
    for (const member of members) {
      let parsedMember: Member;
      const known = this.#unparsable.get(member);
      if (known !== undefined) {
        unparsable.set(member, known);
        skip(member, known);
        continue;
      }
      try {
        // Re-reads every few seconds mostly see members parsed before.
        parsedMember = this.#parsed.get(member) ?? parse(member);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        unparsable.set(member, error);
        skip(member, error);
        continue;
      }
      parsed.set(member, parsedMember);
      if (parsedMember.kind === 'host' && !names) {
        skip(member, 'this daemon follows no names in DNS');
        continue;
      }
      if (parsedMember.kind === 'target') {
        want(member, parsedMember.target);
        continue;
      }
      const { host } = parsedMember.member;
      hosts.add(host);
      const addresses = names!.addresses(host);
      for (const address of addresses) want(member, hostTarget(parsedMember.member, address));
      const problem = addresses.length === 0 ? names!.problem(host) : undefined;
      if (problem !== undefined && invalid.length < MAX_INVALID_KEPT) {
        invalid.push({ member, error: problem });
      }
    }
    names?.follow(hosts);
    this.#setKeys = new Set(wanted.keys());
    const group = this.#opts.group;
    if (group) {
      const unknown: string[] = [];
      for (const key of this.#setKeys) {
        const owns = group.owns(key);
        if (owns === true) continue;
        wanted.delete(key);
        if (owns === undefined) unknown.push(key);
      }
      if (unknown.length > 0) {
        void group.need(unknown).then(
          () => this.apply(this.#lastMembers),
          (err: unknown) => this.#opts.log(`group: cannot compute owners: ${String(err)}`),
        );
      }
    }
    // With a group, the limit is on this member's share.
    if (wanted.size > this.#opts.maxTargets) {
      const over = [...wanted.keys()].sort().slice(this.#opts.maxTargets);
      for (const key of over) {
        wanted.delete(key);
        if (invalid.length < MAX_INVALID_KEPT) {
          invalid.push({
            member: key,
            error: `over the limit of ${this.#opts.maxTargets} targets (--max-targets)`,
          });
        }
      }
      if (!this.#reportedOverLimit)
        this.#opts.log(
          `${over.length} targets over the limit of ${this.#opts.maxTargets} are not probed`,
        );
      this.#reportedOverLimit = true;
    }
    this.#addGenerated(wanted);
    this.#parsed = parsed;
    this.#unparsable = unparsable;
    this.#invalid = invalid;
    const runners = this.#opts.runners ?? {};
    const sinkOf = (target: Target): TargetSink => runners[probeKindOf(target)] ?? this.#opts.sink;
    for (const sink of [this.#opts.sink, ...Object.values(runners)]) {
      for (const key of [...sink.keys()]) {
        const target = wanted.get(key);
        if (!target || sinkOf(target) !== sink) sink.remove(key);
      }
    }
    for (const target of wanted.values()) sinkOf(target).add(target, this.#settingsFor(target));
  }

  /**
   * The generated targets, within --max-targets: the set's targets come
   * first (the user's targets stand, and a peer joining never pushes one
   * out), the generated ones fill the room left in the order given (the
   * mesh's: one target of each peer before a second of any). What does not
   * fit is one log line when its count changes, and `generatedDropped`.
   */
  #addGenerated(wanted: Map<string, Target>): void {
    // Before the set is read, nothing is known of what fills first: held
    // back, rather than probed for a moment and pushed out by the set.
    if (!this.#setRead) return;
    let room = this.#opts.maxTargets - wanted.size;
    let dropped = 0;
    let offered = 0;
    for (const [key, target] of this.#generated) {
      if (wanted.has(key)) continue;
      offered++;
      if (room <= 0) {
        dropped++;
        continue;
      }
      wanted.set(key, target);
      room--;
    }
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

  /** Generated (mesh) targets left out by --max-targets at the last apply. */
  get generatedDropped(): number {
    return this.#generatedDropped;
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

// The target set as the daemon knows it, kept member by member so that a
// change costs what it touches: adding or removing a member, or a followed
// name's addresses changing, updates only that member's targets and says
// which target keys may now be probed otherwise (`touched`). What wins a key
// named by two members is the first of them in sorted order, whatever order
// they came in, so any sequence of changes ends where a read of the whole
// set from scratch would (TargetSync relies on it: deltas and full re-reads
// mix freely). Pure: no I/O, no clock.

import { InvalidInputError } from './errors.js';
import { quoted } from './render/printable.js';
import type { InvalidMember } from './report.js';
import { hostTarget, targetKey, type Member, type Target } from './target.js';

export interface TargetSetModelOptions {
  /** Reads a member's text, throwing for one that does not parse. */
  readonly parse: (member: string) => Member;
  /** A followed name's addresses now; without it name@host members are refused. */
  readonly addresses?: (host: string) => readonly string[];
  /** Why a name has no address now, for its error row. */
  readonly problem?: (host: string) => string | undefined;
  /** A member is not probed, and why (each call may be logged; TargetSync logs each member once). */
  readonly skipped: (member: string, error: string) => void;
}

export const NO_NAMES = 'this daemon follows no names in DNS';

export class TargetSetModel {
  readonly #opts: TargetSetModelOptions;
  /**
   * Every member, as stored, in the order first seen (the order problems
   * are listed in), with the last pass that saw it (see `mark`).
   */
  readonly #members = new Map<string, number>();
  readonly #parsed = new Map<string, Member>();
  /**
   * Why a member does not parse (or is refused: a name with no DNS to
   * follow it, whose parse stays in #parsed): not parsed again while it stays.
   */
  readonly #refused = new Map<string, string>();
  /** The targets each valid member names now, by key. */
  readonly #targetsOf = new Map<string, Map<string, Target>>();
  /** Key → the members naming it, sorted: the first wins. */
  readonly #claims = new Map<string, string[]>();
  /** Keys named by more than one member (each loser is reported). */
  readonly #contested = new Set<string>();
  /** Followed name → the members naming it. */
  readonly #hostMembers = new Map<string, Set<string>>();
  #hostsVersion = 0;
  #membersVersion = 0;

  constructor(opts: TargetSetModelOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#members.size;
  }

  has(member: string): boolean {
    return this.#members.has(member);
  }

  /** The members, in the order first seen. */
  members(): IterableIterator<string> {
    return this.#members.keys();
  }

  /** The keys of every target the set names (a group's share is taken from them). */
  keys(): IterableIterator<string> {
    return this.#claims.keys();
  }

  hasKey(key: string): boolean {
    return this.#claims.has(key);
  }

  /** The followed names of the set's name@host members. */
  hosts(): IterableIterator<string> {
    return this.#hostMembers.keys();
  }

  /** Changes whenever a member comes or goes. */
  get membersVersion(): number {
    return this.#membersVersion;
  }

  /** Changes whenever a name comes into the set or leaves it (not when its addresses change). */
  get hostsVersion(): number {
    return this.#hostsVersion;
  }

  /** The target the set probes under `key`: the first member's in sorted order. */
  winner(key: string): Target | undefined {
    const first = this.#claims.get(key)?.[0];
    return first === undefined ? undefined : this.#targetsOf.get(first)?.get(key);
  }

  /**
   * A member read as `parse` would, from the set when it is in it (parsed
   * once while it stays). A member not in the set is parsed, not kept.
   */
  parse(member: string): Member {
    const known = this.#parsed.get(member);
    if (known) return known;
    const error = this.#refused.get(member);
    if (error !== undefined) throw new InvalidInputError(error);
    return this.#opts.parse(member);
  }

  /**
   * Adds a member if it is new, and marks it seen by `pass`: a pass over the
   * whole set marks what it read, then removes what it did not mark
   * (`unmarked`), without a copy of the set (at 10,000 members, that copy's
   * garbage was most of a no-change resync's pauses).
   */
  mark(member: string, pass: number, touched: Set<string>): void {
    this.add(member, touched);
    this.#members.set(member, pass);
  }

  /** The members a pass did not mark. */
  *unmarked(pass: number): Generator<string> {
    for (const [member, seen] of this.#members) if (seen !== pass) yield member;
  }

  /** Adds a member; the keys it may change go into `touched`. Whether it was new. */
  add(member: string, touched: Set<string>): boolean {
    if (this.#members.has(member)) return false;
    this.#members.set(member, 0);
    this.#membersVersion++;
    let parsed: Member;
    try {
      parsed = this.#opts.parse(member);
    } catch (err) {
      this.#refuse(member, err instanceof Error ? err.message : String(err));
      return true;
    }
    this.#parsed.set(member, parsed);
    if (parsed.kind === 'target') {
      this.#setTargets(member, [parsed.target], touched);
      return true;
    }
    if (!this.#opts.addresses) {
      this.#refuse(member, NO_NAMES);
      return true;
    }
    const { host } = parsed.member;
    let of = this.#hostMembers.get(host);
    if (!of) {
      this.#hostMembers.set(host, (of = new Set()));
      this.#hostsVersion++;
    }
    of.add(member);
    this.#setTargets(member, this.#hostTargets(member), touched);
    return true;
  }

  /** Removes a member; the keys it may change go into `touched`. Whether it was there. */
  remove(member: string, touched: Set<string>): boolean {
    if (!this.#members.delete(member)) return false;
    this.#membersVersion++;
    this.#refused.delete(member);
    const parsed = this.#parsed.get(member);
    this.#parsed.delete(member);
    if (parsed?.kind === 'host') {
      const of = this.#hostMembers.get(parsed.member.host);
      of?.delete(member);
      if (of?.size === 0) {
        this.#hostMembers.delete(parsed.member.host);
        this.#hostsVersion++;
      }
    }
    this.#setTargets(member, [], touched);
    this.#targetsOf.delete(member);
    return true;
  }

  /** A followed name's addresses changed: its members' targets follow. */
  refreshHost(host: string, touched: Set<string>): void {
    for (const member of this.#hostMembers.get(host) ?? []) {
      this.#setTargets(member, this.#hostTargets(member), touched);
    }
  }

  /**
   * What is not probed and why, in the order members were first seen: those
   * that do not parse (or are refused), the losers of a contested key, and
   * names with no address now. At most `max`.
   */
  problems(max: number): InvalidMember[] {
    const out: InvalidMember[] = [];
    for (const [member, error] of this.#refused) {
      if (out.length >= max) return out;
      out.push({ member, error });
    }
    for (const key of this.#contested) {
      const [kept, ...others] = this.#claims.get(key) ?? [];
      for (const member of others) {
        if (out.length >= max) return out;
        out.push({ member, error: contestedError(kept!) });
      }
    }
    for (const [host, members] of this.#hostMembers) {
      if ((this.#opts.addresses?.(host).length ?? 0) > 0) continue;
      const error = this.#opts.problem?.(host);
      if (error === undefined) continue;
      for (const member of members) {
        if (out.length >= max) return out;
        out.push({ member, error });
      }
    }
    return out;
  }

  #refuse(member: string, error: string): void {
    this.#refused.set(member, error);
    this.#opts.skipped(member, error);
  }

  /** One target per address the name has now; an unchanged one keeps its object. */
  #hostTargets(member: string): Target[] {
    const parsed = this.#parsed.get(member);
    if (parsed?.kind !== 'host') return [];
    const had = this.#targetsOf.get(member);
    return (this.#opts.addresses?.(parsed.member.host) ?? []).map((address) => {
      const target = hostTarget(parsed.member, address);
      return had?.get(targetKey(target)) ?? target;
    });
  }

  /** Makes `member` name exactly `targets`, claiming and releasing keys. */
  #setTargets(member: string, targets: readonly Target[], touched: Set<string>): void {
    const before = this.#targetsOf.get(member);
    const after = new Map<string, Target>();
    // One name answering an address twice names one target.
    for (const t of targets) if (!after.has(targetKey(t))) after.set(targetKey(t), t);
    this.#targetsOf.set(member, after);
    for (const key of before?.keys() ?? []) {
      if (after.has(key)) continue;
      this.#release(key, member);
      touched.add(key);
    }
    for (const [key, target] of after) {
      if (before?.get(key) === target) continue;
      if (!before?.has(key)) this.#claim(key, member);
      touched.add(key);
    }
  }

  #claim(key: string, member: string): void {
    const claims = this.#claims.get(key);
    if (!claims) {
      this.#claims.set(key, [member]);
      return;
    }
    let i = 0;
    while (i < claims.length && claims[i]! < member) i++;
    claims.splice(i, 0, member);
    this.#contested.add(key);
    const [kept, ...others] = claims;
    // Each loser is told once, when it loses (the winner is the first in sorted order).
    for (const loser of i === 0 ? others.slice(0, 1) : [member]) {
      this.#opts.skipped(loser, contestedError(kept!));
    }
  }

  #release(key: string, member: string): void {
    const claims = this.#claims.get(key);
    if (!claims) return;
    const i = claims.indexOf(member);
    if (i >= 0) claims.splice(i, 1);
    if (claims.length === 0) this.#claims.delete(key);
    if (claims.length <= 1) this.#contested.delete(key);
  }
}

function contestedError(kept: string): string {
  return `another member names the same target, ${quoted(kept.slice(0, 200))} is used`;
}

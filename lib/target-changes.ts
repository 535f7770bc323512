// Changes to the target list, the same for npcli and the daemon's control
// API: each takes a TargetStore and user input, checks all of the input
// before writing anything, and returns what it did as data.

import { quoted } from './render/printable.js';
import { canonicalAddress, sortByAddress, familyOf } from './address.js';
import { InvalidInputError, NetpingError } from './errors.js';
import { sortedLabels, type Labels } from './labels.js';
import type { InvalidMember } from './report.js';
import { resolveTargetRequest, type Lookup } from './resolve.js';
import type { TargetStore } from './store/target-store.js';
import {
  parseTargetKey,
  targetKey,
  targetMember,
  type ProbeOverrides,
  type Target,
} from './target.js';

export interface ChangeResult {
  member: string;
  changed: boolean;
}

/** Thrown when a remove names nothing in the set. */
export class NoSuchTargetError extends NetpingError {}

/** Thrown when an add would take the list past its limit; nothing is written. */
export class TargetLimitError extends InvalidInputError {}

/** Thrown when a remove names several targets without `all`; nothing is removed. */
export class AmbiguousTargetError extends InvalidInputError {}

const MEMBERS_NAMED = 5; // in an AmbiguousTargetError

/**
 * Resolves every argument first, so a bad one writes nothing. A target
 * already in the set with other options is replaced: its member is removed
 * and the new one added (the daemon carries its statistics over).
 */
export async function addTargets(
  store: TargetStore,
  args: readonly string[],
  opts: { lookup?: Lookup; maxTargets?: number; overrides?: ProbeOverrides; labels?: Labels } = {},
): Promise<ChangeResult[]> {
  const byKey = new Map<string, Target>();
  for (const arg of args) {
    for (const resolved of await resolveTargetRequest(arg, opts.lookup)) {
      let target = opts.overrides
        ? { ...resolved, overrides: { ...resolved.overrides, ...opts.overrides } }
        : resolved;
      // --label adds to (and overrides) a member's own label.KEY=VALUE.
      if (opts.labels && Object.keys(opts.labels).length > 0) {
        target = { ...target, labels: sortedLabels({ ...target.labels, ...opts.labels }) };
      }
      byKey.set(targetKey(target), target);
    }
  }
  const before = await store.members();
  const present = new Set(before);
  const presentKeys = new Set(before.map((m) => keyOfMember(m)));
  const added = [...byKey.values()].map(targetMember);
  const replaced = before.filter((m) => {
    const key = keyOfMember(m);
    return key !== undefined && byKey.has(key) && !added.includes(m);
  });
  const after = presentKeys.size + [...byKey.keys()].filter((k) => !presentKeys.has(k)).length;
  if (opts.maxTargets !== undefined && after > opts.maxTargets) {
    throw new TargetLimitError(
      `too many targets: ${after} would exceed the limit of ${opts.maxTargets} (--max-targets)`,
    );
  }
  if (replaced.length > 0) await store.remove(replaced);
  await store.add(added);
  return added.map((member) => ({ member, changed: !present.has(member) }));
}

/** The target a member names, or undefined for a member that does not parse. */
function keyOfMember(member: string): string | undefined {
  const target = tryParse(member);
  return target && targetKey(target);
}

/**
 * Removes by name, by address, or by name@address. Every argument must match
 * at least one member, and, unless `all` is set, at most one target (a name
 * or an address can name several), or nothing is removed.
 */
export async function removeTargets(
  store: TargetStore,
  args: readonly string[],
  opts: { all?: boolean } = {},
): Promise<ChangeResult[]> {
  const members = await store.members();
  const parsed = members.map((member) => ({ member, target: tryParse(member) }));
  const chosen = new Set<string>();
  for (const arg of args) {
    if (arg.length === 0) throw new InvalidInputError('invalid target: empty');
    const matches = parsed.filter(({ member, target }) => matchesSelector(arg, member, target));
    if (matches.length === 0) {
      throw new NoSuchTargetError(
        `no target matches ${quoted(arg.slice(0, 200))} (see npcli list)`,
      );
    }
    if (!opts.all) refuseSeveral(arg, matches);
    matches.forEach((m) => chosen.add(m.member));
  }
  const removed = [...chosen].sort(); // in a stable order, whatever the store's
  await store.remove(removed);
  return removed.map((member) => ({ member, changed: true }));
}

/** Two members of one target (with other settings) are one target, not several. */
function refuseSeveral(
  arg: string,
  matches: readonly { member: string; target: Target | undefined }[],
): void {
  const targets = new Set(
    matches.map(({ member, target }) => (target ? targetKey(target) : member)),
  );
  if (targets.size <= 1) return;
  const named = [...matches]
    .sort((a, b) => (a.member < b.member ? -1 : 1))
    .slice(0, MEMBERS_NAMED)
    .map((m) => quoted(m.member.slice(0, 200)));
  if (matches.length > MEMBERS_NAMED) named.push('…');
  throw new AmbiguousTargetError(
    `${quoted(arg.slice(0, 200))} matches ${targets.size} targets (${named.join(', ')}): ` +
      'nothing removed; to remove them all give --all, or name one as name@address',
  );
}

function matchesSelector(arg: string, member: string, target: Target | undefined): boolean {
  if (arg === member) return true; // also removes an unparsable member by its exact text
  if (!target) return false;
  if (arg.includes('@')) {
    const at = arg.lastIndexOf('@');
    const address = arg.slice(at + 1);
    return (
      familyOf(address) !== undefined &&
      targetKey({ name: arg.slice(0, at), address: canonicalAddress(address) }) ===
        targetKey(target)
    );
  }
  if (familyOf(arg) !== undefined) return canonicalAddress(arg) === target.address;
  return arg === target.name;
}

function tryParse(member: string): Target | undefined {
  try {
    return parseTargetKey(member);
  } catch {
    return undefined;
  }
}

export interface ListedTarget {
  name: string;
  address: string;
  /** Only where the target has its own. */
  intervalMs?: number;
  timeoutMs?: number;
}

export interface ListResult {
  targets: ListedTarget[];
  invalid: InvalidMember[];
}

export async function listTargets(store: TargetStore): Promise<ListResult> {
  const result: ListResult = { targets: [], invalid: [] };
  for (const member of await store.members()) {
    try {
      const { name, address, overrides } = parseTargetKey(member);
      result.targets.push({ name, address, ...overrides });
    } catch (err) {
      result.invalid.push({ member, error: err instanceof Error ? err.message : String(err) });
    }
  }
  sortByAddress(
    result.targets,
    (t) => t.address,
    (t) => t.name,
  );
  return result;
}

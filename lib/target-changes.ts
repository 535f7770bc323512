// Changes to the target list, the same for npcli and the daemon's control
// API: each takes a TargetStore and user input, checks all of the input
// before writing anything, and returns what it did as data.

import { quoted } from './render/printable.js';
import { runSliced } from './slicing.js';
import { canonicalAddress, sortByAddress, familyOf } from './address.js';
import { InvalidInputError, NetpingError } from './errors.js';
import { sortedLabels, type Labels } from './labels.js';
import type { InvalidMember } from './report.js';
import { resolveHost, resolveTargetRequest, systemLookup, type Lookup } from './resolve.js';
import type { TargetStore } from './store/target-store.js';
import {
  checkOverridesFit,
  hostMemberKey,
  hostMemberText,
  hostTarget,
  parseMember,
  parseTargetOptions,
  parseTargetRequest,
  probeFields,
  probeLabel,
  targetKey,
  targetMember,
  withProbe,
  type ProbeOverrides,
  type HostMember,
  type Member,
  type ProbeSpec,
  type Target,
} from './target.js';

export interface ChangeResult {
  member: string;
  changed: boolean;
  /** A followed name's member (name@host): what the name resolves to now. */
  addresses?: string[];
}

/** Thrown when a remove names nothing in the set. */
export class NoSuchTargetError extends NetpingError {}

/** Thrown when an add would take the list past its limit; nothing is written. */
export class TargetLimitError extends InvalidInputError {}

/** Thrown when a remove names several targets without `all`; nothing is removed. */
export class AmbiguousTargetError extends InvalidInputError {}

const MEMBERS_NAMED = 5; // in an AmbiguousTargetError

export interface AddOptions {
  lookup?: Lookup;
  maxTargets?: number;
  /** Settings for every target of the change, over those an argument gives itself. */
  overrides?: ProbeOverrides;
  /** How every target of the change is probed, over what an argument says (npcli --probe/--port). */
  probe?: ProbeSpec;
  /** Labels for every target of the change, over those an argument gives itself (npcli --label). */
  labels?: Labels;
  /** Store a host's addresses as they resolve now (npcli --pin), not the host for netpingd to follow. */
  pin?: boolean;
  /** Reads the set's members (parseMember unless given: the daemon's, which has parsed them already). */
  parse?: MemberParser;
}

/** Reads a member's text, throwing for one that does not parse, as parseMember does. */
export type MemberParser = (member: string) => Member;

/**
 * Resolves every argument first, so a bad one writes nothing. A target
 * already in the set with other options is replaced: its member is removed
 * and the new one added (the daemon carries its statistics over). The same
 * name and address probed another way (kind or port) is another target.
 */
export async function addTargets(
  store: TargetStore,
  args: readonly string[],
  opts: AddOptions = {},
): Promise<ChangeResult[]> {
  const byKey = new Map<string, Target>();
  const hostsByKey = new Map<string, { member: HostMember; addresses: string[] }>();
  const lookup = opts.lookup ?? systemLookup;
  for (const arg of args) {
    const request = parseTargetRequest(arg);
    if (request.kind === 'host' && opts.pin !== true) {
      // Resolved now only to check it does and to say what to: netpingd follows the name itself.
      const addresses = await resolveHost(request.host, lookup);
      const member = withChange(
        { name: request.name, host: request.host.toLowerCase().replace(/\.$/, ''), options: {} },
        request.options,
        opts,
      );
      hostsByKey.set(hostMemberKey(member), { member, addresses });
      continue;
    }
    for (const resolved of await resolveTargetRequest(arg, lookup)) {
      let target = opts.probe ? withProbe(resolved, opts.probe) : resolved;
      if (opts.overrides)
        target = { ...target, overrides: { ...target.overrides, ...opts.overrides } };
      // Before anything is written: a member the daemon's parser would refuse never reaches the set.
      checkOverridesFit(target);
      // --label adds to (and overrides) a member's own label.KEY=VALUE.
      if (opts.labels && Object.keys(opts.labels).length > 0) {
        target = { ...target, labels: sortedLabels({ ...target.labels, ...opts.labels }) };
      }
      byKey.set(targetKey(target), target);
    }
  }
  const before = await store.members();
  const parse = opts.parse ?? parseMember;
  const added = [...byKey.values()].map(targetMember);
  const addedHosts = [...hostsByKey.values()].map((h) => hostMemberText(h.member));
  const newKeys = [...byKey.keys(), ...hostsByKey.keys()];
  const { presentKeys, present, replaced } = await runSliced(
    scanPresent(
      before,
      parse,
      new Set([...added, ...addedHosts]),
      (key) => byKey.has(key) || hostsByKey.has(key),
    ),
  );
  // A followed name counts as one target here: what it resolves to later is not known now.
  const after = presentKeys.size + newKeys.filter((k) => !presentKeys.has(k)).length;
  if (opts.maxTargets !== undefined && after > opts.maxTargets) {
    throw new TargetLimitError(
      `too many targets: ${after} would exceed the limit of ${opts.maxTargets} (--max-targets)`,
    );
  }
  if (replaced.length > 0) await store.remove(replaced);
  await store.add([...added, ...addedHosts]);
  return [
    ...added.map((member) => ({ member, changed: !present.has(member) })),
    ...[...hostsByKey.values()].map(({ member, addresses }) => {
      const text = hostMemberText(member);
      return { member: text, changed: !present.has(text), addresses };
    }),
  ];
}

/** The set's members are looked at a few dozen between checks of the loop's budget. */
const MEMBERS_PER_CHECK = 32;

/**
 * What the set holds that an add must know, in slices (at 10,000 members
 * one piece held the loop some 20 ms): the keys present (an unparsable
 * member counts as one, `undefined`), which of the `adding` members are
 * there already, and the members for a key the add names (`named`) that
 * are not being added: they are replaced.
 */
function* scanPresent(
  members: readonly string[],
  parse: MemberParser,
  adding: ReadonlySet<string>,
  named: (key: string) => boolean,
): Generator<
  void,
  { presentKeys: Set<string | undefined>; present: Set<string>; replaced: string[] }
> {
  const presentKeys = new Set<string | undefined>();
  const present = new Set<string>();
  const replaced: string[] = [];
  for (let i = 0; i < members.length; i++) {
    const member = members[i]!;
    const key = keyOfMember(member, parse);
    presentKeys.add(key);
    if (adding.has(member)) present.add(member);
    else if (key !== undefined && named(key)) replaced.push(member);
    if (i % MEMBERS_PER_CHECK === 0) yield;
  }
  return { presentKeys, present, replaced };
}

/** A followed name with the request's options and the command's flags over them, checked. */
function withChange(
  base: HostMember,
  requested: HostMember['options'] | undefined,
  opts: AddOptions,
): HostMember {
  // The same steps as for one address, on a stand-in target: one set of rules for both.
  let t: Target = hostTarget({ ...base, options: requested ?? {} }, '192.0.2.1');
  if (opts.probe) t = withProbe(t, opts.probe);
  if (opts.overrides) t = { ...t, overrides: { ...t.overrides, ...opts.overrides } };
  checkOverridesFit(t);
  if (opts.labels && Object.keys(opts.labels).length > 0) {
    t = { ...t, labels: sortedLabels({ ...t.labels, ...opts.labels }) };
  }
  if (t.labels?.host !== undefined) {
    throw new InvalidInputError(`the label 'host' is netping's own on a followed name`);
  }
  return {
    ...base,
    options: {
      ...(t.probe ? { probe: t.probe } : {}),
      ...(t.overrides ? { overrides: t.overrides } : {}),
      ...(t.labels ? { labels: t.labels } : {}),
    },
  };
}

/** The target a member names, or undefined for a member that does not parse. */
function keyOfMember(member: string, parse: MemberParser): string | undefined {
  try {
    const m = parse(member);
    return m.kind === 'target' ? targetKey(m.target) : hostMemberKey(m.member);
  } catch {
    return undefined;
  }
}

/**
 * Removes by name, by address, or by name@address, each optionally with
 * "?probe=KIND&port=N" (or `opts.probe`, npcli's --probe/--port) to pick one
 * probe kind. Without a probe, a selector matches every kind: a bare
 * name@address probed by ICMP and TCP names two targets, refused unless
 * `all`, like a name that names several. Every argument must match at least
 * one member, and, unless `all` is set, at most one target, or nothing is
 * removed.
 */
export async function removeTargets(
  store: TargetStore,
  args: readonly string[],
  opts: { all?: boolean; probe?: ProbeSpec; parse?: MemberParser } = {},
): Promise<ChangeResult[]> {
  const members = await store.members();
  const parse = opts.parse ?? parseMember;
  const parsed = await runSliced(
    eachSliced(members, (member) => ({ member, target: tryParse(member, parse) })),
  );
  const chosen = new Set<string>();
  for (const arg of args) {
    if (arg.length === 0) throw new InvalidInputError('invalid target: empty');
    // An unparsable member goes by its exact text, which may not parse as a selector either.
    let matches = members.includes(arg)
      ? parsed.filter(({ member, target }) => !target && member === arg)
      : [];
    if (matches.length === 0) {
      const selector = parseSelector(arg, opts.probe);
      const each = (m: (typeof parsed)[number]): typeof m | undefined =>
        m.target && matchesSelector(selector, m.target) ? m : undefined;
      matches = (await runSliced(eachSliced(parsed, each))).filter((m) => m !== undefined);
    }
    if (matches.length === 0) {
      throw new NoSuchTargetError(
        `no target matches ${quoted(arg.slice(0, 200))}${opts.probe ? ` probed by ${probeLabel(opts)}` : ''} (see npcli list)`,
      );
    }
    if (!opts.all) refuseSeveral(arg, matches);
    matches.forEach((m) => chosen.add(m.member));
  }
  const removed = [...chosen].sort(); // in a stable order, whatever the store's
  await store.remove(removed);
  return removed.map((member) => ({ member, changed: true }));
}

/** `f` of every item, in slices. */
function* eachSliced<T, U>(items: readonly T[], f: (item: T) => U): Generator<void, U[]> {
  const out: U[] = [];
  for (let i = 0; i < items.length; i++) {
    out.push(f(items[i]!));
    if (i % MEMBERS_PER_CHECK === 0) yield;
  }
  return out;
}

/** Two members of one target (with other settings) are one target, not several. */
function refuseSeveral(
  arg: string,
  matches: readonly { member: string; target: Target | undefined }[],
): void {
  const targets = new Set(
    matches.map(({ member, target }) => (target ? identity(target) : member)),
  );
  if (targets.size <= 1) return;
  const named = [...matches]
    .sort((a, b) => (a.member < b.member ? -1 : 1))
    .slice(0, MEMBERS_NAMED)
    .map((m) => quoted(m.member.slice(0, 200)));
  if (matches.length > MEMBERS_NAMED) named.push('…');
  throw new AmbiguousTargetError(
    `${quoted(arg.slice(0, 200))} matches ${targets.size} targets (${named.join(', ')}): ` +
      'nothing removed; to remove them all give --all, or name one as name@address ' +
      '(with ?probe=KIND&port=N, or --probe and --port, where it has several probes)',
  );
}

/** What a remove argument names; an unset part matches anything. */
interface Selector {
  readonly name?: string;
  /** Canonical; undefined with `badAddress`, which matches nothing. */
  readonly address?: string;
  readonly badAddress?: true;
  /** A followed name's host (name@host): matches that member, and no address. */
  readonly host?: string;
  readonly probe?: ProbeSpec;
}

/**
 * "name@address[?options]", "address[?options]" or "name". Options are read
 * only after an '@' or an address, since a name may hold a '?'; bad options
 * are bad input. `flagProbe` (--probe/--port) wins over the argument's own.
 */
function parseSelector(arg: string, flagProbe: ProbeSpec | undefined): Selector {
  const at = arg.lastIndexOf('@');
  const q = arg.indexOf('?', at < 0 ? 0 : at);
  const head = q < 0 ? arg : arg.slice(0, q);
  const where = at < 0 ? head : head.slice(at + 1);
  if (at < 0 && familyOf(where) === undefined) {
    return { name: arg, ...(flagProbe ? { probe: flagProbe } : {}) };
  }
  const probe = flagProbe ?? (q < 0 ? undefined : parseTargetOptions(arg.slice(q + 1)).probe);
  const host = at < 0 ? undefined : hostOfSelector(arg.slice(0, q < 0 ? arg.length : q));
  return {
    ...(at < 0 ? {} : { name: head.slice(0, at) }),
    ...(host !== undefined
      ? { host }
      : familyOf(where) === undefined
        ? { badAddress: true as const }
        : { address: canonicalAddress(where) }),
    ...(probe ? { probe } : {}),
  };
}

/** The host of a "name@host" selector, as a member stores it; undefined for an address. */
function hostOfSelector(text: string): string | undefined {
  try {
    const m = parseMember(text);
    return m.kind === 'host' ? m.member.host : undefined;
  } catch {
    return undefined;
  }
}

function matchesSelector(s: Selector, target: Target): boolean {
  if (s.badAddress) return false;
  if (s.name !== undefined && s.name !== target.name) return false;
  if (s.host !== undefined && s.host !== target.host) return false;
  if (s.address !== undefined && (target.host !== undefined || s.address !== target.address))
    return false;
  return s.probe === undefined || probeLabel(s) === probeLabel(target);
}

/**
 * A member as a target to match selectors against; a followed name as one
 * with its host and no address (it matches by name, or name@host).
 */
function tryParse(member: string, parse: MemberParser): Target | undefined {
  try {
    const m = parse(member);
    if (m.kind === 'target') return m.target;
    return { ...hostTarget(m.member, '192.0.2.1'), address: '' };
  } catch {
    return undefined;
  }
}

/** What makes two matches one target: its key, or a followed name's name@host and probe. */
function identity(t: Target): string {
  return t.host === undefined ? targetKey(t) : `${t.name}@${t.host}?${probeLabel(t)}`;
}

export interface ListedTarget {
  name: string;
  /** The pinned address; absent for a followed name (host). */
  address?: string;
  /** A followed name (name@host): netpingd probes every address it has. */
  host?: string;
  /** The probe kind: icmp, tcp, udp. */
  probe: string;
  /** Where the kind has one. */
  port?: number;
  /** Only where the target has its own. */
  intervalMs?: number;
  timeoutMs?: number;
  /** Only where the target has labels (label.KEY=VALUE). */
  labels?: Labels;
}

export interface ListResult {
  targets: ListedTarget[];
  invalid: InvalidMember[];
}

export async function listTargets(store: TargetStore): Promise<ListResult> {
  const result: ListResult = { targets: [], invalid: [] };
  for (const member of await store.members()) {
    try {
      const parsed = parseMember(member);
      const { name, overrides, labels } =
        parsed.kind === 'target' ? parsed.target : { ...parsed.member, ...parsed.member.options };
      result.targets.push({
        name,
        ...(parsed.kind === 'target'
          ? { address: parsed.target.address }
          : { host: parsed.member.host }),
        ...probeFields(parsed.kind === 'target' ? parsed.target : parsed.member.options),
        ...overrides,
        ...(labels ? { labels } : {}),
      });
    } catch (err) {
      result.invalid.push({ member, error: err instanceof Error ? err.message : String(err) });
    }
  }
  sortByAddress(
    result.targets,
    // Followed names sort after the addresses (addressSortKey), by host.
    (t) => t.address ?? t.host ?? '',
    // Names hold no spaces: the probe orders one name's targets without mixing names.
    (t) => `${t.name} ${t.probe}:${t.port ?? ''}`,
  );
  return result;
}

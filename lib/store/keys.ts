import { InvalidInputError } from '../errors.js';
import { quoteInput } from '../render/printable.js';

export const DEFAULT_PREFIX = 'netping';
const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Every Redis key and channel name netping uses, from one prefix. Each name
 * starts with the prefix in braces, `{P}:…`: a Redis Cluster hashes only
 * what is inside the braces, so all keys of one prefix share a hash slot,
 * and transactions over several of them (add + notice, register + index)
 * and sharded change notices work there as on a single server.
 */
export interface Keys {
  readonly prefix: string;
  /** The set of "name@address" members to ping. */
  readonly targets: string;
  /** Where every change to `targets` is announced. */
  readonly events: string;
  /** The hash of one daemon instance's saved statistics, member → JSON. */
  stats(instance: string): string;
  /** What SCAN matches to find every instance's statistics hash. */
  readonly statsPattern: string;
  /** The first release's hash of one instance's history, chunk name → JSON; converted at start. */
  history(instance: string): string;
  /**
   * One chunk of an instance's history (`m:<hour>`, `h:<day>`), a hash of
   * target key → its records as varints (lib/history/history-chunks.ts),
   * expiring when the chunk leaves the retention.
   */
  historyChunk(instance: string, chunk: string): string;
  /** The stream of one daemon instance's outages (lib/outages/, event-store.ts). */
  outages(instance: string): string;
  /** What SCAN matches to find every instance's outage stream. */
  readonly outagesPattern: string;
  /**
   * Which process runs as this instance id now: its random run id, with a
   * short expiry it renews (daemon/instance-claim.ts), so two daemons never
   * write under one id.
   */
  instance(id: string): string;
  /** The mesh (lib/mesh/): registrations and summaries expire with their instance. */
  readonly mesh: {
    /** One instance's registration (JSON, lib/mesh/registration.ts), with an expiry. */
    instance(id: string): string;
    /**
     * The set of instance ids that registered: an index, so the registry is
     * read without SCANning a shared Redis's whole keyspace. An id whose
     * registration has expired is removed by the next reader.
     */
    readonly instances: string;
    /** One instance's summary of its mesh targets (JSON, lib/mesh/summary.ts), with an expiry. */
    summary(id: string): string;
    /** The peer key of the mesh, set once (SET NX) by the first instance. */
    readonly peerKey: string;
    /** One instance's outage report (JSON, lib/outages/down-report.ts), with an expiry. */
    down(id: string): string;
  };
  /** A group of daemons splitting the target set (lib/group/). */
  group(name: string): GroupKeys;
}

export interface GroupKeys {
  readonly name: string;
  /** One member's registration (JSON, lib/group/member.ts), with a short expiry. */
  member(id: string): string;
  /** The index set of member ids, like the mesh's. */
  readonly members: string;
  /** Joins and leaves are announced here, so the others re-read at once. */
  readonly events: string;
  /** The group's saved statistics, target key → JSON: a moved target's counters go with it. */
  readonly stats: string;
  /**
   * Who may write each entry of `stats`: target key → `<member id> <generation>`,
   * set by the member that read it when taking the target on; a save by
   * anyone else is refused (lib/store/fenced-writes.ts).
   */
  readonly owners: string;
  /** One chunk of the group's history, like an instance's: a moved target's history goes with it, fenced by `owners`. */
  historyChunk(chunk: string): string;
  /** Counts the members' joins: each join's generation, so a member's old writes are fenced off from its new ones. */
  readonly generation: string;
}

export function keysFor(prefix: string = DEFAULT_PREFIX): Keys {
  validatePrefix(prefix);
  const p = `{${prefix}}`;
  return {
    prefix,
    targets: `${p}:targets`,
    events: `${p}:events`,
    stats: (instance) => `${p}:stats:${instance}`,
    // SCAN's glob: braces are literal there (only * ? [ ] \ are special).
    statsPattern: `${p}:stats:*`,
    history: (instance) => `${p}:history:${instance}`,
    historyChunk: (instance, chunk) => `${p}:hist:${instance}:${chunk}`,
    outages: (instance) => `${p}:outages:${instance}`,
    outagesPattern: `${p}:outages:*`,
    instance: (id) => `${p}:instance:${id}`,
    mesh: {
      instance: (id) => `${p}:mesh:instance:${id}`,
      instances: `${p}:mesh:instances`,
      summary: (id) => `${p}:mesh:summary:${id}`,
      peerKey: `${p}:mesh:peer-key`,
      down: (id) => `${p}:mesh:down:${id}`,
    },
    group: (name) => ({
      name,
      member: (id) => `${p}:group:${name}:member:${id}`,
      members: `${p}:group:${name}:members`,
      events: `${p}:group:${name}:events`,
      stats: `${p}:gstats:${name}`,
      owners: `${p}:gowners:${name}`,
      historyChunk: (chunk) => `${p}:ghist:${name}:${chunk}`,
      generation: `${p}:group:${name}:generation`,
    }),
  };
}

function validatePrefix(prefix: string): void {
  if (!PREFIX.test(prefix)) {
    throw new InvalidInputError(
      `invalid prefix ${quoteInput(prefix)}: use 1-64 characters from A-Z a-z 0-9 _ . : -`,
    );
  }
}

const INSTANCE = /^[A-Za-z0-9_.-]{1,100}$/;

/** Names one daemon among several sharing a Redis; the host name by default. */
export function validateInstance(instance: string): string {
  if (!INSTANCE.test(instance)) {
    throw new InvalidInputError(
      `invalid instance id ${quoteInput(instance, 100)}: use 1-100 characters from A-Z a-z 0-9 _ . -`,
    );
  }
  return instance;
}

const GROUP = /^[A-Za-z0-9_.-]{1,64}$/;

/** A group's name (--group): part of key names, so a restricted alphabet. */
export function validateGroup(group: string): string {
  if (!GROUP.test(group)) {
    throw new InvalidInputError(
      `invalid group ${quoteInput(group, 64)}: use 1-64 characters from A-Z a-z 0-9 _ . -`,
    );
  }
  return group;
}

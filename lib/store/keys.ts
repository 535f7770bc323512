import { InvalidInputError } from '../errors.js';

export const DEFAULT_PREFIX = 'netping';
const PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Every Redis key and channel name netping uses, from one prefix. */
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
  /** The hash of one daemon instance's history, chunk name → JSON (lib/history/history-chunks.ts). */
  history(instance: string): string;
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
  };
}

export function keysFor(prefix: string = DEFAULT_PREFIX): Keys {
  if (!PREFIX.test(prefix)) {
    throw new InvalidInputError(
      `invalid prefix '${prefix}': use 1-64 characters from A-Z a-z 0-9 _ . : -`,
    );
  }
  return {
    prefix,
    targets: `${prefix}:targets`,
    events: `${prefix}:events`,
    stats: (instance) => `${prefix}:stats:${instance}`,
    statsPattern: `${prefix}:stats:*`,
    history: (instance) => `${prefix}:history:${instance}`,
    mesh: {
      instance: (id) => `${prefix}:mesh:instance:${id}`,
      instances: `${prefix}:mesh:instances`,
      summary: (id) => `${prefix}:mesh:summary:${id}`,
      peerKey: `${prefix}:mesh:peer-key`,
    },
  };
}

const INSTANCE = /^[A-Za-z0-9_.-]{1,100}$/;

/** Names one daemon among several sharing a Redis; the host name by default. */
export function validateInstance(instance: string): string {
  if (!INSTANCE.test(instance)) {
    throw new InvalidInputError(
      `invalid instance id '${instance.slice(0, 100)}': use 1-100 characters from A-Z a-z 0-9 _ . -`,
    );
  }
  return instance;
}

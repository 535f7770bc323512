// What a meshed netpingd tells its peers about itself, kept in Redis under
// `P:mesh:instance:<id>` with an expiry (daemon/mesh-keeper.ts refreshes
// it). Read back from Redis, it is input like any other: checked field by
// field, since any client of that Redis could have written it.

import { canonicalAddress, familyOf } from '../address.js';
import { InvalidInputError } from '../errors.js';
import { checkedLabels, type Labels } from '../labels.js';
import { validateInstance } from '../store/keys.js';

export interface Registration {
  readonly id: string;
  /** Where peers probe it (canonical text). */
  readonly addresses: readonly string[];
  /** Its peer responder's UDP port (and the TCP port mesh tcp probes connect to). */
  readonly peerPort: number;
  readonly labels: Labels;
  readonly version: string;
  /** ISO time of its start. */
  readonly startedAt: string;
}

export const MAX_ADVERTISED = 16;

export function encodeRegistration(r: Registration): string {
  return JSON.stringify({ v: 1, ...r });
}

/** A registration read from Redis; throws InvalidInputError on anything out of shape. */
export function decodeRegistration(text: string): Registration {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidInputError('mesh registration is not JSON');
  }
  if (typeof raw !== 'object' || raw === null) {
    throw new InvalidInputError('mesh registration is not an object');
  }
  const o = raw as Record<string, unknown>;
  if (o.v !== 1) throw new InvalidInputError(`mesh registration of unknown version ${String(o.v)}`);
  if (typeof o.id !== 'string') throw new InvalidInputError('mesh registration without an id');
  const id = validateInstance(o.id);
  if (!Array.isArray(o.addresses) || o.addresses.length > MAX_ADVERTISED) {
    throw new InvalidInputError(`mesh registration of ${id}: bad address list`);
  }
  const addresses = o.addresses.map((a) => checkedAddress(a, id));
  const port = o.peerPort;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidInputError(`mesh registration of ${id}: bad peer port`);
  }
  return {
    id,
    addresses,
    peerPort: port,
    labels: checkedLabels(o.labels ?? {}),
    version: shortString(o.version, 'version', id),
    startedAt: shortString(o.startedAt, 'start time', id),
  };
}

function checkedAddress(a: unknown, id: string): string {
  if (typeof a !== 'string' || familyOf(a) === undefined) {
    throw new InvalidInputError(`mesh registration of ${id}: bad address`);
  }
  return canonicalAddress(a);
}

function shortString(v: unknown, what: string, id: string): string {
  if (typeof v !== 'string' || v.length > 64) {
    throw new InvalidInputError(`mesh registration of ${id}: bad ${what}`);
  }
  return v;
}

// Which destinations the peer responder answers for: a probe carries the
// address and port it was sent to (packet.ts), and only one sent to this
// host is answered, so a relay in front of a responder cannot pass for a
// peer. Bound to one address: that address. Bound to all: every address of
// the host's interfaces (re-read at most every 10 s, on a miss), the
// loopback range (Linux delivers all of 127.0.0.0/8 locally), and the
// addresses the daemon advertises to its mesh (a peer behind NAT is probed
// at its public address).

import { networkInterfaces } from 'node:os';
import { canonicalAddress } from '../../address.js';

export interface OwnAddressOptions {
  /** The address bound: undefined, '::' or '0.0.0.0' for all. */
  readonly host: string | undefined;
  /** The port bound (the kernel's choice for 0). */
  readonly port: () => number;
  /** Addresses answered for besides the host's own (--advertise). */
  readonly also?: readonly string[];
  /** The host's addresses now; default the interfaces' (os.networkInterfaces). */
  readonly interfaceAddresses?: () => string[];
  readonly nowMs: () => number;
}

const REREAD_MS = 10_000;

function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) =>
    (list ?? []).map((a) => canonicalAddress(a.address.split('%')[0]!)),
  );
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

/** A predicate for PeerPolicy's `isOurs`. */
export function ownAddresses(opts: OwnAddressOptions): (address: string, port: number) => boolean {
  const also = new Set((opts.also ?? []).map(canonicalAddress));
  const host = opts.host === undefined ? undefined : canonicalAddress(opts.host);
  if (host !== undefined && host !== '::' && host !== '0.0.0.0') {
    return (address, port) => port === opts.port() && (address === host || also.has(address));
  }
  const read = opts.interfaceAddresses ?? hostAddresses;
  let known = new Set(read());
  let readAtMs = opts.nowMs();
  return (address, port) => {
    if (port !== opts.port()) return false;
    if (known.has(address) || also.has(address) || isLoopback(address)) return true;
    // An address added since: looked for again, but not on every forged destination.
    const now = opts.nowMs();
    if (now - readAtMs < REREAD_MS) return false;
    readAtMs = now;
    known = new Set(read());
    return known.has(address);
  };
}

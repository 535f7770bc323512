// The addresses a meshed netpingd advertises when --advertise is not given:
// those of the interfaces that hold the default routes (IPv4 from
// /proc/net/route, IPv6 from /proc/net/ipv6_route), which is where a peer
// elsewhere would reach this host. Without a default route (a lab, a test
// namespace) it falls back to every global address, and says so.

import { readFileSync } from 'node:fs';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { canonicalAddress } from '../lib/address.js';
import { InvalidInputError } from '../lib/errors.js';
import { MAX_ADVERTISED } from '../lib/mesh/registration.js';

/** The interfaces of default routes in /proc/net/route text (IPv4). */
export function defaultRouteInterfaces4(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && destination === '00000000' && mask === '00000000') out.push(iface);
  }
  return out;
}

/** The interfaces of default routes in /proc/net/ipv6_route text. */
export function defaultRouteInterfaces6(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // dest, dest prefix length, src, src length, next hop, metric, refcnt, use, flags, iface
    if (f.length === 10 && /^0{32}$/.test(f[0]!) && f[1] === '00' && f[9] !== 'lo') out.push(f[9]!);
  }
  return out;
}

function usable(a: NetworkInterfaceInfo): boolean {
  // Link-local addresses need a zone, which means nothing on another host.
  return !a.internal && !/^fe80:/i.test(a.address) && !a.address.startsWith('169.254.');
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The addresses to advertise, and how they were found (for the log). */
export function defaultAdvertise(): { addresses: string[]; how: string } {
  const interfaces = networkInterfaces();
  const routed = [
    ...new Set([
      ...defaultRouteInterfaces4(readOr('/proc/net/route')),
      ...defaultRouteInterfaces6(readOr('/proc/net/ipv6_route')),
    ]),
  ];
  const of = (names: readonly string[]): string[] => [
    ...new Set(
      names.flatMap((n) =>
        (interfaces[n] ?? []).filter(usable).map((a) => canonicalAddress(a.address)),
      ),
    ),
  ];
  const fromRoutes = of(routed);
  if (fromRoutes.length > 0) {
    return {
      addresses: fromRoutes.slice(0, MAX_ADVERTISED),
      how: `the addresses of ${routed.join(', ')}, which hold the default routes`,
    };
  }
  const all = of(Object.keys(interfaces));
  if (all.length > 0) {
    return {
      addresses: all.slice(0, MAX_ADVERTISED),
      how: 'every global address: there is no default route to choose by (give --advertise to choose)',
    };
  }
  throw new InvalidInputError(
    '--mesh: this host has no default route and no global address to advertise; give --advertise ADDR[,ADDR...]',
  );
}

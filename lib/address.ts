import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export function familyOf(address: string): Family | undefined {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return undefined;
}

/** 16 bytes for either family (IPv4 as ::ffff:a.b.c.d), for ordering and canonical text. */
export function addressBytes(address: string): Uint8Array {
  const out = new Uint8Array(16);
  if (isIPv4(address)) {
    out[10] = 0xff;
    out[11] = 0xff;
    address.split('.').forEach((part, i) => (out[12 + i] = Number(part)));
    return out;
  }
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const parse = (s: string): number[] => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const v4 = g.split('.').map(Number);
        groups.push(((v4[0]! << 8) | v4[1]!) >>> 0, ((v4[2]! << 8) | v4[3]!) >>> 0);
      } else {
        groups.push(parseInt(g, 16));
      }
    }
    return groups;
  };
  const headGroups = parse(head);
  const tailGroups = tail === undefined ? [] : parse(tail);
  const groups = [
    ...headGroups,
    ...new Array<number>(8 - headGroups.length - tailGroups.length).fill(0),
    ...tailGroups,
  ];
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/**
 * An IPv6 address's zone (`fe80::1%eth0`: the interface a link-local address
 * is reached through), or undefined. The same link-local address on two
 * links is two hosts, so the zone is part of the address everywhere but on
 * the wire, where the kernel neither wants nor reports it as text.
 */
export function zoneOf(address: string): string | undefined {
  const at = address.indexOf('%');
  return at < 0 ? undefined : address.slice(at + 1);
}

/** The address without its zone: what a reply's source is compared with. */
export function withoutZone(address: string): string {
  const at = address.indexOf('%');
  return at < 0 ? address : address.slice(0, at);
}

/**
 * Canonical text of an address, so "::0001" and "::1" are one target and a
 * reply's source (which the kernel formats canonically) compares equal. A
 * zone is kept as given.
 */
export function canonicalAddress(address: string): string {
  const zone = zoneOf(address);
  if (zone !== undefined) return `${canonicalAddress(withoutZone(address))}%${zone}`;
  const family = familyOf(address);
  if (family === 4) return address.split('.').map(Number).join('.');
  if (family !== 6) return address;
  const b = addressBytes(address);
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  // RFC 5952: compress the longest run (>1) of zero groups, the first on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  // Mixed notation where inet_ntop (and so the kernel's and libuv's text) uses
  // it: IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d (RFC 5952 §5).
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff))) {
    const v4 = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    return bestLen === 6 ? `::${v4}` : `::ffff:${v4}`;
  }
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/**
 * A string whose plain comparison orders addresses numerically, IPv4 before
 * IPv6: compute it once per address and sort by it, instead of parsing both
 * addresses in every comparison.
 */
export function addressSortKey(address: string): string {
  const family = familyOf(address);
  if (family === undefined) return `9${address}`;
  let hex = '';
  for (const byte of addressBytes(withoutZone(address))) hex += byte.toString(16).padStart(2, '0');
  const zone = zoneOf(address);
  return zone === undefined ? `${family}${hex}` : `${family}${hex}%${zone}`;
}

/**
 * Sorts in place by address (numerically, IPv4 first), then by name: the one
 * order of the table at /, /api/targets and `npcli list`. Keys are computed
 * once per item, not in every comparison.
 */
export function sortByAddress<T>(
  items: T[],
  address: (t: T) => string,
  name: (t: T) => string,
): T[] {
  const keys = new Map(items.map((t) => [t, `${addressSortKey(address(t))} ${name(t)}`]));
  return items.sort((a, b) => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Numeric order, IPv4 before IPv6. */
export function compareAddresses(a: string, b: string): number {
  const fa = familyOf(a) ?? 9;
  const fb = familyOf(b) ?? 9;
  if (fa !== fb) return fa - fb;
  if (fa === 9) return a < b ? -1 : a > b ? 1 : 0;
  const ba = addressBytes(withoutZone(a));
  const bb = addressBytes(withoutZone(b));
  for (let i = 0; i < 16; i++) {
    if (ba[i] !== bb[i]) return ba[i]! - bb[i]!;
  }
  const za = zoneOf(a) ?? '';
  const zb = zoneOf(b) ?? '';
  return za < zb ? -1 : za > zb ? 1 : 0;
}

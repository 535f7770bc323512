// Byte builders for tests: IP headers around ICMP messages, the way raw
// sockets hand them to us and the way routers quote our echoes.

import type { Family } from '../../lib/address.js';
import { internetChecksum } from '../../lib/probes/icmp/checksum.js';

/** A 20-byte IPv4 header (or longer with `options`); the header checksum is left 0. */
export function ipv4Header(
  src: string,
  dst: string,
  protocol: number,
  payloadBytes: number,
  options: number[] = [],
): Buffer {
  if (options.length % 4 !== 0) throw new Error('IPv4 options come in 4-byte words');
  const ihl = 5 + options.length / 4;
  const h = Buffer.alloc(ihl * 4);
  h[0] = 0x40 | ihl;
  h.writeUInt16BE(ihl * 4 + payloadBytes, 2);
  h[8] = 64; // TTL
  h[9] = protocol;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  Buffer.from(options).copy(h, 20);
  return h;
}

/** A 40-byte IPv6 header. Addresses are written in full, 8 groups. */
export function ipv6Header(
  src: string,
  dst: string,
  nextHeader: number,
  payloadBytes: number,
): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payloadBytes, 4);
  h[6] = nextHeader;
  h[7] = 64; // hop limit
  writeIpv6(h, 8, src);
  writeIpv6(h, 24, dst);
  return h;
}

function writeIpv6(out: Buffer, at: number, full: string): void {
  const groups = full.split(':');
  if (groups.length !== 8) throw new Error(`write IPv6 addresses in full: ${full}`);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), at + 2 * i));
}

/** Recomputes the ICMP checksum of the message starting at `at`. */
export function fixIcmpChecksum(buf: Buffer, at = 0): Buffer {
  buf.writeUInt16BE(0, at + 2);
  buf.writeUInt16BE(internetChecksum(buf, at), at + 2);
  return buf;
}

/**
 * Turns an echo request we sent into the reply a raw socket would hand us:
 * type flipped, checksum recomputed, and for IPv4 the IP header prepended.
 */
export function echoReplyFor(
  family: Family,
  request: Buffer,
  from: string,
  to = '192.0.2.250',
): Buffer {
  const icmp = Buffer.from(request);
  if (family === 6) {
    icmp[0] = 129;
    return icmp; // the kernel checks ICMPv6 checksums; ours are not looked at
  }
  icmp[0] = 0;
  fixIcmpChecksum(icmp);
  return Buffer.concat([ipv4Header(from, to, 1, icmp.length), icmp]);
}

/**
 * An ICMPv4 error from `router` quoting the IP header of our echo to `dst`
 * and `quotedIcmp` (all of our echo, or only its first 8 bytes), as a raw
 * socket returns it.
 */
export function icmp4Error(
  type: number,
  code: number,
  router: string,
  dst: string,
  quotedIcmp: Buffer,
  quotedProtocol = 1,
): Buffer {
  const quotedIp = ipv4Header('192.0.2.250', dst, quotedProtocol, quotedIcmp.length);
  const icmp = Buffer.concat([Buffer.from([type, code, 0, 0, 0, 0, 0, 0]), quotedIp, quotedIcmp]);
  fixIcmpChecksum(icmp);
  return Buffer.concat([ipv4Header(router, '192.0.2.250', 1, icmp.length), icmp]);
}

/** An ICMPv6 error quoting the 40-byte IPv6 header of our echo to `dstFull` and the echo. */
export function icmp6Error(
  type: number,
  code: number,
  dstFull: string,
  quotedIcmp: Buffer,
  nextHeader = 58,
): Buffer {
  const quotedIp = ipv6Header('2001:db8:0:0:0:0:0:fa', dstFull, nextHeader, quotedIcmp.length);
  return Buffer.concat([Buffer.from([type, code, 0, 0, 0, 0, 0, 0]), quotedIp, quotedIcmp]);
}

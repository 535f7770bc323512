// A datagram ICMP socket hands over an ICMP error about one of our echoes
// through its error queue, already taken apart: the type and code, the
// offender, the original destination and the part of our echo that the
// error quoted. The prober decodes errors from the ICMP message itself
// (packet.ts), so we put the message back together: an ICMP error without an
// outer IP header, quoting an IP header to the destination and our echo.
// Pure, tested byte by byte.

import type { Family } from '../../address.js';
import { isIP } from 'node:net';
import { internetChecksum } from './checksum.js';
import { ICMP_HEADER_BYTES } from './packet.js';

const IPV4_HEADER_BYTES = 20;
const IPV6_HEADER_BYTES = 40;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

export interface QueuedError {
  readonly type: number;
  readonly code: number;
  /** Where our echo was going. */
  readonly destination: string;
  /** Our echo as the error quoted it (ICMP header on). */
  readonly quoted: Uint8Array;
  /** The kernel's ee_info: the MTU of Fragmentation Needed / Packet Too Big, else 0. */
  readonly info?: number;
}

/** The ICMP error message (no outer IP header) that carried `error`, written into `out`; returns its view. */
export function rebuildIcmpError(family: Family, error: QueuedError, out: Buffer): Buffer {
  const ipBytes = family === 4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES;
  const length = Math.min(out.length, ICMP_HEADER_BYTES + ipBytes + error.quoted.length);
  const message = out.subarray(0, length);
  message.fill(0, 0, ICMP_HEADER_BYTES + ipBytes);
  message[0] = error.type;
  message[1] = error.code;
  // Where the ICMP message itself carries the next-hop MTU (RFC 1191, RFC 4443).
  const mtu = error.info ?? 0;
  if (mtu > 0 && family === 4 && error.type === 3 && error.code === 4)
    message.writeUInt16BE(Math.min(mtu, 0xffff), 6);
  if (mtu > 0 && family === 6 && error.type === 2) message.writeUInt32BE(mtu >>> 0, 4);
  const ip = ICMP_HEADER_BYTES;
  if (family === 4) {
    message[ip] = 0x45;
    message.writeUInt16BE(IPV4_HEADER_BYTES + error.quoted.length, ip + 2);
    message[ip + 8] = 64;
    message[ip + 9] = IPPROTO_ICMP;
    writeAddress(4, error.destination, message, ip + 16);
  } else {
    message[ip] = 0x60;
    message.writeUInt16BE(error.quoted.length, ip + 4);
    message[ip + 6] = IPPROTO_ICMPV6;
    message[ip + 7] = 64;
    writeAddress(6, error.destination, message, ip + 24);
  }
  message.set(error.quoted.subarray(0, length - ip - ipBytes), ip + ipBytes);
  // ICMPv4 messages are checked by the decoder; ICMPv6 ones by the kernel only.
  if (family === 4) message.writeUInt16BE(internetChecksum(message), 2);
  return message;
}

function writeAddress(family: Family, text: string, out: Buffer, at: number): void {
  if (isIP(text) !== family) return; // left as zeros: matching falls to the quoted payload
  if (family === 4) {
    text.split('.').forEach((part, i) => (out[at + i] = Number(part)));
    return;
  }
  const [head = '', tail] = text.split('::');
  const groups = (s: string): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const all = [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
  all.forEach((g, i) => out.writeUInt16BE(g, at + 2 * i));
}

// The bytes the fault responder sends: replies to an echo request, faulty
// variants of them, and the ICMP errors that quote it. Pure; the responder
// (responder.ts) does the I/O. ICMPv4 checksums are ours to compute; the
// kernel computes ICMPv6 ones, so on IPv6 there is no corrupt checksum to send.

import { internetChecksum } from '../../lib/probes/icmp/checksum.js';
import { ICMP_HEADER_BYTES, PAYLOAD_MAGIC } from '../../lib/probes/icmp/packet.js';
import { ipv6Header } from './packets.js';

export interface EchoRequest {
  /** The ICMP message, copied out of the socket's buffer. */
  readonly icmp: Buffer;
  /** IPv4: the IP header as received, for quoting in an error. */
  readonly ipHeader: Buffer | undefined;
  readonly id: number;
  readonly seq: number;
  /** Our payload's wide sequence, or null when the echo is not netping's. */
  readonly wideSeq: number | null;
}

/** An echo request out of what a raw socket received, or undefined for anything else. */
export function parseEchoRequest(family: 4 | 6, received: Buffer): EchoRequest | undefined {
  let start = 0;
  if (family === 4) {
    if (received.length < 20 || received[0]! >> 4 !== 4) return undefined;
    start = (received[0]! & 0x0f) * 4;
  }
  if (received.length < start + ICMP_HEADER_BYTES) return undefined;
  if (received[start] !== (family === 4 ? 8 : 128) || received[start + 1] !== 0) return undefined;
  const icmp = Buffer.from(received.subarray(start));
  let wideSeq: number | null = null;
  if (icmp.length >= 24 && icmp.readUInt32BE(8) === PAYLOAD_MAGIC) {
    wideSeq = icmp.readUInt32BE(16) * 2 ** 32 + icmp.readUInt32BE(20);
  }
  return {
    icmp,
    ipHeader: family === 4 ? Buffer.from(received.subarray(0, start)) : undefined,
    id: icmp.readUInt16BE(4),
    seq: icmp.readUInt16BE(6),
    wideSeq,
  };
}

function withChecksum(family: 4 | 6, icmp: Buffer): Buffer {
  if (family === 4) {
    icmp.writeUInt16BE(0, 2);
    icmp.writeUInt16BE(internetChecksum(icmp), 2);
  }
  return icmp;
}

export function echoReply(family: 4 | 6, req: EchoRequest): Buffer {
  const icmp = Buffer.from(req.icmp);
  icmp[0] = family === 4 ? 0 : 129;
  return withChecksum(family, icmp);
}

/** Our reply with another identifier: what another pinger's reply looks like to netpingd. */
export function foreignReply(family: 4 | 6, req: EchoRequest): Buffer {
  const icmp = echoReply(family, req);
  icmp.writeUInt16BE(req.id ^ 0x5a5a, 4);
  return withChecksum(family, icmp);
}

/** A valid reply with one payload byte flipped afterwards: the checksum no longer holds. */
export function corruptReply(family: 4 | 6, req: EchoRequest): Buffer {
  const icmp = echoReply(family, req);
  const at = Math.min(icmp.length - 1, 40); // past the fields we decode, in the padding
  icmp[at] = icmp[at]! ^ 0xff;
  return icmp;
}

/**
 * The reply cut after 20 bytes of ICMP (header, magic, token, high sequence
 * bits) with its checksum recomputed over what is left, as a far end that
 * echoes a short payload sends it. (Shorter than the 8-byte ICMP header, the
 * kernel's ICMP filter drops it before netpingd could see it.)
 */
export const TRUNCATED_ICMP_BYTES = 20;
export function truncatedReply(family: 4 | 6, req: EchoRequest): Buffer {
  const icmp = Buffer.from(echoReply(family, req).subarray(0, TRUNCATED_ICMP_BYTES));
  return withChecksum(family, icmp);
}

/**
 * Destination unreachable quoting the request: ICMPv4 type 3 code 1 (host
 * unreachable) with the request's IP header and all of its ICMP message;
 * ICMPv6 type 1 code 3 (address unreachable) with a rebuilt 40-byte IPv6
 * header (raw IPv6 sockets do not hand us the real one) and the echo.
 */
export function unreachableFor(
  family: 4 | 6,
  req: EchoRequest,
  requestSource: string,
  requestDestination: string,
): Buffer {
  if (family === 4) {
    const quote = Buffer.concat([req.ipHeader ?? Buffer.alloc(0), req.icmp]);
    return withChecksum(4, Buffer.concat([Buffer.from([3, 1, 0, 0, 0, 0, 0, 0]), quote]));
  }
  const ip = ipv6Header(
    expandIpv6(requestSource),
    expandIpv6(requestDestination),
    58,
    req.icmp.length,
  );
  return Buffer.concat([Buffer.from([1, 3, 0, 0, 0, 0, 0, 0]), ip, req.icmp]);
}

/** "fd00:200::1" → "fd00:200:0:0:0:0:0:1", the form ipv6Header() takes. */
export function expandIpv6(text: string): string {
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(zeros).fill('0'), ...right];
  if (groups.length !== 8 || text.includes('.')) throw new Error(`cannot expand ${text}`);
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

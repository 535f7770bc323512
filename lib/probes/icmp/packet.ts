// Encoding and decoding of ICMP echo packets, pure and byte-exact.
//
// Our echo payload carries everything needed to match a reply to exactly one
// probe even with other pingers on the host and after the 16-bit sequence
// wraps: a magic, the probing target's random token, a 48-bit wide sequence
// and the send time.
//
//   0       4       8          12         16               24
//   | magic | token | seq hi16 | seq lo32 | sent at (f64 ms) | padding...
//
// The ICMP sequence field is the low 16 bits of the wide sequence.

import type { Family } from '../../address.js';
import { internetChecksum } from './checksum.js';

export const ICMP_HEADER_BYTES = 8;
export const PAYLOAD_MAGIC = 0x4e50_6e67; // "NPng"
export const MIN_PAYLOAD_BYTES = 24;
export const DEFAULT_PAYLOAD_BYTES = 56; // what ping sends: 64-byte ICMP messages
export const MAX_WIDE_SEQ = 2 ** 48 - 1;

const V4 = { echoRequest: 8, echoReply: 0 } as const;
const V6 = { echoRequest: 128, echoReply: 129 } as const;

export interface EchoFields {
  identifier: number;
  token: number; // uint32
  wideSeq: number; // 0..2^48-1
  sentAtMs: number;
}

/** Writes an echo request into `out` (length = 8 + payload size) and returns it. */
export function encodeEchoRequest(family: Family, fields: EchoFields, out: Buffer): Buffer {
  if (out.length < ICMP_HEADER_BYTES + MIN_PAYLOAD_BYTES) {
    throw new RangeError(`echo request buffer too small: ${out.length}`);
  }
  out[0] = family === 4 ? V4.echoRequest : V6.echoRequest;
  out[1] = 0;
  out.writeUInt16BE(0, 2);
  out.writeUInt16BE(fields.identifier & 0xffff, 4);
  out.writeUInt16BE(fields.wideSeq % 0x10000, 6);
  out.writeUInt32BE(PAYLOAD_MAGIC, 8);
  out.writeUInt32BE(fields.token >>> 0, 12);
  out.writeUInt32BE(Math.floor(fields.wideSeq / 2 ** 32), 16);
  out.writeUInt32BE(fields.wideSeq % 2 ** 32, 20);
  out.writeDoubleBE(fields.sentAtMs, 24);
  // The kernel computes ICMPv6 checksums itself (it needs the pseudo-header);
  // ICMPv4 raw sockets send what we give them.
  if (family === 4) out.writeUInt16BE(internetChecksum(out), 2);
  return out;
}

/** Why a probe ended without a reply, as quoted by an ICMP error. */
export type IcmpErrorReason = string;

export type Decoded =
  | {
      kind: 'reply';
      identifier: number;
      seq16: number;
      echo: PayloadFields | undefined;
      /** Shorter than our payload: a reply cut short, if the identifier is ours. */
      truncated: boolean;
    }
  | {
      kind: 'error';
      reason: IcmpErrorReason;
      identifier: number;
      seq16: number;
      quotedDestination: string | undefined;
      echo: PayloadFields | undefined;
      /** Fragmentation Needed's next-hop MTU or Packet Too Big's MTU, where given. */
      mtu?: number;
    }
  | { kind: 'ignored' } // another ICMP type, or an error that quotes something else
  | { kind: 'malformed'; reason: 'truncated' | 'checksum' | 'ip-header' };

export interface PayloadFields {
  token: number;
  wideSeq: number;
  sentAtMs: number;
}

/**
 * Decodes what a socket received. IPv4 raw sockets hand us the IP header
 * as well (`ipHeader`); IPv6 ones and ICMP datagram sockets hand us the ICMP
 * message alone.
 */
export function decodeReceived(
  family: Family,
  buf: Uint8Array,
  ipHeader: boolean = family === 4,
): Decoded {
  let start = 0;
  if (ipHeader) {
    const ip = ipv4HeaderLength(buf, 0);
    if (ip === undefined) return { kind: 'malformed', reason: 'ip-header' };
    start = ip;
  }
  if (buf.length - start < ICMP_HEADER_BYTES) return { kind: 'malformed', reason: 'truncated' };
  // The kernel verifies ICMPv6 checksums for raw ICMPv6 sockets, not ICMPv4 ones.
  if (family === 4 && internetChecksum(buf, start, buf.length) !== 0) {
    return { kind: 'malformed', reason: 'checksum' };
  }
  const type = buf[start]!;
  const code = buf[start + 1]!;
  const table = family === 4 ? V4 : V6;
  if (type === table.echoReply) {
    return {
      kind: 'reply',
      identifier: u16(buf, start + 4),
      seq16: u16(buf, start + 6),
      echo: readPayload(buf, start + ICMP_HEADER_BYTES),
      truncated: buf.length - start - ICMP_HEADER_BYTES < MIN_PAYLOAD_BYTES,
    };
  }
  const reason = icmpErrorReason(family, type, code);
  if (reason === undefined) return { kind: 'ignored' };
  const quoted = decodeQuotedEcho(family, buf, start + ICMP_HEADER_BYTES);
  if (quoted === undefined) return { kind: 'ignored' };
  const mtu =
    family === 4
      ? type === 3 && code === 4
        ? u16(buf, start + 6)
        : 0
      : type === 2
        ? u32(buf, start + 4)
        : 0;
  return mtu > 0 ? { kind: 'error', reason, ...quoted, mtu } : { kind: 'error', reason, ...quoted };
}

function decodeQuotedEcho(
  family: Family,
  buf: Uint8Array,
  at: number,
):
  | {
      identifier: number;
      seq16: number;
      quotedDestination: string;
      echo: PayloadFields | undefined;
    }
  | undefined {
  let icmpAt: number;
  let destination: string;
  if (family === 4) {
    const ip = ipv4HeaderLength(buf, at);
    if (ip === undefined || buf[at + 9] !== 1) return undefined;
    destination = `${buf[at + 16]}.${buf[at + 17]}.${buf[at + 18]}.${buf[at + 19]}`;
    icmpAt = at + ip;
  } else {
    if (buf.length < at + 40 || buf[at]! >> 4 !== 6 || buf[at + 6] !== 58) return undefined;
    destination = ipv6Text(buf, at + 24);
    icmpAt = at + 40;
  }
  if (buf.length < icmpAt + ICMP_HEADER_BYTES) return undefined;
  const table = family === 4 ? V4 : V6;
  if (buf[icmpAt] !== table.echoRequest) return undefined;
  return {
    identifier: u16(buf, icmpAt + 4),
    seq16: u16(buf, icmpAt + 6),
    quotedDestination: destination,
    echo: readPayload(buf, icmpAt + ICMP_HEADER_BYTES),
  };
}

function readPayload(buf: Uint8Array, at: number): PayloadFields | undefined {
  if (buf.length < at + MIN_PAYLOAD_BYTES || u32(buf, at) !== PAYLOAD_MAGIC) return undefined;
  const hi = u32(buf, at + 8);
  if (hi > 0xffff) return undefined;
  return {
    token: u32(buf, at + 4),
    wideSeq: hi * 2 ** 32 + u32(buf, at + 12),
    sentAtMs: readFloat64BE(buf, at + 16),
  };
}

function ipv4HeaderLength(buf: Uint8Array, at: number): number | undefined {
  if (buf.length < at + 20 || buf[at]! >> 4 !== 4) return undefined;
  const ihl = (buf[at]! & 0x0f) * 4;
  return ihl >= 20 && buf.length >= at + ihl ? ihl : undefined;
}

/** The reason an ICMP error of `type` and `code` names (`port-unreachable`...), or undefined for no error. */
export function icmpErrorReason(family: 4 | 6, type: number, code: number): string | undefined {
  return family === 4 ? icmp4ErrorReason(type, code) : icmp6ErrorReason(type, code);
}

function icmp4ErrorReason(type: number, code: number): string | undefined {
  if (type === 3) {
    const codes: Record<number, string> = {
      0: 'net-unreachable',
      1: 'host-unreachable',
      2: 'protocol-unreachable',
      3: 'port-unreachable',
      4: 'fragmentation-needed',
      9: 'admin-prohibited',
      10: 'admin-prohibited',
      13: 'admin-prohibited',
    };
    return codes[code] ?? 'unreachable';
  }
  if (type === 11) return code === 0 ? 'ttl-exceeded' : 'reassembly-timeout';
  if (type === 12) return 'parameter-problem';
  if (type === 4) return 'source-quench';
  return undefined;
}

function icmp6ErrorReason(type: number, code: number): string | undefined {
  if (type === 1) {
    const codes = [
      'no-route',
      'admin-prohibited',
      'beyond-scope',
      'address-unreachable',
      'port-unreachable',
      'source-policy',
      'reject-route',
    ];
    return codes[code] ?? 'unreachable';
  }
  if (type === 2) return 'packet-too-big';
  if (type === 3) return code === 0 ? 'hop-limit-exceeded' : 'reassembly-timeout';
  if (type === 4) return 'parameter-problem';
  return undefined;
}

function u16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

function u32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

function ipv6Text(buf: Uint8Array, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(u16(buf, at + 2 * i).toString(16));
  return groups.join(':'); // uncompressed; callers canonicalise
}

// Scratch space for reading a big-endian double without allocating a DataView
// per packet.
const scratch = new DataView(new ArrayBuffer(8));

function readFloat64BE(buf: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) scratch.setUint8(i, buf[at + i]!);
  return scratch.getFloat64(0);
}

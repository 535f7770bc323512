// The udp probe and its answer, byte by byte. Pure: no sockets, no clock.
//
//   offset  bytes  field
//    0      2      magic 'NP' (0x4e 0x50)
//    2      1      version (2)
//    3      1      type: 1 probe, 2 answer
//    4      4      target token (uint32, the prober's name for the target)
//    8      8      sequence (uint64; we use up to 2^53, the ledger's wide sequence)
//   16      8      send time: the prober's wall clock, Unix ms, float64
//   24      8      nonce: random per prober process
//   32     16      destination: the address the probe was sent to (IPv6; IPv4 as ::ffff:a.b.c.d)
//   48      2      destination port
//   50      2      answer hold: how long the responder held the probe, from
//                  the kernel's receive stamp to its answer, in 10 µs units
//                  (at most 655.35 ms); 0 in a probe, and from a responder
//                  without kernel stamps (which wrote zero here before)
//   52     16      HMAC-SHA256 over bytes 0-51 with the peer key, first 16 bytes
//   68             end: every packet of version 2 is exactly 68 bytes
//
// An answer is the probe with type 2 and the responder's own MAC: the same
// size, so a responder never sends more than it received, and a different
// type byte under the MAC, so a probe can never pass as an answer (or an
// answer as a probe) without the key. The destination is under both MACs:
// a responder answers only a probe sent to one of its own addresses and its
// port, so an answer proves that the address probed answered, not merely
// some key holder that a relay (which needs no key) forwarded the probe to.
//
// Version 1 (48 bytes, no destination) is refused as `version` by both
// ends: a version-1 responder counts our probes as oversized, we count its
// as `version` (docs/MEASUREMENT.md).

import { createHmac, timingSafeEqual } from 'node:crypto';
import { addressBytes, canonicalAddress } from '../../address.js';

export const UDP_MAGIC = 0x4e50;
export const UDP_VERSION = 2;
export const PacketType = { probe: 1, answer: 2 } as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export const UDP_PACKET_BYTES = 68;
const TO_OFFSET = 32;
const PORT_OFFSET = 48;
const HELD_OFFSET = 50;
const MAC_OFFSET = 52;
export const UDP_MAC_BYTES = 16;

/** What a probe carries and its answer echoes. */
export interface UdpFields {
  readonly token: number;
  /** 0 .. 2^53. */
  readonly seq: number;
  /** The prober's wall clock when it sent the probe, Unix milliseconds. */
  readonly sentAtWallMs: number;
  /** The prober process's nonce, two uint32 halves (high, low). */
  readonly nonceHi: number;
  readonly nonceLo: number;
  /** Where the probe was sent: canonical address text (an IPv4 one dotted, no zone). */
  readonly toAddress: string;
  readonly toPort: number;
  /** An answer's hold at the responder, ms (rounded down to 10 µs); 0 or absent in a probe. */
  readonly heldMs?: number;
}

/** The most an answer's hold can say (bytes 50-51: 65,535 units of 10 µs). */
export const MAX_HELD_MS = 655.35;

// Probes go to few addresses, each many times: their bytes are kept.
const MAX_CACHED_ADDRESSES = 4096;
const bytesOf = new Map<string, Uint8Array>();

function destinationBytes(address: string): Uint8Array {
  let b = bytesOf.get(address);
  if (b) return b;
  if (bytesOf.size >= MAX_CACHED_ADDRESSES) bytesOf.clear();
  const at = address.indexOf('%');
  b = addressBytes(at < 0 ? address : address.slice(0, at));
  bytesOf.set(address, b);
  return b;
}

/** The destination's text: dotted for ::ffff:a.b.c.d, canonical IPv6 otherwise. */
function destinationText(p: Buffer): string {
  const o = TO_OFFSET;
  let mapped = p[o + 10] === 0xff && p[o + 11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (p[o + i] !== 0) mapped = false;
  if (mapped) return `${p[o + 12]}.${p[o + 13]}.${p[o + 14]}.${p[o + 15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(p.readUInt16BE(o + 2 * i).toString(16));
  return canonicalAddress(groups.join(':'));
}

/**
 * Writes a packet of `type` with `fields` and its MAC into `out` (at least
 * UDP_PACKET_BYTES long); returns the packet written, a view of `out`.
 */
export function encodeUdpPacket(
  type: PacketType,
  fields: UdpFields,
  key: Buffer,
  out: Buffer = Buffer.alloc(UDP_PACKET_BYTES),
): Buffer {
  const p = out.subarray(0, UDP_PACKET_BYTES);
  p.writeUInt16BE(UDP_MAGIC, 0);
  p[2] = UDP_VERSION;
  p[3] = type;
  p.writeUInt32BE(fields.token >>> 0, 4);
  // 2^53 does not fit a uint32 pair through bit operators: split by division.
  p.writeUInt32BE(Math.floor(fields.seq / 0x1_0000_0000), 8);
  p.writeUInt32BE(fields.seq % 0x1_0000_0000, 12);
  p.writeDoubleBE(fields.sentAtWallMs, 16);
  p.writeUInt32BE(fields.nonceHi >>> 0, 24);
  p.writeUInt32BE(fields.nonceLo >>> 0, 28);
  p.set(destinationBytes(fields.toAddress), TO_OFFSET);
  p.writeUInt16BE(fields.toPort & 0xffff, PORT_OFFSET);
  p.writeUInt16BE(heldUnits(fields.heldMs ?? 0), HELD_OFFSET);
  macOf(p, key).copy(p, MAC_OFFSET, 0, UDP_MAC_BYTES);
  return p;
}

/** Why a packet is not a valid one of the type expected, or its fields. */
export type UdpDecoded =
  | { readonly ok: true; readonly fields: UdpFields }
  | { readonly ok: false; readonly reason: UdpRejection };

export type UdpRejection =
  /** Shorter than a packet: cut somewhere on the way. */
  | 'truncated'
  /** Longer than any packet of ours. */
  | 'oversized'
  /** Not our magic or the type expected: someone else's traffic. */
  | 'foreign'
  /** Our magic, another version: a netpingd of another release (version 1: before the destination). */
  | 'version'
  /** Ours in form, but the MAC does not match: damaged, forged, or another key. */
  | 'bad-mac';

/**
 * The checks that cost nothing (size, magic, version, type), in the order a
 * mixed-version mesh is told apart: undefined when the packet may be ours.
 */
export function udpFormRejection(packet: Buffer, expected: PacketType): UdpRejection | undefined {
  if (packet.length < 4) return 'truncated';
  if (packet.readUInt16BE(0) !== UDP_MAGIC) return 'foreign';
  if (packet[2] !== UDP_VERSION) return 'version';
  if (packet[3] !== expected) return 'foreign';
  if (packet.length < UDP_PACKET_BYTES) return 'truncated';
  if (packet.length > UDP_PACKET_BYTES) return 'oversized';
  return undefined;
}

/**
 * Checks a received packet: its form, then the MAC (the costly step last).
 * The sequence must also be at most 2^53, which any MAC we check was made over.
 */
export function decodeUdpPacket(packet: Buffer, expected: PacketType, key: Buffer): UdpDecoded {
  const rejection = udpFormRejection(packet, expected);
  if (rejection !== undefined) return { ok: false, reason: rejection };
  const mac = macOf(packet, key);
  if (!timingSafeEqual(mac.subarray(0, UDP_MAC_BYTES), packet.subarray(MAC_OFFSET))) {
    return { ok: false, reason: 'bad-mac' };
  }
  const seqHi = packet.readUInt32BE(8);
  if (seqHi > 0x20_0000) return { ok: false, reason: 'foreign' }; // beyond 2^53: not ours
  return {
    ok: true,
    fields: {
      token: packet.readUInt32BE(4),
      seq: seqHi * 0x1_0000_0000 + packet.readUInt32BE(12),
      sentAtWallMs: packet.readDoubleBE(16),
      nonceHi: packet.readUInt32BE(24),
      nonceLo: packet.readUInt32BE(28),
      toAddress: destinationText(packet),
      toPort: packet.readUInt16BE(PORT_OFFSET),
      heldMs: packet.readUInt16BE(HELD_OFFSET) / 100,
    },
  };
}

/** Rounded down: an RTT less the hold is never below what the network took. */
function heldUnits(heldMs: number): number {
  if (!(heldMs > 0)) return 0;
  return Math.min(0xffff, Math.floor(heldMs * 100));
}

function macOf(packet: Buffer, key: Buffer): Buffer {
  return createHmac('sha256', key).update(packet.subarray(0, MAC_OFFSET)).digest();
}

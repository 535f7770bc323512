// The udp probe and its answer, byte by byte. Pure: no sockets, no clock.
//
//   offset  bytes  field
//    0      2      magic 'NP' (0x4e 0x50)
//    2      1      version (1)
//    3      1      type: 1 probe, 2 answer
//    4      4      target token (uint32, the prober's name for the target)
//    8      8      sequence (uint64; we use up to 2^53, the ledger's wide sequence)
//   16      8      send time: the prober's wall clock, Unix ms, float64
//   24      8      nonce: random per prober process
//   32     16      HMAC-SHA256 over bytes 0-31 with the peer key, first 16 bytes
//   48             end: every packet of version 1 is exactly 48 bytes
//
// An answer is the probe with type 2 and the responder's own MAC: the same
// size, so a responder never sends more than it received, and a different
// type byte under the MAC, so a probe can never pass as an answer (or an
// answer as a probe) without the key.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const UDP_MAGIC = 0x4e50;
export const UDP_VERSION = 1;
export const PacketType = { probe: 1, answer: 2 } as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export const UDP_PACKET_BYTES = 48;
const MAC_OFFSET = 32;
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
}

/**
 * Writes a packet of `type` with `fields` and its MAC into `out` (at least
 * UDP_PACKET_BYTES long); returns the 48 bytes written, a view of `out`.
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
  /** Not our magic, version or the type expected: someone else's traffic. */
  | 'foreign'
  /** Ours in form, but the MAC does not match: damaged, forged, or another key. */
  | 'bad-mac';

/**
 * Checks a received packet: size, magic, version, type, then the MAC (the
 * costly step last). The sequence must also be at most 2^53, which any MAC
 * we check was made over.
 */
export function decodeUdpPacket(packet: Buffer, expected: PacketType, key: Buffer): UdpDecoded {
  if (packet.length < UDP_PACKET_BYTES) return { ok: false, reason: 'truncated' };
  if (packet.length > UDP_PACKET_BYTES) return { ok: false, reason: 'oversized' };
  if (packet.readUInt16BE(0) !== UDP_MAGIC || packet[2] !== UDP_VERSION || packet[3] !== expected) {
    return { ok: false, reason: 'foreign' };
  }
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
    },
  };
}

function macOf(packet: Buffer, key: Buffer): Buffer {
  return createHmac('sha256', key).update(packet.subarray(0, MAC_OFFSET)).digest();
}

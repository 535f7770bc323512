// The udp probe and answer, byte by byte, and their MAC.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  decodeUdpPacket,
  encodeUdpPacket,
  PacketType,
  UDP_PACKET_BYTES,
} from '../../lib/probes/udp/packet.js';

const KEY = Buffer.from('0123456789abcdef-test-key');
const FIELDS = {
  token: 0xdeadbeef,
  seq: 2 ** 33 + 5,
  sentAtWallMs: 1,
  nonceHi: 0x01020304,
  nonceLo: 0xa0b0c0d0,
  toAddress: '192.0.2.7',
  toPort: 9923,
  heldMs: 0,
};

// 'NP', version 2, type, token, seq hi32 = 2, seq lo32 = 5, 1.0 as a
// big-endian double, the nonce, the destination ::ffff:192.0.2.7 port 9923, two zero bytes.
const HEADER = (type: number): number[] => [
  0x4e,
  0x50,
  0x02,
  type,
  0xde,
  0xad,
  0xbe,
  0xef,
  0x00,
  0x00,
  0x00,
  0x02,
  0x00,
  0x00,
  0x00,
  0x05,
  0x3f,
  0xf0,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x01,
  0x02,
  0x03,
  0x04,
  0xa0,
  0xb0,
  0xc0,
  0xd0,
  ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7],
  0x26,
  0xc3,
  0x00,
  0x00,
];

/** The MAC computed independently of packet.ts: HMAC-SHA256 of the header, first 16 bytes. */
function macOf(header: number[], key = KEY): number[] {
  return [...createHmac('sha256', key).update(Buffer.from(header)).digest().subarray(0, 16)];
}

describe('udp packet', () => {
  it('encodes a probe byte by byte: header, then the truncated HMAC of the header', () => {
    const p = encodeUdpPacket(PacketType.probe, FIELDS, KEY);
    assert.equal(p.length, UDP_PACKET_BYTES);
    assert.deepEqual([...p], [...HEADER(1), ...macOf(HEADER(1))]);
  });

  it('an answer differs only in its type byte and its MAC', () => {
    const a = encodeUdpPacket(PacketType.answer, FIELDS, KEY);
    assert.deepEqual([...a], [...HEADER(2), ...macOf(HEADER(2))]);
  });

  it('writes into a given buffer and returns a 68-byte view of it', () => {
    const out = Buffer.alloc(80, 0xff);
    const p = encodeUdpPacket(PacketType.probe, FIELDS, KEY, out);
    assert.equal(p.buffer, out.buffer);
    assert.equal(p.length, 68);
    assert.equal(out[68], 0xff, 'nothing past the packet');
  });

  it('carries an IPv6 destination, and gives it back as canonical text', () => {
    for (const toAddress of ['2001:db8::7', '::1', 'fe80::1:2']) {
      const fields = { ...FIELDS, toAddress, toPort: 1 };
      const d = decodeUdpPacket(encodeUdpPacket(PacketType.probe, fields, KEY), 1, KEY);
      assert.deepEqual(d, { ok: true, fields });
    }
    const zoned = encodeUdpPacket(PacketType.probe, { ...FIELDS, toAddress: 'fe80::1%eth0' }, KEY);
    const d = decodeUdpPacket(zoned, 1, KEY);
    assert.equal(d.ok && d.fields.toAddress, 'fe80::1', 'the zone is not on the wire');
  });

  it("carries an answer's hold in bytes 50-51, 10 µs units rounded down, at most 655.35 ms", () => {
    for (const [heldMs, units, decoded] of [
      [0, 0, 0],
      [0.009, 0, 0],
      [0.0123, 1, 0.01],
      [51.239, 5123, 51.23],
      [655.35, 0xffff, 655.35],
      [10_000, 0xffff, 655.35],
      [-3, 0, 0],
      [Number.NaN, 0, 0],
    ] as const) {
      const p = encodeUdpPacket(PacketType.answer, { ...FIELDS, heldMs }, KEY);
      assert.equal(p.readUInt16BE(50), units, `${heldMs} ms`);
      const d = decodeUdpPacket(p, PacketType.answer, KEY);
      assert.equal(d.ok && d.fields.heldMs, decoded, `${heldMs} ms`);
    }
  });

  it('refuses a version-1 packet (48 bytes, no destination) as version, before the MAC', () => {
    const v1 = Buffer.from(encodeUdpPacket(PacketType.probe, FIELDS, KEY).subarray(0, 48));
    v1[2] = 1;
    assert.deepEqual(decodeUdpPacket(v1, 1, KEY), { ok: false, reason: 'version' });
  });

  it('decodes what it encodes, for sequences up to 2^53', () => {
    for (const seq of [0, 1, 0xffff_ffff, 2 ** 32, 2 ** 53]) {
      const fields = { ...FIELDS, seq, sentAtWallMs: 1_764_000_000_123.25 };
      const d = decodeUdpPacket(encodeUdpPacket(PacketType.probe, fields, KEY), 1, KEY);
      assert.deepEqual(d, { ok: true, fields });
    }
  });

  it('refuses a packet under another key, or with any byte changed, as bad-mac', () => {
    const p = encodeUdpPacket(PacketType.probe, FIELDS, KEY);
    const other = Buffer.from('another key of sixteen+ chars');
    assert.deepEqual(decodeUdpPacket(p, 1, other), { ok: false, reason: 'bad-mac' });
    for (const at of [4, 8, 15, 16, 24, 31, 32, 47, 48, 49, 50, 51, 67]) {
      const bad = Buffer.from(p);
      bad[at]! ^= 0x01;
      assert.deepEqual(
        decodeUdpPacket(bad, 1, KEY),
        { ok: false, reason: 'bad-mac' },
        `byte ${at}`,
      );
    }
  });

  it('never takes a probe for an answer, or an answer for a probe', () => {
    const probe = encodeUdpPacket(PacketType.probe, FIELDS, KEY);
    const answer = encodeUdpPacket(PacketType.answer, FIELDS, KEY);
    assert.deepEqual(decodeUdpPacket(probe, 2, KEY), { ok: false, reason: 'foreign' });
    assert.deepEqual(decodeUdpPacket(answer, 1, KEY), { ok: false, reason: 'foreign' });
    // Relabelling the type without the key breaks the MAC.
    const relabelled = Buffer.from(probe);
    relabelled[3] = 2;
    assert.deepEqual(decodeUdpPacket(relabelled, 2, KEY), { ok: false, reason: 'bad-mac' });
  });

  it('refuses short, long and foreign packets before computing any MAC', () => {
    const p = encodeUdpPacket(PacketType.probe, FIELDS, KEY);
    assert.deepEqual(decodeUdpPacket(p.subarray(0, 67), 1, KEY), {
      ok: false,
      reason: 'truncated',
    });
    assert.deepEqual(decodeUdpPacket(Buffer.alloc(0), 1, KEY), { ok: false, reason: 'truncated' });
    assert.deepEqual(decodeUdpPacket(Buffer.concat([p, Buffer.alloc(1)]), 1, KEY), {
      ok: false,
      reason: 'oversized',
    });
    for (const at of [0, 1]) {
      const bad = Buffer.from(p);
      bad[at]! ^= 0x01;
      assert.deepEqual(
        decodeUdpPacket(bad, 1, KEY),
        { ok: false, reason: 'foreign' },
        `byte ${at}`,
      );
    }
    const otherVersion = Buffer.from(p);
    otherVersion[2] = 3;
    assert.deepEqual(decodeUdpPacket(otherVersion, 1, KEY), { ok: false, reason: 'version' });
  });

  it('refuses a sequence beyond 2^53 even with a valid MAC', () => {
    const header = HEADER(1);
    header[8] = 0x00;
    header[9] = 0x40; // seq hi32 = 0x400000: 2^54
    const p = Buffer.from([...header, ...macOf(header)]);
    assert.deepEqual(decodeUdpPacket(p, 1, KEY), { ok: false, reason: 'foreign' });
  });
});

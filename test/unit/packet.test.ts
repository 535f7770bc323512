// Echo encode/decode, byte by byte. ICMP errors are in packet-errors.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeReceived, encodeEchoRequest, MAX_WIDE_SEQ } from '../../lib/probes/icmp/packet.js';
import { fixIcmpChecksum } from '../support/packets.js';

const FIELDS = { identifier: 0x1234, token: 0xdeadbeef, wideSeq: 5, sentAtMs: 1 };
const ECHO = { token: 0xdeadbeef, wideSeq: 5, sentAtMs: 1 };

// magic "NPng", token, seq hi32, seq lo32, sentAtMs = 1.0 as a big-endian double
const PAYLOAD = [
  0x4e, 0x50, 0x6e, 0x67, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
  0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
// Checksum 0x4b7c is worked out by hand in checksum.test.ts.
const V4_REQUEST = [0x08, 0x00, 0x4b, 0x7c, 0x12, 0x34, 0x00, 0x05, ...PAYLOAD];
// Same words minus 0x0800: 0x2ac81 -> ac81 + 2 = ac83 -> ~ac83 = 537c.
const V4_REPLY = [0x00, 0x00, 0x53, 0x7c, 0x12, 0x34, 0x00, 0x05, ...PAYLOAD];
const V6_REQUEST = [0x80, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x05, ...PAYLOAD];
const V6_REPLY = [0x81, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x05, ...PAYLOAD];
// version 4, IHL 5, total 52, TTL 64, protocol 1, 192.0.2.1 -> 192.0.2.250
const IP_HEADER = [
  0x45, 0x00, 0x00, 0x34, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
  0xc0, 0x00, 0x02, 0xfa,
];
// IHL 6: the same header plus one word of options (NOP, NOP, NOP, end of list)
const IP_HEADER_WITH_OPTIONS = [
  0x46, 0x00, 0x00, 0x38, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
  0xc0, 0x00, 0x02, 0xfa, 0x01, 0x01, 0x01, 0x00,
];

const bytes = (...parts: number[][]): Buffer => Buffer.from(parts.flat());

describe('encodeEchoRequest', () => {
  it('writes an ICMPv4 echo request exactly, checksum included', () => {
    const out = encodeEchoRequest(4, FIELDS, Buffer.alloc(32));
    assert.deepEqual([...out], V4_REQUEST);
  });

  it('writes an ICMPv6 echo request with type 128 and the checksum left to the kernel', () => {
    const out = encodeEchoRequest(6, FIELDS, Buffer.alloc(32));
    assert.deepEqual([...out], V6_REQUEST);
  });

  it('checksums the padding too and returns the buffer it was given', () => {
    const buf = Buffer.alloc(64); // 8 + the default 56-byte payload
    const out = encodeEchoRequest(4, FIELDS, buf);
    assert.equal(out, buf);
    assert.deepEqual([...out.subarray(0, 32)], V4_REQUEST); // zero padding adds nothing
    buf.fill(0x01, 32);
    encodeEchoRequest(4, FIELDS, buf);
    // 16 words of 0x0101 add 0x1010: 0x2c491 -> c491 + 2 = c493 -> ~c493 = 3b6c
    assert.equal(buf.readUInt16BE(2), 0x3b6c);
  });

  it('masks the identifier to 16 bits and the token to 32', () => {
    const out = encodeEchoRequest(
      4,
      { ...FIELDS, identifier: 0x1_1234, token: -1 },
      Buffer.alloc(32),
    );
    assert.deepEqual([...out.subarray(4, 6)], [0x12, 0x34]);
    assert.deepEqual([...out.subarray(12, 16)], [0xff, 0xff, 0xff, 0xff]);
  });

  it('refuses a buffer too small for header and payload', () => {
    assert.throws(() => encodeEchoRequest(4, FIELDS, Buffer.alloc(31)), {
      name: 'RangeError',
      message: 'echo request buffer too small: 31',
    });
  });
});

describe('decodeReceived: echo replies', () => {
  const reply = { kind: 'reply', identifier: 0x1234, seq16: 5, echo: ECHO, truncated: false };

  it('decodes an IPv4 reply behind a 20-byte IP header', () => {
    assert.deepEqual(decodeReceived(4, bytes(IP_HEADER, V4_REPLY)), reply);
  });

  it('decodes an IPv4 reply behind a header with options (IHL 6)', () => {
    assert.deepEqual(decodeReceived(4, bytes(IP_HEADER_WITH_OPTIONS, V4_REPLY)), reply);
  });

  it('decodes an IPv6 reply, which comes without an IP header', () => {
    assert.deepEqual(decodeReceived(6, bytes(V6_REPLY)), reply);
  });

  it('decodes from a view that does not start at offset 0 of its ArrayBuffer', () => {
    const big = new Uint8Array(100);
    big.set(bytes(IP_HEADER, V4_REPLY), 13);
    assert.deepEqual(decodeReceived(4, big.subarray(13, 13 + 52)), reply);
  });

  it('rejects an IPv4 reply whose ICMP checksum does not add up', () => {
    const buf = bytes(IP_HEADER, V4_REPLY);
    buf.writeUInt8(buf.readUInt8(43) ^ 0x01, 43); // one bit of the wide sequence
    assert.deepEqual(decodeReceived(4, buf), { kind: 'malformed', reason: 'checksum' });
  });

  it('leaves ICMPv6 checksums to the kernel', () => {
    const buf = bytes(V6_REPLY);
    buf[2] = 0xab;
    assert.deepEqual(decodeReceived(6, buf), reply);
  });

  it('reports broken IPv4 headers as ip-header', () => {
    const ipHeader = { kind: 'malformed', reason: 'ip-header' };
    assert.deepEqual(decodeReceived(4, bytes(IP_HEADER.slice(0, 19))), ipHeader);
    assert.deepEqual(decodeReceived(4, bytes(V4_REPLY)), ipHeader); // no IP header at all
    const v6Version = bytes([0x65], IP_HEADER.slice(1), V4_REPLY);
    assert.deepEqual(decodeReceived(4, v6Version), ipHeader);
    const ihl4 = bytes([0x44], IP_HEADER.slice(1), V4_REPLY);
    assert.deepEqual(decodeReceived(4, ihl4), ipHeader);
    const ihl15 = bytes([0x4f], IP_HEADER.slice(1), V4_REPLY.slice(0, 30)); // 50 < 60 bytes
    assert.deepEqual(decodeReceived(4, ihl15), ipHeader);
  });

  it('reports a message shorter than the ICMP header as truncated', () => {
    const truncated = { kind: 'malformed', reason: 'truncated' };
    assert.deepEqual(decodeReceived(4, bytes(IP_HEADER)), truncated);
    assert.deepEqual(decodeReceived(4, bytes(IP_HEADER, V4_REPLY.slice(0, 7))), truncated);
    assert.deepEqual(
      decodeReceived(4, bytes(IP_HEADER_WITH_OPTIONS, V4_REPLY.slice(0, 7))),
      truncated,
    );
    assert.deepEqual(decodeReceived(6, bytes(V6_REPLY.slice(0, 7))), truncated);
    assert.deepEqual(decodeReceived(6, new Uint8Array(0)), truncated);
  });

  it('decodes a reply with a short payload, but without echo fields', () => {
    const icmp = fixIcmpChecksum(bytes(V4_REPLY.slice(0, 8 + 23)));
    assert.deepEqual(decodeReceived(4, Buffer.concat([bytes(IP_HEADER), icmp])), {
      kind: 'reply',
      identifier: 0x1234,
      seq16: 5,
      echo: undefined,
      truncated: true,
    });
    assert.deepEqual(decodeReceived(6, bytes(V6_REPLY.slice(0, 8))), {
      kind: 'reply',
      identifier: 0x1234,
      seq16: 5,
      echo: undefined,
      truncated: true,
    });
  });

  it('does not read echo fields from a payload with the wrong magic', () => {
    const v4 = bytes(V4_REPLY);
    v4[11] = 0x68; // "NPnh"
    fixIcmpChecksum(v4);
    const decoded = decodeReceived(4, Buffer.concat([bytes(IP_HEADER), v4]));
    assert.equal(decoded.kind, 'reply');
    assert.equal(decoded.kind === 'reply' && decoded.echo, undefined);
    const v6 = bytes(V6_REPLY);
    v6[8] = 0x00;
    assert.deepEqual(decodeReceived(6, v6), { ...reply, echo: undefined });
  });

  it('does not read echo fields whose sequence exceeds 48 bits', () => {
    const v6 = bytes(V6_REPLY);
    v6[8 + 9] = 0x01; // seq hi32 = 0x00010000
    assert.deepEqual(decodeReceived(6, v6), { ...reply, echo: undefined });
  });
});

describe('48-bit wide sequence', () => {
  // [wideSeq, bytes 16..23 of the message, ICMP sequence field]
  const cases: [number, number[], number][] = [
    [0, [0, 0, 0, 0, 0, 0, 0, 0], 0],
    [0xffff, [0, 0, 0, 0, 0, 0, 0xff, 0xff], 0xffff],
    [0x1_0000, [0, 0, 0, 0, 0, 1, 0, 0], 0],
    [2 ** 32 - 1, [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], 0xffff],
    [2 ** 32, [0, 0, 0, 1, 0, 0, 0, 0], 0],
    [2 ** 32 + 1, [0, 0, 0, 1, 0, 0, 0, 1], 1],
    [2 ** 32 + 0x1_0007, [0, 0, 0, 1, 0, 1, 0, 7], 7],
    [2 ** 48 - 2, [0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], 0xfffe],
    [MAX_WIDE_SEQ, [0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0xffff],
  ];

  for (const [wideSeq, wire, seq16] of cases) {
    it(`round-trips ${wideSeq} with seq16 = ${seq16}`, () => {
      const fields = { ...FIELDS, wideSeq, sentAtMs: 12345.678 };
      const v6 = encodeEchoRequest(6, fields, Buffer.alloc(64));
      assert.deepEqual([...v6.subarray(6, 8)], [seq16 >> 8, seq16 & 0xff]);
      assert.deepEqual([...v6.subarray(16, 24)], wire);
      v6[0] = 129;
      const echo = { token: FIELDS.token, wideSeq, sentAtMs: 12345.678 };
      assert.deepEqual(decodeReceived(6, v6), {
        kind: 'reply',
        identifier: 0x1234,
        seq16,
        echo,
        truncated: false,
      });

      const v4 = encodeEchoRequest(4, fields, Buffer.alloc(64));
      v4[0] = 0;
      fixIcmpChecksum(v4);
      const got = decodeReceived(4, Buffer.concat([bytes(IP_HEADER), v4]));
      assert.deepEqual(got, { kind: 'reply', identifier: 0x1234, seq16, echo, truncated: false });
    });
  }
});

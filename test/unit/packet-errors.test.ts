// ICMP errors that quote our echo, decoded byte by byte. Echoes are in packet.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeReceived } from '../../lib/probes/icmp/packet.js';
import { fixIcmpChecksum } from '../support/packets.js';

const PAYLOAD = [
  0x4e, 0x50, 0x6e, 0x67, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
  0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const ECHO = { token: 0xdeadbeef, wideSeq: 5, sentAtMs: 1 };
const V4_REQUEST = [0x08, 0x00, 0x4b, 0x7c, 0x12, 0x34, 0x00, 0x05, ...PAYLOAD];
const V6_REQUEST = [0x80, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x05, ...PAYLOAD];

// The router's IP header: 198.51.100.1 -> 192.0.2.250 (us), protocol 1.
const OUTER_IP = [
  0x45, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0xc6, 0x33, 0x64, 0x01,
  0xc0, 0x00, 0x02, 0xfa,
];
// The header of our echo as the router saw it: 192.0.2.250 -> 192.0.2.1, protocol 1.
const QUOTED_IP = [
  0x45, 0x00, 0x00, 0x34, 0x00, 0x00, 0x40, 0x00, 0x01, 0x01, 0x00, 0x00, 0xc0, 0x00, 0x02, 0xfa,
  0xc0, 0x00, 0x02, 0x01,
];
// The header of our IPv6 echo: payload 32 bytes, next header 58, 2001:db8::fa -> 2001:db8::1.
const QUOTED_IP6 = [
  0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfa, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
];

/** An ICMPv4 error (type, code) behind the router's IP header, checksum fixed. */
function v4Error(type: number, code: number, ...quoted: number[][]): Buffer {
  const icmp = fixIcmpChecksum(Buffer.from([type, code, 0, 0, 0, 0, 0, 0, ...quoted.flat()]));
  return Buffer.concat([Buffer.from(OUTER_IP), icmp]);
}

function v6Error(type: number, code: number, ...quoted: number[][]): Buffer {
  return Buffer.from([type, code, 0, 0, 0, 0, 0, 0, ...quoted.flat()]);
}

describe('decodeReceived: ICMP errors quoting our echo', () => {
  it('decodes an IPv4 host-unreachable quoting IP header and whole echo', () => {
    const buf = v4Error(3, 1, QUOTED_IP, V4_REQUEST);
    assert.equal(buf.length, 20 + 8 + 20 + 32);
    assert.deepEqual(decodeReceived(4, buf), {
      kind: 'error',
      reason: 'host-unreachable',
      identifier: 0x1234,
      seq16: 5,
      quotedDestination: '192.0.2.1',
      echo: ECHO,
    });
  });

  it('decodes an IPv6 address-unreachable quoting the 40-byte IPv6 header and echo', () => {
    assert.deepEqual(decodeReceived(6, v6Error(1, 3, QUOTED_IP6, V6_REQUEST)), {
      kind: 'error',
      reason: 'address-unreachable',
      identifier: 0x1234,
      seq16: 5,
      quotedDestination: '2001:db8:0:0:0:0:0:1',
      echo: ECHO,
    });
  });

  it('decodes an error that quotes only the first 8 bytes of the echo', () => {
    assert.deepEqual(decodeReceived(4, v4Error(11, 0, QUOTED_IP, V4_REQUEST.slice(0, 8))), {
      kind: 'error',
      reason: 'ttl-exceeded',
      identifier: 0x1234,
      seq16: 5,
      quotedDestination: '192.0.2.1',
      echo: undefined,
    });
    assert.deepEqual(decodeReceived(6, v6Error(3, 0, QUOTED_IP6, V6_REQUEST.slice(0, 8))), {
      kind: 'error',
      reason: 'hop-limit-exceeded',
      identifier: 0x1234,
      seq16: 5,
      quotedDestination: '2001:db8:0:0:0:0:0:1',
      echo: undefined,
    });
  });

  it('ignores an error quoting fewer than 8 bytes of the echo', () => {
    assert.deepEqual(decodeReceived(4, v4Error(3, 1, QUOTED_IP, V4_REQUEST.slice(0, 7))), {
      kind: 'ignored',
    });
    assert.deepEqual(decodeReceived(4, v4Error(3, 1, QUOTED_IP.slice(0, 19))), { kind: 'ignored' });
    assert.deepEqual(decodeReceived(6, v6Error(1, 3, QUOTED_IP6, V6_REQUEST.slice(0, 7))), {
      kind: 'ignored',
    });
    assert.deepEqual(decodeReceived(6, v6Error(1, 3, QUOTED_IP6.slice(0, 39))), {
      kind: 'ignored',
    });
  });

  it('skips IP options in the quoted IPv4 header', () => {
    const withOptions = [0x46, ...QUOTED_IP.slice(1), 0x01, 0x01, 0x01, 0x00];
    const decoded = decodeReceived(4, v4Error(3, 3, withOptions, V4_REQUEST));
    assert.equal(decoded.kind, 'error');
    assert.equal(decoded.kind === 'error' && decoded.reason, 'port-unreachable');
    assert.deepEqual(decoded.kind === 'error' && decoded.echo, ECHO);
  });

  it('rejects an IPv4 error whose checksum does not add up', () => {
    const buf = v4Error(3, 1, QUOTED_IP, V4_REQUEST);
    buf[20 + 4] = 0x01; // the "unused" word
    assert.deepEqual(decodeReceived(4, buf), { kind: 'malformed', reason: 'checksum' });
  });

  it('ignores an error quoting a UDP packet', () => {
    const udpIp = [...QUOTED_IP.slice(0, 9), 0x11, ...QUOTED_IP.slice(10)];
    const udp = [0xd4, 0x31, 0x82, 0x9b, 0x00, 0x20, 0x00, 0x00]; // 54321 -> 33435 (traceroute)
    assert.deepEqual(decodeReceived(4, v4Error(3, 3, udpIp, udp, PAYLOAD)), { kind: 'ignored' });
    const udpIp6 = [...QUOTED_IP6.slice(0, 6), 0x11, ...QUOTED_IP6.slice(7)];
    assert.deepEqual(decodeReceived(6, v6Error(1, 4, udpIp6, udp, PAYLOAD)), { kind: 'ignored' });
  });

  it('ignores an error quoting ICMP that is not an echo request of its family', () => {
    const reply = [0x00, ...V4_REQUEST.slice(1)];
    assert.deepEqual(decodeReceived(4, v4Error(3, 1, QUOTED_IP, reply)), { kind: 'ignored' });
    // an ICMPv6 error quoting an ICMPv4-typed echo request (8, not 128)
    const v4Typed = [0x08, ...V6_REQUEST.slice(1)];
    assert.deepEqual(decodeReceived(6, v6Error(1, 3, QUOTED_IP6, v4Typed)), { kind: 'ignored' });
  });

  it('ignores a quoted "IPv6" header with the wrong version', () => {
    const v4Version = [0x40, ...QUOTED_IP6.slice(1)];
    assert.deepEqual(decodeReceived(6, v6Error(1, 3, v4Version, V6_REQUEST)), { kind: 'ignored' });
  });

  const v4Reasons: [number, number, string][] = [
    [3, 0, 'net-unreachable'],
    [3, 1, 'host-unreachable'],
    [3, 2, 'protocol-unreachable'],
    [3, 3, 'port-unreachable'],
    [3, 4, 'fragmentation-needed'],
    [3, 7, 'unreachable'],
    [3, 9, 'admin-prohibited'],
    [3, 10, 'admin-prohibited'],
    [3, 13, 'admin-prohibited'],
    [4, 0, 'source-quench'],
    [11, 0, 'ttl-exceeded'],
    [11, 1, 'reassembly-timeout'],
    [12, 0, 'parameter-problem'],
  ];
  for (const [type, code, reason] of v4Reasons) {
    it(`names ICMPv4 type ${type} code ${code} '${reason}'`, () => {
      const decoded = decodeReceived(4, v4Error(type, code, QUOTED_IP, V4_REQUEST));
      assert.equal(decoded.kind === 'error' ? decoded.reason : decoded.kind, reason);
    });
  }

  const v6Reasons: [number, number, string][] = [
    [1, 0, 'no-route'],
    [1, 1, 'admin-prohibited'],
    [1, 2, 'beyond-scope'],
    [1, 3, 'address-unreachable'],
    [1, 4, 'port-unreachable'],
    [1, 5, 'source-policy'],
    [1, 6, 'reject-route'],
    [1, 7, 'unreachable'],
    [2, 0, 'packet-too-big'],
    [3, 0, 'hop-limit-exceeded'],
    [3, 1, 'reassembly-timeout'],
    [4, 0, 'parameter-problem'],
  ];
  for (const [type, code, reason] of v6Reasons) {
    it(`names ICMPv6 type ${type} code ${code} '${reason}'`, () => {
      const decoded = decodeReceived(6, v6Error(type, code, QUOTED_IP6, V6_REQUEST));
      assert.equal(decoded.kind === 'error' ? decoded.reason : decoded.kind, reason);
    });
  }
});

describe('decodeReceived: other ICMP types', () => {
  for (const type of [8, 5, 13, 14, 9, 10]) {
    it(`ignores ICMPv4 type ${type}`, () => {
      // even when what follows looks like a quoted echo
      const buf = v4Error(type, 0, QUOTED_IP, V4_REQUEST);
      assert.deepEqual(decodeReceived(4, buf), { kind: 'ignored' });
    });
  }
  for (const type of [0, 128, 130, 133, 134, 135, 136, 137]) {
    it(`ignores ICMPv6 type ${type}`, () => {
      const buf = v6Error(type, 0, QUOTED_IP6, V6_REQUEST);
      assert.deepEqual(decodeReceived(6, buf), { kind: 'ignored' });
    });
  }
});

// An error-queue entry of a datagram ICMP socket, put back together as the
// ICMP error message that the prober decodes (queued-error.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { internetChecksum } from '../../lib/probes/icmp/checksum.js';
import { decodeReceived, encodeEchoRequest } from '../../lib/probes/icmp/packet.js';
import { rebuildIcmpError } from '../../lib/probes/icmp/queued-error.js';

const FIELDS = { identifier: 0x1234, token: 0xdeadbeef, wideSeq: 2 ** 40 + 7, sentAtMs: 12.5 };

describe('rebuildIcmpError', () => {
  it('IPv4: a host unreachable quoting our whole echo decodes to the probe it ended', () => {
    const echo = encodeEchoRequest(4, FIELDS, Buffer.alloc(64));
    const out = Buffer.alloc(2048);
    const msg = rebuildIcmpError(
      4,
      { type: 3, code: 1, destination: '192.0.2.9', quoted: echo },
      out,
    );
    assert.equal(msg.length, 8 + 20 + 64);
    assert.deepEqual([...msg.subarray(0, 2)], [3, 1]);
    assert.equal(internetChecksum(msg), 0, 'a valid ICMPv4 checksum');
    assert.deepEqual([...msg.subarray(8 + 16, 8 + 20)], [192, 0, 2, 9]);
    assert.equal(msg[8 + 9], 1, 'the quoted header says ICMP');
    const decoded = decodeReceived(4, msg, false);
    assert.equal(decoded.kind, 'error');
    if (decoded.kind !== 'error') return;
    assert.equal(decoded.reason, 'host-unreachable');
    assert.equal(decoded.identifier, 0x1234);
    assert.equal(decoded.seq16, 7);
    assert.equal(decoded.quotedDestination, '192.0.2.9');
    assert.deepEqual(decoded.echo, { token: 0xdeadbeef, wideSeq: 2 ** 40 + 7, sentAtMs: 12.5 });
  });

  it('IPv4: an old router quoting 8 bytes still names identifier, sequence and destination', () => {
    const echo = encodeEchoRequest(4, FIELDS, Buffer.alloc(64)).subarray(0, 8);
    const msg = rebuildIcmpError(
      4,
      { type: 11, code: 0, destination: '198.51.100.1', quoted: echo },
      Buffer.alloc(2048),
    );
    const decoded = decodeReceived(4, msg, false);
    assert.equal(decoded.kind, 'error');
    if (decoded.kind !== 'error') return;
    assert.equal(decoded.reason, 'ttl-exceeded');
    assert.equal(decoded.seq16, 7);
    assert.equal(decoded.quotedDestination, '198.51.100.1');
    assert.equal(decoded.echo, undefined);
  });

  it('IPv6: an address unreachable quoting our echo, the destination written in full', () => {
    const echo = encodeEchoRequest(6, FIELDS, Buffer.alloc(64));
    const msg = rebuildIcmpError(
      6,
      { type: 1, code: 3, destination: 'fd00:200::2', quoted: echo },
      Buffer.alloc(2048),
    );
    assert.equal(msg.length, 8 + 40 + 64);
    assert.equal(msg[8]! >> 4, 6);
    assert.equal(msg[8 + 6], 58, 'next header: ICMPv6');
    assert.equal(msg.subarray(8 + 24, 8 + 40).toString('hex'), 'fd000200000000000000000000000002');
    const decoded = decodeReceived(6, msg, false);
    assert.equal(decoded.kind, 'error');
    if (decoded.kind !== 'error') return;
    assert.equal(decoded.reason, 'address-unreachable');
    assert.equal(decoded.quotedDestination, 'fd00:200:0:0:0:0:0:2');
    assert.equal(decoded.echo?.token, 0xdeadbeef);
  });

  it('cuts a quote longer than the buffer instead of writing past it', () => {
    const echo = encodeEchoRequest(4, FIELDS, Buffer.alloc(200));
    const msg = rebuildIcmpError(
      4,
      { type: 3, code: 0, destination: '192.0.2.1', quoted: echo },
      Buffer.alloc(100),
    );
    assert.equal(msg.length, 100);
  });
});

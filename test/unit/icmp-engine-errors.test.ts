// The ICMP engine with packets that are not plain replies to our probes:
// foreign and malformed packets, refused sends, ICMP errors, removed targets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SendError } from '../../lib/probes/prober.js';
import {
  addTraceIdentifier,
  removeTraceIdentifier,
} from '../../lib/probes/icmp/trace-identifiers.js';
import { answer, balance, lastSent, makeHarness, START_MS } from '../support/engine-harness.js';
import { echoReplyFor, fixIcmpChecksum, icmp4Error, icmp6Error } from '../support/packets.js';

const ignoredOf = (h: ReturnType<typeof makeHarness>): Record<string, number> =>
  Object.fromEntries(h.engine.ignored);

describe('ProbeEngine: packets that count for no probe', () => {
  function setup() {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.clock.advance(5);
    return { h, p, probe: lastSent(h.t4) };
  }

  it('ignores a reply with a foreign identifier', () => {
    const { h, p, probe } = setup();
    const packet = Buffer.from(probe.packet);
    packet.writeUInt16BE(0x9999, 4);
    answer(h.t4, { ...probe, packet });
    assert.deepEqual(ignoredOf(h), { foreign: 1 });
    assert.equal(p.stats.received, 0);
    assert.equal(p.ledger.inFlight, 1);
  });

  it('passes over, uncounted, a reply to one of our trace sockets (raw-socket shows us those)', () => {
    const { h, p, probe } = setup();
    const packet = Buffer.from(probe.packet);
    packet.writeUInt16BE(0x7777, 4);
    addTraceIdentifier(0x7777);
    try {
      answer(h.t4, { ...probe, packet });
    } finally {
      removeTraceIdentifier(0x7777);
    }
    assert.deepEqual(ignoredOf(h), {});
    assert.equal(p.stats.received, 0);
    answer(h.t4, { ...probe, packet });
    assert.deepEqual(
      ignoredOf(h),
      { foreign: 1 },
      'once the trace socket is closed, foreign again',
    );
  });

  it('ignores a reply without our payload as foreign', () => {
    const { h, p, probe } = setup();
    const packet = Buffer.from(probe.packet);
    packet.fill(0, 8);
    answer(h.t4, { ...probe, packet });
    assert.deepEqual(ignoredOf(h), { foreign: 1 });
    assert.equal(p.stats.received, 0);
  });

  it('ignores a reply with an unknown token', () => {
    const { h, p, probe } = setup();
    const packet = Buffer.from(probe.packet);
    packet.writeUInt32BE((packet.readUInt32BE(12) + 1) >>> 0, 12);
    answer(h.t4, { ...probe, packet });
    assert.deepEqual(ignoredOf(h), { 'unknown-probe': 1 });
    assert.equal(p.stats.received + p.stats.late + p.stats.duplicates, 0);
  });

  it('ignores a reply whose sequence field disagrees with its payload', () => {
    const { h, p, probe } = setup();
    const packet = Buffer.from(probe.packet);
    packet.writeUInt16BE(1, 6);
    answer(h.t4, { ...probe, packet });
    assert.deepEqual(ignoredOf(h), { 'unknown-probe': 1 });
    assert.equal(p.stats.received, 0);
  });

  it('ignores a reply to a sequence not yet sent', () => {
    const { h, p, probe } = setup();
    const packet = Buffer.from(probe.packet);
    packet.writeUInt16BE(7, 6);
    packet.writeUInt32BE(7, 20);
    answer(h.t4, { ...probe, packet });
    assert.deepEqual(ignoredOf(h), { 'unknown-probe': 1 });
    assert.equal(p.ledger.inFlight, 1);
  });

  it('ignores a reply from an address that is not the target’s', () => {
    const { h, p, probe } = setup();
    answer(h.t4, probe, undefined, '192.0.2.99');
    assert.deepEqual(ignoredOf(h), { 'wrong-source': 1 });
    assert.equal(p.stats.received, 0);
    answer(h.t4, probe);
    assert.equal(p.stats.received, 1, 'the real reply still counts');
  });

  it('ignores an IPv4 target’s reply arriving on the IPv6 socket', () => {
    const { h, p, probe } = setup();
    h.t6.inject(echoReplyFor(6, probe.packet, probe.address), '::ffff:192.0.2.1');
    // The IPv6 text of an IPv4 address is not the target's address.
    assert.deepEqual(ignoredOf(h), { 'wrong-source': 1 });
    assert.equal(p.stats.received, 0);
  });

  it('counts malformed packets and other ICMP by reason', () => {
    const { h, p, probe } = setup();
    const bad = echoReplyFor(4, probe.packet, probe.address);
    bad[30] = (bad[30] ?? 0) ^ 0xff;
    h.t4.inject(bad, probe.address);
    h.t4.inject(Buffer.alloc(10), probe.address);
    h.t4.inject(bad.subarray(0, 25), probe.address);
    const request = Buffer.from(probe.packet); // our own request, looped back
    h.t4.inject(Buffer.concat([bad.subarray(0, 20), request]), probe.address);
    assert.deepEqual(ignoredOf(h), { checksum: 1, 'ip-header': 1, truncated: 1, 'other-icmp': 1 });
    assert.deepEqual(balance(p), { sent: 1, accounted: 1 });
    assert.equal(p.ledger.inFlight, 1);
  });
});

describe('ProbeEngine: refused sends', () => {
  it('counts a send the kernel refuses as sent and lost, by errno', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.t4.failWith = new SendError('ENETUNREACH', 'Network is unreachable');
    h.clock.advance(0);
    assert.equal(p.stats.sent, 1);
    assert.equal(p.stats.lost, 1);
    assert.equal(p.ledger.inFlight, 0);
    assert.deepEqual(p.stats.snapshot().errors, { 'send:ENETUNREACH': 1 });
    h.clock.advance(2000);
    assert.deepEqual([p.stats.sent, p.stats.lost], [3, 3], 'no timeout counts them again');
    assert.deepEqual(p.stats.snapshot().errors, { 'send:ENETUNREACH': 3 });
    h.t4.failWith = undefined;
    h.clock.advance(1000);
    assert.equal(h.t4.sent.length, 1, 'sends resume');
  });

  it('names a failure that is not a SendError send:failed', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.t4.failWith = new TypeError('boom');
    h.clock.advance(0);
    assert.deepEqual(p.stats.snapshot().errors, { 'send:failed': 1 });
  });

  it('counts every probe of a family without a socket as send:no-ipv6-socket', () => {
    const h = makeHarness({ ipv6: false });
    const p6 = h.add('six', '2001:db8::1');
    const p4 = h.add('four', '192.0.2.1');
    h.clock.advance(1999);
    assert.deepEqual([p6.stats.sent, p6.stats.lost], [2, 2]);
    assert.deepEqual(p6.stats.snapshot().errors, { 'send:no-ipv6-socket': 2 });
    assert.equal(h.t6.sent.length, 0);
    assert.equal(p4.stats.sent, 2);
    assert.deepEqual(p4.stats.snapshot().errors, {});
  });
});

describe('ProbeEngine: ICMP errors', () => {
  it('ends a probe on an ICMPv4 error quoting our whole echo', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.clock.advance(20);
    const probe = lastSent(h.t4);
    h.t4.inject(icmp4Error(3, 1, '198.51.100.1', '192.0.2.1', probe.packet), '198.51.100.1');
    assert.equal(p.stats.lost, 1);
    assert.equal(p.ledger.inFlight, 0);
    assert.deepEqual(p.stats.snapshot().errors, { 'icmp:host-unreachable': 1 });
    h.clock.advance(600);
    assert.equal(p.stats.lost, 1, 'the timeout does not count it again');
    answer(h.t4, probe);
    assert.deepEqual([p.stats.late, p.stats.received], [1, 0]);
  });

  it('matches an error quoting only 8 bytes by destination and sequence', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1', 100, 1000);
    const other = h.add('b', '192.0.2.2', 100, 1000);
    h.clock.advance(350);
    const probe = h.t4.sent.filter((s) => s.address === '192.0.2.1')[2]!;
    const quote = probe.packet.subarray(0, 8);
    h.t4.inject(icmp4Error(11, 0, '198.51.100.1', '192.0.2.1', quote), '198.51.100.1');
    assert.deepEqual(p.stats.snapshot().errors, { 'icmp:ttl-exceeded': 1 });
    assert.equal(p.ledger.inFlight, 3, 'only that one probe ended');
    assert.equal(other.stats.lost, 0);
  });

  it('matches an ICMPv6 error by its quoted destination, canonicalised', () => {
    const h = makeHarness();
    const p = h.add('six', '2001:db8::1');
    h.clock.advance(1);
    const quote = lastSent(h.t6).packet.subarray(0, 8);
    h.t6.inject(icmp6Error(1, 3, '2001:db8:0:0:0:0:0:1', quote), '2001:db8::fe');
    assert.deepEqual(p.stats.snapshot().errors, { 'icmp:address-unreachable': 1 });
    h.clock.advance(1000);
    const full = lastSent(h.t6).packet; // the next probe
    h.t6.inject(icmp6Error(1, 0, '2001:db8:0:0:0:0:0:1', full), '2001:db8::fe');
    assert.equal(p.stats.lost, 2);
  });

  it('ignores errors that match none of our probes', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.clock.advance(1);
    const probe = lastSent(h.t4);
    const foreign = Buffer.from(probe.packet);
    foreign.writeUInt16BE(0x1111, 4);
    h.t4.inject(
      icmp4Error(3, 1, '198.51.100.1', '192.0.2.1', fixIcmpChecksum(foreign)),
      '198.51.100.1',
    );
    const quote = probe.packet.subarray(0, 8);
    h.t4.inject(icmp4Error(3, 1, '198.51.100.1', '192.0.2.77', quote), '198.51.100.1');
    const udp = icmp4Error(3, 3, '198.51.100.1', '192.0.2.1', probe.packet, 17);
    h.t4.inject(udp, '198.51.100.1');
    assert.deepEqual(ignoredOf(h), { foreign: 1, 'unknown-probe': 1, 'other-icmp': 1 });
    assert.equal(p.ledger.inFlight, 1);
    assert.equal(p.stats.lost, 0);
  });
});

describe('ProbeEngine: remove, stop, close', () => {
  it('stops sending to a removed target and forgets it', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    const q = h.add('b', '192.0.2.2');
    h.clock.advance(2400);
    const inFlight = h.t4.sent.filter((s) => s.address === '192.0.2.1').at(-1)!;
    assert.equal(h.engine.remove('a@192.0.2.1'), true);
    assert.equal(h.engine.remove('a@192.0.2.1'), false);
    assert.equal(h.engine.has('a@192.0.2.1'), false);
    assert.equal(h.engine.size, 1);
    const before = h.t4.sent.filter((s) => s.address === '192.0.2.1').length;
    h.clock.advance(5000);
    assert.equal(h.t4.sent.filter((s) => s.address === '192.0.2.1').length, before);
    assert.equal(q.stats.sent, 7, 'the other target carries on: 10.5 s, 11.5 s, ... 16.5 s');
    const frozen = p.stats.snapshot();
    answer(h.t4, inFlight);
    assert.deepEqual(p.stats.snapshot(), frozen);
    assert.equal(h.engine.ignored.get('unknown-probe'), 1);
  });

  it('starts a removed and re-added target afresh', () => {
    const h = makeHarness();
    h.add('a', '192.0.2.1');
    h.clock.advance(1500);
    h.engine.remove('a@192.0.2.1');
    const again = h.add('a', '192.0.2.1');
    assert.equal(again.stats.sent, 0);
    h.clock.advance(1000);
    assert.equal(again.stats.sent, 1);
  });

  it('stops sending on stopSending, but still times out probes in flight', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.clock.advance(100);
    h.engine.stopSending();
    h.clock.advance(5000);
    assert.deepEqual([p.stats.sent, p.stats.lost], [1, 1]);
  });

  it('closes its transports and its timer', () => {
    const h = makeHarness();
    h.add('a', '192.0.2.1');
    h.clock.advance(START_MS % 7);
    h.engine.close();
    assert.ok(h.t4.closed && h.t6.closed);
    assert.equal(h.clock.pending, 0);
    h.clock.advance(5000);
    assert.equal(h.t4.sent.length, 1);
  });
});

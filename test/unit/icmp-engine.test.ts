// The ICMP engine driven whole, with a fake clock and fake sockets: when it
// sends, and how replies and silence turn into counts. Ignored packets, send
// failures and ICMP errors are in icmp-engine-errors.test.ts; long randomised
// runs in icmp-engine-stress.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  answer,
  balance,
  lastSent,
  makeHarness,
  START_MS,
  wideSeqOf,
} from '../support/engine-harness.js';
import { echoReplyFor } from '../support/packets.js';

describe('ProbeEngine: sending', () => {
  it('spreads N targets across the first interval at distinct times', () => {
    const h = makeHarness();
    for (let i = 1; i <= 8; i++) h.add(`t${i}`, `192.0.2.${i}`);
    h.clock.advance(999);
    const times = h.t4.sent.map((s) => s.atMs - START_MS);
    assert.equal(times.length, 8);
    assert.equal(new Set(h.t4.sent.map((s) => s.address)).size, 8, 'each target once');
    assert.equal(new Set(times).size, 8, 'no two at the same time');
    // slots 0..7 take phases 0, 1/2, 1/4, 3/4, 1/8, 5/8, 3/8, 7/8; sends may go 0.5 ms early
    const expected = [0, 500, 250, 750, 125, 625, 375, 875];
    h.t4.sent.forEach((s, i) => {
      const want = expected[Number(s.address.split('.')[3]) - 1]!;
      assert.ok(Math.abs(s.atMs - START_MS - want) <= 0.5, `${s.address}: ${times[i]} vs ${want}`);
    });
  });

  it('sends each target exactly once per interval', () => {
    const h = makeHarness();
    for (let i = 1; i <= 5; i++) h.add(`t${i}`, `192.0.2.${i}`);
    h.add('v6', '2001:db8::1', 250);
    h.clock.advance(10_000 - 1);
    for (let i = 1; i <= 5; i++) {
      const times = h.t4.sent.filter((s) => s.address === `192.0.2.${i}`).map((s) => s.atMs);
      assert.equal(times.length, 10, `192.0.2.${i}`);
      for (let k = 1; k < times.length; k++) {
        const gap = times[k]! - times[k - 1]!;
        assert.ok(gap >= 999.5 && gap <= 1000.5, `gap ${gap}`);
      }
    }
    assert.equal(h.t6.sent.length, 40, 'a 250 ms target 40 times in 10 s');
    assert.ok(h.t6.sent.every((s) => s.address === '2001:db8::1'));
  });

  it('sends well-formed echo requests carrying identifier, token and sequence', () => {
    const h = makeHarness();
    h.add('a', '192.0.2.1', 100);
    h.clock.advance(250);
    assert.equal(h.t4.sent.length, 3);
    const tokens = new Set(h.t4.sent.map((s) => s.packet.readUInt32BE(12)));
    assert.equal(tokens.size, 1, 'one token per target');
    h.t4.sent.forEach((s, i) => {
      assert.equal(s.packet.length, 64);
      assert.equal(s.packet[0], 8);
      assert.equal(s.packet.readUInt16BE(4), 0x4242);
      assert.equal(s.packet.readUInt16BE(6), i);
      assert.equal(wideSeqOf(s), i);
      assert.equal(s.packet.readDoubleBE(24), s.atMs, 'stamped with the send time');
    });
  });

  it('gives targets sharing an address their own tokens', () => {
    const h = makeHarness();
    h.add('a', '192.0.2.1');
    h.add('b', '192.0.2.1');
    h.clock.advance(999);
    assert.equal(h.t4.sent.length, 2);
    assert.notEqual(h.t4.sent[0]!.packet.readUInt32BE(12), h.t4.sent[1]!.packet.readUInt32BE(12));
  });

  it('adding a target twice keeps one run and its counters', () => {
    const h = makeHarness();
    const first = h.add('a', '192.0.2.1');
    h.clock.advance(1500);
    const again = h.add('a', '192.0.2.1');
    assert.equal(again, first);
    assert.equal(h.engine.size, 1);
    h.clock.advance(1000);
    assert.equal(h.t4.sent.length, 3);
    assert.equal(first.stats.sent, 3);
  });
});

describe('ProbeEngine: replies and timeouts', () => {
  it('counts a reply as received, with RTT = the time it took', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.clock.advance(0);
    assert.equal(p.stats.sent, 1);
    h.clock.advance(12.5);
    answer(h.t4, lastSent(h.t4));
    const s = p.stats.snapshot();
    assert.equal(s.received, 1);
    assert.equal(s.lastMs, 12.5);
    assert.equal(s.minMs, 12.5);
    assert.equal(p.ledger.inFlight, 0);
    h.clock.advance(600);
    assert.equal(p.stats.lost, 0, 'an answered probe does not time out');
  });

  it('counts a probe without reply lost exactly at its timeout, not before', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1', 1000, 500);
    h.clock.advance(499.999);
    assert.equal(p.stats.lost, 0);
    assert.equal(p.ledger.inFlight, 1);
    assert.equal(h.engine.inFlight(), 1);
    h.clock.advanceTo(START_MS + 500);
    assert.equal(p.stats.lost, 1);
    assert.equal(p.ledger.inFlight, 0);
    assert.deepEqual(p.stats.snapshot().errors, {}, 'a timeout is not an error');
  });

  it('times each probe out from its own send time', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1', 1000, 950);
    h.clock.advance(4900);
    const lastAt = lastSent(h.t4).atMs;
    assert.equal(p.stats.sent, 5);
    assert.equal(p.stats.lost, 4);
    h.clock.advanceTo(lastAt + 949.99);
    assert.equal(p.stats.lost, 4);
    h.clock.advanceTo(lastAt + 950);
    assert.equal(p.stats.lost, 5);
  });

  it('counts a reply after the timeout as late; the probe stays lost', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.clock.advance(0);
    const probe = lastSent(h.t4);
    h.clock.advance(600);
    assert.equal(p.stats.lost, 1);
    answer(h.t4, probe);
    assert.deepEqual([p.stats.late, p.stats.lost, p.stats.received], [1, 1, 0]);
    assert.equal(p.stats.snapshot().lastMs, undefined);
  });

  it('counts a reply stamped after the deadline, before the timeout ran, late and lost once', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.clock.advance(499);
    answer(h.t4, lastSent(h.t4), START_MS + 500.5);
    assert.deepEqual([p.stats.late, p.stats.lost, p.stats.received], [1, 1, 0]);
    h.clock.advance(100);
    assert.equal(p.stats.lost, 1, 'the timeout that follows counts nothing');
    assert.deepEqual(balance(p), { sent: 1, accounted: 1 });
  });

  it('reads a reply waiting in the socket before declaring its probe lost', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.clock.advance(0);
    const probe = lastSent(h.t4);
    h.t4.queue(echoReplyFor(4, probe.packet, probe.address), probe.address, START_MS + 400);
    h.clock.advance(500);
    assert.equal(p.stats.received, 1);
    assert.equal(p.stats.lost, 0);
    assert.equal(p.stats.lastMs, 400);
  });

  it('reads a reply that beat sendto() back in the same wake-up', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.t4.onSend = (s) => h.t4.queue(echoReplyFor(4, s.packet, s.address), s.address, s.atMs + 0.05);
    h.clock.advance(0);
    assert.equal(p.stats.received, 1);
    assert.ok(Math.abs(p.stats.lastMs! - 0.05) < 1e-9);
  });

  it('counts a second reply as a duplicate', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.clock.advance(10);
    answer(h.t4, lastSent(h.t4));
    answer(h.t4, lastSent(h.t4));
    h.clock.advance(2000);
    answer(h.t4, h.t4.sent[0]!);
    assert.deepEqual([p.stats.received, p.stats.duplicates, p.stats.late], [1, 2, 0]);
  });

  it('counts a duplicate of a late reply as a duplicate', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1');
    h.clock.advance(600);
    answer(h.t4, h.t4.sent[0]!);
    answer(h.t4, h.t4.sent[0]!);
    assert.deepEqual([p.stats.lost, p.stats.late, p.stats.duplicates], [1, 1, 1]);
  });

  it('matches IPv6 replies too', () => {
    const h = makeHarness();
    const p = h.add('six', '2001:DB8::0001');
    assert.equal(p.target.address, '2001:db8::1');
    h.clock.advance(3);
    assert.equal(lastSent(h.t6).packet[0], 128);
    assert.equal(lastSent(h.t6).address, '2001:db8::1');
    answer(h.t6, lastSent(h.t6));
    assert.equal(p.stats.received, 1);
    assert.equal(p.stats.lastMs, 3);
  });

  it('keeps the invariant sent = received + lost + in flight over a simple run', () => {
    const h = makeHarness();
    const p = h.add('a', '192.0.2.1', 100, 250);
    for (let i = 0; i < 50; i++) {
      h.clock.advance(37);
      if (i % 3 === 0) answer(h.t4, lastSent(h.t4));
      const b = balance(p);
      assert.equal(b.accounted, b.sent, `step ${i}`);
    }
    assert.ok(p.stats.received > 0 && p.stats.lost > 0);
  });
});

describe('ProbeEngine: a send time stamped by the transport', () => {
  it('counts the RTT and the deadline from the stamp the transport returns', () => {
    const h = makeHarness();
    h.t4.sendStampLagMs = 3; // the syscall ran 3 ms after the engine's stamp
    const a = h.add('a', '192.0.2.1', 1000, 100);
    h.clock.advance(1);
    const first = lastSent(h.t4);
    answer(h.t4, first, first.atMs + 10);
    assert.equal(a.stats.summary().lastMs, 7, 'RTT from the transport stamp, not the engine one');
    // The second probe's reply comes 102 ms after the engine stamp: 99 ms after the send.
    h.clock.advance(1000);
    const second = lastSent(h.t4);
    h.clock.advance(101);
    assert.equal(a.stats.summary().lost, 0, 'not lost before the stamped deadline');
    answer(h.t4, second, second.atMs + 102);
    const s = a.stats.summary();
    assert.equal(s.received, 2);
    assert.equal(s.lost, 0);
    assert.equal(s.late, 0);
  });
});

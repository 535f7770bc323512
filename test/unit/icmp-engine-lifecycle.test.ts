// Probes in flight while a target changes: new settings, a remove, a remove
// and re-add, a stop that cannot wait. Every probe sent must end exactly once
// and be counted where the target's counters are (sent = received + lost +
// in flight), whichever path the target takes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answer, balance, lastSent, makeHarness } from '../support/engine-harness.js';
import { makeTarget } from '../../lib/target.js';

describe('ProbeEngine: probes in flight through target changes', () => {
  it('keeps counters and probes in flight when a target gets new settings', () => {
    const h = makeHarness();
    const a = h.add('a', '192.0.2.1', 100, 1000);
    h.clock.advance(350); // 4 probes out, none answered
    assert.equal(a.ledger.inFlight, 4);
    const early = h.t4.sent.slice();
    h.engine.add(makeTarget('a', '192.0.2.1'), { intervalMs: 1000, timeoutMs: 200 });
    const same = h.engine.get('a@192.0.2.1');
    assert.equal(same, a, 'the same target, not a new one');
    assert.equal(a.ledger.inFlight, 4, 'nothing dropped');
    answer(h.t4, early[3]!); // within the new, shorter timeout: received
    assert.equal(a.stats.received, 1);
    h.clock.advance(2000); // the rest reach their (old) deadlines and are lost
    assert.equal(a.ledger.inFlight, 0);
    assert.deepEqual(balance(a), { sent: a.stats.sent, accounted: a.stats.sent });
    assert.equal(a.stats.lost, 3 + (a.stats.sent - 4 - (a.stats.received - 1)));
  });

  it('sends at the new interval after a change, without a burst', () => {
    const h = makeHarness();
    h.add('a', '192.0.2.1', 100, 50);
    h.clock.advance(1000);
    const before = h.t4.sent.length;
    h.engine.add(makeTarget('a', '192.0.2.1'), { intervalMs: 1000, timeoutMs: 50 });
    h.clock.advance(5000);
    const after = h.t4.sent.length - before;
    assert.ok(after >= 5 && after <= 6, `${after} probes in 5 s at 1 s`);
  });

  it('lets a removed target end its probes in flight, then retires it balanced', () => {
    const h = makeHarness();
    const a = h.add('a', '192.0.2.1', 100, 1000);
    h.clock.advance(450); // 5 in flight
    const sent = h.t4.sent.slice();
    assert.equal(h.engine.remove('a@192.0.2.1'), true);
    assert.equal(h.engine.has('a@192.0.2.1'), false, 'no longer probed');
    assert.equal(h.retired.length, 0, 'not retired while probes are in flight');
    assert.equal(h.engine.inFlight(), 5, 'its probes still count as in flight');
    answer(h.t4, sent[4]!); // a reply during the drain still counts
    h.clock.advance(5000);
    assert.equal(h.t4.sent.length, 5, 'nothing sent after the remove');
    assert.deepEqual(h.retired, [a]);
    assert.equal(a.stats.sent, 5);
    assert.equal(a.stats.received, 1);
    assert.equal(a.stats.lost, 4);
    assert.equal(h.engine.inFlight(), 0);
  });

  it('retires a removed target with nothing in flight at once', () => {
    const h = makeHarness();
    const a = h.add('a', '192.0.2.1', 1000, 100);
    h.clock.advance(500);
    h.engine.remove('a@192.0.2.1');
    assert.deepEqual(h.retired, [a]);
  });

  it('takes a target removed and re-added during its drain back whole', () => {
    const h = makeHarness();
    const a = h.add('a', '192.0.2.1', 100, 1000);
    h.clock.advance(250); // 3 in flight
    const sent = h.t4.sent.slice();
    h.engine.remove('a@192.0.2.1');
    assert.equal(
      h.engine.add(makeTarget('a', '192.0.2.1'), { intervalMs: 100, timeoutMs: 1000 }),
      false,
    );
    assert.equal(h.engine.get('a@192.0.2.1'), a, 'the same counters');
    for (const s of sent) answer(h.t4, s);
    assert.equal(a.stats.received, 3, 'replies to probes sent before the remove count');
    h.clock.advance(3000);
    assert.equal(h.retired.length, 0);
    assert.deepEqual(balance(a), { sent: a.stats.sent, accounted: a.stats.sent });
  });

  it('counts what is still in flight as interrupted when a stop cannot wait', () => {
    const h = makeHarness();
    const a = h.add('a', '192.0.2.1', 100, 5000);
    const b = h.add('b', '192.0.2.2', 100, 5000);
    h.clock.advance(450);
    h.engine.remove('b@192.0.2.2');
    h.engine.stopSending();
    h.engine.abandonInFlight();
    assert.equal(h.engine.inFlight(), 0);
    assert.equal(a.stats.errors.get('interrupted'), 5);
    assert.equal(a.stats.lost, 5);
    assert.deepEqual(h.retired, [b], 'the draining target is retired');
    assert.equal(b.stats.lost, b.stats.sent);
  });

  it('knows the longest timeout, of draining targets too', () => {
    const h = makeHarness();
    h.add('a', '192.0.2.1', 100, 300);
    h.add('b', '192.0.2.2', 100, 4000);
    h.clock.advance(150);
    h.engine.remove('b@192.0.2.2');
    assert.equal(h.engine.maxTimeoutMs(), 4000);
    h.clock.advance(5000);
    assert.equal(h.engine.maxTimeoutMs(), 300);
  });

  it('matches replies of a zoned link-local target, sent to its zone', () => {
    const h = makeHarness();
    const ll = h.add('ll', 'fe80::1%eth9', 100, 500);
    const other = h.add('ll', 'fe80::1%eth8', 100, 500);
    h.clock.advance(50);
    const sent = h.t6.sent.slice();
    assert.deepEqual(sent.map((s) => s.address).sort(), ['fe80::1%eth8', 'fe80::1%eth9']);
    // The kernel reports the source without a zone.
    for (const s of sent) answer(h.t6, s, undefined, 'fe80::1');
    assert.equal(ll.stats.received, 1);
    assert.equal(other.stats.received, 1);
    assert.equal(lastSent(h.t6).address.includes('%'), true);
  });
});

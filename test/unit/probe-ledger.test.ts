import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeLedger } from '../../lib/engine/probe-ledger.js';

// timeout 1 s, interval 1 s: needs 2*1 + 16 = 18 slots, so the ring holds 32.
const RING = 32;
const ledger = (): ProbeLedger => new ProbeLedger(1000, 1000);

describe('ProbeLedger', () => {
  it('hands out wide sequences from 0 and counts probes in flight', () => {
    const l = ledger();
    assert.equal(l.nextSeq, 0);
    assert.deepEqual([l.begin(0), l.begin(1000), l.begin(2000)], [0, 1, 2]);
    assert.equal(l.nextSeq, 3);
    assert.equal(l.inFlight, 3);
    assert.equal(l.timeoutMs, 1000);
  });

  it('classifies a reply within the timeout as received, with its RTT', () => {
    const l = ledger();
    l.begin(100);
    assert.deepEqual(l.reply(0, 112.5), { kind: 'received', rttMs: 12.5 });
    assert.equal(l.inFlight, 0);
  });

  it('receives a reply at exactly the timeout', () => {
    const l = ledger();
    l.begin(0);
    assert.deepEqual(l.reply(0, 1000), { kind: 'received', rttMs: 1000 });
  });

  it('clamps a negative RTT (clock stepped) to 0', () => {
    const l = ledger();
    l.begin(500);
    assert.deepEqual(l.reply(0, 499), { kind: 'received', rttMs: 0 });
  });

  it('classifies a reply after the timeout event as late; the probe stays lost', () => {
    const l = ledger();
    l.begin(0);
    assert.equal(l.end(0), true);
    assert.equal(l.inFlight, 0);
    assert.deepEqual(l.reply(0, 1500), { kind: 'late' });
    assert.equal(l.inFlight, 0);
    assert.equal(l.end(0), false);
  });

  it('classifies a reply after the timeout but before its event as late-and-lost', () => {
    const l = ledger();
    l.begin(0);
    assert.deepEqual(l.reply(0, 1000.25), { kind: 'late-and-lost', rttMs: 1000.25 });
    assert.equal(l.inFlight, 0);
    // the timeout event that follows finds nothing to end: one loss, not two
    assert.equal(l.end(0), false);
    assert.deepEqual(l.reply(0, 1001), { kind: 'duplicate' });
  });

  it('classifies a second reply as a duplicate', () => {
    const l = ledger();
    l.begin(0);
    l.reply(0, 10);
    assert.deepEqual(l.reply(0, 11), { kind: 'duplicate' });
    assert.deepEqual(l.reply(0, 5000), { kind: 'duplicate' });
    assert.equal(l.inFlight, 0);
    assert.equal(l.end(0), false, 'a received probe cannot end as lost');
  });

  it('classifies a reply after a late one as a duplicate', () => {
    const l = ledger();
    l.begin(0);
    l.end(0);
    assert.deepEqual(l.reply(0, 1200), { kind: 'late' });
    assert.deepEqual(l.reply(0, 1201), { kind: 'duplicate' });
    assert.deepEqual(l.reply(0, 1202), { kind: 'duplicate' });
  });

  it('calls a sequence never sent unknown', () => {
    const l = ledger();
    assert.deepEqual(l.reply(0, 0), { kind: 'unknown' });
    l.begin(0);
    l.begin(0);
    assert.deepEqual(l.reply(2, 0), { kind: 'unknown' });
    assert.deepEqual(l.reply(2 ** 40, 0), { kind: 'unknown' });
    assert.equal(l.inFlight, 2);
  });

  it('calls a reply older than the ring late', () => {
    const l = ledger();
    for (let i = 0; i < RING + 3; i++) {
      const seq = l.begin(i * 1000);
      l.reply(seq, i * 1000 + 5);
    }
    // seq 0..2 were overwritten by RING..RING+2
    assert.deepEqual(l.reply(0, 40_000), { kind: 'late' });
    assert.deepEqual(l.reply(2, 40_000), { kind: 'late' });
    assert.deepEqual(l.reply(3, 40_000), { kind: 'duplicate' }); // still in the ring
    assert.deepEqual(l.reply(RING, 40_000), { kind: 'duplicate' });
  });

  it('flags the eviction of a probe still in flight, and only then', () => {
    const l = ledger();
    for (let i = 0; i < RING; i++) {
      l.begin(i);
      assert.equal(l.evictedInFlight, false, `begin ${i}`);
    }
    assert.equal(l.inFlight, RING);
    l.begin(RING); // reuses seq 0's slot while 0 is in flight
    assert.equal(l.evictedInFlight, true);
    assert.equal(l.inFlight, RING, 'one left, one came');
    l.reply(1, RING + 1); // received: its slot is free to reuse
    l.begin(RING + 1);
    assert.equal(l.evictedInFlight, false);
    assert.equal(l.inFlight, RING - 1 + 1);
    assert.equal(l.end(0), false, 'the evicted probe is gone');
    assert.deepEqual(l.reply(0, 50), { kind: 'late' });
  });

  it('sizes the ring to cover two timeouts of probes, at least', () => {
    const l = new ProbeLedger(5000, 100); // 2*50 + 16 = 116 -> 128 slots
    for (let i = 0; i < 128; i++) l.begin(i * 100);
    assert.equal(l.evictedInFlight, false);
    l.begin(128 * 100);
    assert.equal(l.evictedInFlight, true);
  });

  it('finds the in-flight probe with given low 16 bits', () => {
    const l = ledger();
    l.begin(0);
    l.begin(0);
    l.begin(0);
    assert.equal(
      l.findInFlight((s) => s % 0x10000 === 1),
      1,
    );
    assert.equal(
      l.findInFlight((s) => s % 0x10000 === 3),
      undefined,
    );
    l.end(1);
    assert.equal(
      l.findInFlight((s) => s % 0x10000 === 1),
      undefined,
    );
    l.reply(2, 5);
    assert.equal(
      l.findInFlight((s) => s % 0x10000 === 2),
      undefined,
    );
    assert.equal(
      l.findInFlight((s) => s % 0x10000 === 0),
      0,
    );
  });

  it('finds in-flight probes by low 16 bits after the sequence wraps', () => {
    const l = ledger();
    for (let i = 0; i < 0x1_0000; i++) l.end(l.begin(i));
    assert.equal(
      l.findInFlight((s) => s % 0x10000 === 0),
      undefined,
    );
    assert.equal(l.begin(0), 0x1_0000);
    assert.equal(l.begin(0), 0x1_0001);
    assert.equal(
      l.findInFlight((s) => s % 0x10000 === 0),
      0x1_0000,
    );
    assert.equal(
      l.findInFlight((s) => s % 0x10000 === 1),
      0x1_0001,
    );
    assert.deepEqual(l.reply(1, 10), { kind: 'late' }, 'the old seq 1 is not the new one');
    assert.deepEqual(l.reply(0x1_0001, 10), { kind: 'received', rttMs: 10 });
  });

  it('keeps inFlight equal to begun minus ended minus answered', () => {
    const l = ledger();
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const seq = l.begin(i * 1000);
      const r = i % 5;
      if (r === 0) outcomes.set('end', (outcomes.get('end') ?? 0) + Number(l.end(seq)));
      if (r === 1) l.reply(seq, i * 1000 + 3);
      if (r === 2) l.reply(seq, i * 1000 + 2000); // late-and-lost
      // r 3, 4: left in flight, until evicted
      if (i >= 2) l.end(seq - 2); // the timeout events, two probes behind
    }
    assert.equal(outcomes.get('end'), 40);
    // only the last two probes can still be in flight, and only if r was 3 or 4
    assert.equal(l.inFlight, [198, 199].filter((i) => i % 5 >= 3).length);
  });
});

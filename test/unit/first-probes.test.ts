// A new target's first probe goes out at once, before its slot; a burst of
// new targets is paced, not sent in one go. With a fake clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FirstProbeQueue, MIN_PER_SECOND } from '../../lib/engine/first-probes.js';
import { makeHarness, START_MS } from '../support/engine-harness.js';

describe('first probes: at once, then on the slot', () => {
  it('probes a new target within a millisecond, before its slot comes', () => {
    const h = makeHarness({ firstProbeAtOnce: true });
    // Seven targets fill slots 0..6; the eighth gets slot 7, at 7/8 of the interval.
    for (let i = 1; i <= 7; i++) h.add(`t${i}`, `192.0.2.${i}`);
    h.clock.advance(1000); // one round on the slots
    const before = h.t4.sent.length;
    const addedAt = h.clock.nowMs();
    h.add('new', '192.0.2.100');
    h.clock.advance(1);
    const first = h.t4.sent.slice(before).filter((s) => s.address === '192.0.2.100');
    assert.equal(first.length, 1, 'one probe at once');
    assert.ok(first[0]!.atMs - addedAt <= 1, `sent ${first[0]!.atMs - addedAt} ms after the add`);
    h.clock.advance(2000);
    const times = h.t4.sent
      .filter((s) => s.address === '192.0.2.100')
      .map((s) => s.atMs - START_MS);
    // Then on its slot's grid (phase 7/8 of 1 s, sends may go 0.5 ms early).
    assert.deepEqual(
      times.slice(1).map((t) => Math.round(t)),
      [1875, 2875],
    );
  });

  it('does not add a probe when the slot is due within 20 ms anyway', () => {
    const h = makeHarness({ firstProbeAtOnce: true });
    h.add('only', '192.0.2.1'); // slot 0 at phase 0: due now
    h.clock.advance(1);
    assert.equal(h.t4.sent.length, 1, 'the slot probe, no extra one');
  });

  it('paces a burst of 10,000 new targets instead of sending them at once', () => {
    const h = makeHarness({ firstProbeAtOnce: true });
    for (let i = 0; i < 10_000; i++) h.add(`t${i}`, `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    // In the first 100 ms the slots send ~1,000 (10,000 a second, spread); the
    // first probes may add at most a tenth of that rate, plus their burst.
    h.clock.advance(100);
    const first100 = h.t4.sent.length;
    assert.ok(first100 <= 1000 + 100 + 100 + 5, `${first100} probes in the first 100 ms`);
    // No 10 ms window carries more than the steady rate's share plus a burst.
    h.clock.advance(900);
    const times = h.t4.sent.map((s) => s.atMs);
    let worst = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 10) j++;
      worst = Math.max(worst, i - j + 1);
    }
    assert.ok(worst <= 100 + 10 + 100 + 5, `${worst} probes in one 10 ms window`);
    // Every target was probed within its first interval, by one path or the other.
    const seen = new Set(h.t4.sent.map((s) => s.address));
    assert.equal(seen.size, 10_000);
  });
});

describe('FirstProbeQueue', () => {
  it('allows a burst, then its rate, and says when the next may go', () => {
    const q = new FirstProbeQueue<number>();
    for (let i = 0; i < 100; i++) q.enqueue(i);
    const sent: number[] = [];
    q.take(0, 0, (i) => (sent.push(i), true));
    assert.equal(sent.length, 10, 'the minimum burst');
    const next = q.nextDueMs(0, 0)!;
    assert.ok(Math.abs(next - 1000 / MIN_PER_SECOND) < 1e-9, `next at ${next} ms`);
    q.take(1000, 0, (i) => (sent.push(i), true));
    assert.equal(sent.length, 20, 'refilled to the burst, not beyond');
    assert.deepEqual(sent, [...Array(20).keys()], 'oldest first');
  });

  it('spends no token on an item that no longer wants one', () => {
    const q = new FirstProbeQueue<number>();
    for (let i = 0; i < 30; i++) q.enqueue(i);
    const sent: number[] = [];
    q.take(0, 0, (i) => i % 2 === 0 && (sent.push(i), true));
    assert.equal(sent.length, 10);
    assert.equal(sent.at(-1), 18);
  });
});

// How often the engine's timer may wake: never paced at low rates, a gap
// of up to 10 ms above 100 probes a second, shrinking as the rate grows
// and never over half the shortest interval.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EXACT_SLACK_MS, WAKE_GAP_MAX_MS, WakePacing } from '../../lib/engine/wake-pacing.js';

function pacingOf(count: number, intervalMs: number): WakePacing {
  const p = new WakePacing();
  for (let i = 0; i < count; i++) p.add(intervalMs);
  return p;
}

describe('WakePacing', () => {
  it('does not pace up to 100 probes a second: each send at its time', () => {
    const p = pacingOf(99, 1000);
    assert.equal(p.gapMs, 0);
    assert.equal(p.slackMs, EXACT_SLACK_MS);
  });

  it('wakes at most every 10 ms at 1,000 targets a second, sending half a gap either side', () => {
    const p = pacingOf(1000, 1000);
    assert.equal(p.gapMs, WAKE_GAP_MAX_MS);
    assert.equal(p.slackMs, WAKE_GAP_MAX_MS / 2);
    assert.ok(Math.abs(p.probesPerMs - 1) < 1e-9);
  });

  it('shrinks the gap at 50,000 targets so a wake-up sends ~100 probes', () => {
    const p = pacingOf(50_000, 1000);
    assert.ok(Math.abs(p.gapMs - 2) < 1e-9, `${p.gapMs}`);
  });

  it('keeps the gap under half the shortest interval, and unpaced below a millisecond', () => {
    const p = pacingOf(2000, 1000);
    p.add(12);
    assert.equal(p.gapMs, 6);
    p.add(1);
    assert.equal(p.gapMs, 0, 'a 1 ms interval: every send at its time');
    p.remove(1);
    p.remove(12);
    assert.equal(p.gapMs, WAKE_GAP_MAX_MS);
  });

  it('goes back to unpaced as schedules are removed, with no rate left over', () => {
    const p = pacingOf(1000, 1000);
    for (let i = 0; i < 1000; i++) p.remove(1000);
    assert.equal(p.gapMs, 0);
    assert.equal(p.probesPerMs, 0);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TargetStats } from '../../lib/stats/target-stats.js';

describe('TargetStats', () => {
  it('starts empty, with no RTT aggregates', () => {
    assert.deepEqual(new TargetStats().snapshot(), {
      sent: 0,
      received: 0,
      lost: 0,
      late: 0,
      duplicates: 0,
      errors: {},
      answers: {},
      minMs: undefined,
      maxMs: undefined,
      meanMs: undefined,
      lastMs: undefined,
      avg15mMs: undefined,
      avg6hMs: undefined,
      avg24hMs: undefined,
      histogram: { bounds: [], cumulative: [], count: 0, sumSeconds: 0 },
    });
  });

  it('counts sent, received, lost, late and duplicates', () => {
    const s = new TargetStats();
    for (let i = 0; i < 7; i++) s.recordSent();
    s.recordReply(20, 1000);
    s.recordReply(40, 2000);
    s.recordReply(10, 3000);
    s.recordLost();
    s.recordLost();
    s.recordLate();
    s.recordDuplicate();
    s.recordDuplicate();
    const snap = s.snapshot();
    assert.equal(snap.sent, 7);
    assert.equal(snap.received, 3);
    assert.equal(snap.lost, 2);
    assert.equal(snap.late, 1);
    assert.equal(snap.duplicates, 2);
    assert.deepEqual(snap.errors, {}); // losses without a reason are not errors
  });

  it('keeps min, max, mean and last RTT', () => {
    const s = new TargetStats();
    s.recordReply(20, 1000);
    s.recordReply(40, 2000);
    s.recordReply(10, 3000);
    const snap = s.snapshot();
    assert.equal(snap.minMs, 10);
    assert.equal(snap.maxMs, 40);
    assert.ok(Math.abs(snap.meanMs! - 70 / 3) < 1e-12);
    assert.equal(snap.lastMs, 10);
  });

  it('handles a single reply and a zero RTT', () => {
    const s = new TargetStats();
    s.recordReply(0, 5);
    const snap = s.snapshot();
    assert.deepEqual([snap.minMs, snap.maxMs, snap.meanMs, snap.lastMs], [0, 0, 0, 0]);
    assert.deepEqual(snap.histogram.cumulative, [1]); // bucket 0
  });

  it('counts errors by reason, each also a loss', () => {
    const s = new TargetStats();
    s.recordLost('icmp:host-unreachable');
    s.recordLost('send:ENETUNREACH');
    s.recordLost('icmp:host-unreachable');
    s.recordLost();
    const snap = s.snapshot();
    assert.equal(snap.lost, 4);
    assert.deepEqual(snap.errors, { 'icmp:host-unreachable': 2, 'send:ENETUNREACH': 1 });
  });

  it('feeds the moving averages, initialised by the first reply', () => {
    const s = new TargetStats();
    s.recordReply(30, 0);
    let snap = s.snapshot();
    assert.deepEqual([snap.avg15mMs, snap.avg6hMs, snap.avg24hMs], [30, 30, 30]);
    s.recordReply(130, 15 * 60_000); // one 15-minute window later
    snap = s.snapshot();
    // Each reply spans 15 minutes (the first one the gap to the second), the
    // older one's weight decayed once more.
    const expected = (windowMinutes: number): number => {
      const kept = Math.exp(-15 / windowMinutes);
      return (30 * kept + 130) / (kept + 1);
    };
    assert.ok(Math.abs(snap.avg15mMs! - expected(15)) < 1e-9, String(snap.avg15mMs));
    assert.ok(Math.abs(snap.avg6hMs! - expected(360)) < 1e-9, String(snap.avg6hMs));
    assert.ok(Math.abs(snap.avg24hMs! - expected(1440)) < 1e-9, String(snap.avg24hMs));
    assert.ok(snap.avg15mMs! > snap.avg6hMs! && snap.avg6hMs! > snap.avg24hMs!);
  });

  it('observes RTTs in the histogram in seconds', () => {
    const s = new TargetStats();
    s.recordReply(1000, 0); // exactly the 1 s bound
    s.recordReply(12.5, 1);
    const h = s.snapshot().histogram;
    assert.equal(h.count, 2);
    assert.ok(Math.abs(h.sumSeconds - 1.0125) < 1e-12);
    assert.ok(h.bounds.includes(1));
    assert.equal(h.cumulative[h.bounds.indexOf(1)], 2);
  });

  it('gives a snapshot that later recording does not change', () => {
    const s = new TargetStats();
    s.recordSent();
    s.recordLost('send:EHOSTDOWN');
    const snap = s.snapshot();
    s.recordSent();
    s.recordLost('send:EHOSTDOWN');
    s.recordReply(5, 0);
    assert.equal(snap.sent, 1);
    assert.equal(snap.lost, 1);
    assert.deepEqual(snap.errors, { 'send:EHOSTDOWN': 1 });
    assert.equal(snap.minMs, undefined);
  });
});

// Saved statistics: the round trip a restart takes (toSaved → JSON → parse →
// mergeSaved), the entries a parser must refuse, and how saved history joins
// what a new run has counted.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUCKET_BOUNDS_SECONDS } from '../../lib/stats/histogram.js';
import { TimeWeightedAverage } from '../../lib/stats/moving-average.js';
import { parseSavedStats, SavedStatsError, type SavedStats } from '../../lib/stats/saved-stats.js';
import { TargetStats } from '../../lib/stats/target-stats.js';

const WALL = Date.UTC(2026, 0, 1);
const MINUTE_MS = 60_000;

/** A target that has seen a bit of everything, sampled over two minutes. */
function busy(): TargetStats {
  const s = new TargetStats();
  const rtts = [0.05, 0.2, 0.2, 3, 40, 1200, 0.7];
  rtts.forEach((rtt, i) => {
    s.recordSent();
    s.recordReply(rtt, 1000 + i * 20_000);
  });
  for (let i = 0; i < 3; i++) s.recordSent();
  s.recordLost();
  s.recordLost('send:ENETUNREACH');
  s.recordLost('icmp:host-unreachable');
  s.recordLate();
  s.recordDuplicate();
  s.recordDuplicate();
  return s;
}

function savedJson(over: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...busy().toSaved(200_000, WALL), ...over });
}

describe('saved statistics round trip', () => {
  it('reproduces counters, min/max/last, errors, averages and histogram buckets', () => {
    const original = busy();
    const text = JSON.stringify(original.toSaved(200_000, WALL));
    const restored = new TargetStats();
    // Same monotonic and wall time: nothing elapsed between save and restore.
    restored.mergeSaved(parseSavedStats(text), 200_000, WALL);
    assert.deepEqual(restored.snapshot(), original.snapshot());
  });

  it('keeps the moving averages’ age across a restart on a new clock', () => {
    const original = busy();
    const saved = parseSavedStats(JSON.stringify(original.toSaved(200_000, WALL)));
    const restored = new TargetStats();
    // The new process's monotonic clock starts near 0; a minute passed on the wall.
    restored.mergeSaved(saved, 5, WALL + MINUTE_MS);
    assert.equal(restored.avg15m.value, original.avg15m.value);
    const lastAt = 1000 + 6 * 20_000;
    assert.equal(restored.avg15m.lastAtMs, 5 - MINUTE_MS - (200_000 - lastAt));
  });

  it('saves a target with no replies with null RTTs and no buckets', () => {
    const s = new TargetStats();
    s.recordSent();
    s.recordLost();
    const saved = parseSavedStats(JSON.stringify(s.toSaved(0, WALL)));
    assert.equal(saved.minMs, null);
    assert.equal(saved.maxMs, null);
    assert.equal(saved.lastMs, null);
    assert.deepEqual(saved.averages, { '15m': null, '6h': null, '24h': null });
    assert.deepEqual(saved.histogram.counts, {});
    const restored = new TargetStats();
    restored.mergeSaved(saved, 0, WALL);
    assert.deepEqual(restored.snapshot(), s.snapshot());
  });
});

describe('unusual answers in the saved form', () => {
  it('saves and restores answers like errors, added to what the new run counted', () => {
    const original = busy();
    original.recordSent();
    original.recordReply(0.3, 130_000, 'tcp:refused');
    const text = JSON.stringify(original.toSaved(200_000, WALL));
    assert.deepEqual((JSON.parse(text) as SavedStats).answers, { 'tcp:refused': 1 });
    const restored = new TargetStats();
    restored.mergeSaved(parseSavedStats(text), 200_000, WALL);
    assert.deepEqual(restored.snapshot(), original.snapshot());
    restored.recordSent();
    restored.recordReply(0.3, 300_000, 'tcp:refused');
    assert.deepEqual(restored.snapshot().answers, { 'tcp:refused': 2 });
  });

  it('writes no answers field when there are none: an ICMP entry is what it always was', () => {
    assert.ok(!('answers' in busy().toSaved(0, WALL)));
  });

  it('loads an entry written before probe kinds (no answers, no inFlight)', () => {
    // As netpingd 0.1 wrote it, field for field.
    const old =
      '{"v":1,"savedAt":1767225600000,"sent":10,"received":7,"lost":3,"late":1,"duplicates":2,' +
      '"errors":{"send:ENETUNREACH":1,"icmp:host-unreachable":1},"minMs":0.05,"maxMs":1200,' +
      '"lastMs":0.7,"sumMs":1244.35,"averages":{"15m":{"value":3.5,"ageMs":80000},"6h":null,' +
      `"24h":null},"histogram":{"layout":"${busy().toSaved(0, WALL).histogram.layout}",` +
      '"counts":{"100":2},"sumSeconds":0.00025}}';
    const saved = parseSavedStats(old);
    assert.equal(saved.answers, undefined);
    const restored = new TargetStats();
    restored.mergeSaved(saved, 0, WALL);
    const snap = restored.snapshot();
    assert.deepEqual([snap.sent, snap.received, snap.lost], [10, 7, 3]);
    assert.deepEqual(snap.answers, {});
    assert.deepEqual(snap.errors, { 'send:ENETUNREACH': 1, 'icmp:host-unreachable': 1 });
    assert.equal(snap.histogram.count, 2);
  });
});

describe('parseSavedStats refuses bad entries, naming the field', () => {
  const badBucket = BUCKET_BOUNDS_SECONDS.length + 1;
  const histogram = (counts: Record<string, unknown>): Record<string, unknown> => ({
    histogram: { ...busy().toSaved(0, WALL).histogram, counts },
  });
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"v":1,', /not JSON/],
    ['an array', '[1,2,3]', /not an object/],
    ['null', 'null', /not an object/],
    ['version 2', savedJson({ v: 2 }), /version 2/],
    ['no version', savedJson({ v: undefined }), /version/],
    ['negative sent', savedJson({ sent: -1 }), /\bsent\b/],
    ['sent as the string NaN', savedJson({ sent: 'NaN' }), /\bsent\b/],
    ['received as a numeric string', savedJson({ received: '5' }), /\breceived\b/],
    ['lost missing', savedJson({ lost: undefined }), /\blost\b/],
    ['sumMs null', savedJson({ sumMs: null }), /\bsumMs\b/],
    ['savedAt negative', savedJson({ savedAt: -5 }), /\bsavedAt\b/],
    ['minMs a string', savedJson({ minMs: '0.1' }), /\bminMs\b/],
    ['lastMs negative', savedJson({ lastMs: -1 }), /\blastMs\b/],
    ['errors with a string count', savedJson({ errors: { 'send:EPERM': '3' } }), /\berrors\b/],
    ['errors an array', savedJson({ errors: [1] }), /\berrors\b/],
    ['averages missing', savedJson({ averages: undefined }), /\baverages\b/],
    [
      'an average with a string value',
      savedJson({ averages: { '15m': { value: 'x', ageMs: 0 }, '6h': null, '24h': null } }),
      /average 15m/,
    ],
    [
      'an average with a negative age',
      savedJson({ averages: { '15m': null, '6h': { value: 1, ageMs: -1 }, '24h': null } }),
      /average 6h/,
    ],
    ['an average missing', savedJson({ averages: { '15m': null, '6h': null } }), /average 24h/],
    [
      'an average weighing more than a window',
      savedJson({
        averages: { '15m': { value: 1, ageMs: 0, weight: 1.5 }, '6h': null, '24h': null },
      }),
      /average 15m/,
    ],
    [
      'an average with a string weight',
      savedJson({
        averages: { '15m': null, '6h': null, '24h': { value: 1, ageMs: 0, weight: '1' } },
      }),
      /average 24h/,
    ],
    ['histogram missing', savedJson({ histogram: undefined }), /histogram/],
    ['bucket index past +Inf', savedJson(histogram({ [badBucket]: 1 })), /bucket/],
    ['bucket index negative', savedJson(histogram({ '-1': 1 })), /bucket -1/],
    ['bucket index not an integer', savedJson(histogram({ '1.5': 1 })), /bucket 1\.5/],
    ['bucket index not a number', savedJson(histogram({ abc: 1 })), /bucket abc/],
    ['bucket count negative', savedJson(histogram({ '3': -2 })), /bucket 3/],
    ['bucket count a string', savedJson(histogram({ '3': '2' })), /bucket 3/],
    // Restoring counts these as lost: a huge one must not hang or inflate anything.
    ['inFlight past sent', savedJson({ inFlight: 1e15 }), /\binFlight\b/],
    ['inFlight a fraction', savedJson({ inFlight: 0.5 }), /\binFlight\b/],
    ['inFlight negative', savedJson({ inFlight: -1 }), /\binFlight\b/],
    ['answers an array', savedJson({ answers: [1] }), /\banswers\b/],
    ['answers with a string count', savedJson({ answers: { 'tcp:refused': '2' } }), /\banswers\b/],
    ['answers with a fraction', savedJson({ answers: { 'tcp:refused': 0.5 } }), /\banswers\b/],
    ['answers null', savedJson({ answers: null }), /\banswers\b/],
  ];
  for (const [what, text, field] of cases) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => parseSavedStats(text),
        (err: unknown) => {
          assert.ok(err instanceof SavedStatsError, `not a SavedStatsError: ${String(err)}`);
          assert.equal(err.name, 'SavedStatsError');
          assert.match(err.message, field);
          return true;
        },
      );
    });
  }

  it('accepts the +Inf bucket, the last index sparseCounts writes', () => {
    const saved = parseSavedStats(savedJson(histogram({ [BUCKET_BOUNDS_SECONDS.length]: 2 })));
    assert.deepEqual(saved.histogram.counts, { [BUCKET_BOUNDS_SECONDS.length]: 2 });
  });

  it('keeps counters but drops buckets saved with an unknown histogram layout', () => {
    const original = busy();
    const raw = original.toSaved(200_000, WALL);
    const text = JSON.stringify({ ...raw, histogram: { ...raw.histogram, layout: 'linear/1ms' } });
    const saved = parseSavedStats(text);
    assert.equal(saved.sent, raw.sent);
    assert.equal(saved.received, raw.received);
    assert.deepEqual(saved.histogram.counts, {});
    const restored = new TargetStats();
    restored.mergeSaved(saved, 200_000, WALL);
    const snap = restored.snapshot();
    assert.equal(snap.sent, 10);
    assert.equal(snap.received, 7);
    assert.equal(snap.minMs, 0.05);
    assert.equal(snap.maxMs, 1200);
    assert.deepEqual(snap.histogram, { bounds: [], cumulative: [], count: 0, sumSeconds: 0 });
  });
});

describe('mergeSaved adds saved history to a live target', () => {
  it('continues counters after a restart: live counted some, the saved entry had more', () => {
    const before = busy(); // the run that saved
    const saved: SavedStats = parseSavedStats(JSON.stringify(before.toSaved(200_000, WALL)));
    const live = new TargetStats(); // the new run, a few probes in
    for (let i = 0; i < 3; i++) live.recordSent();
    live.recordReply(0.1, 100);
    live.recordReply(0.9, 200);
    live.recordLost('send:ENETUNREACH');
    live.mergeSaved(saved, 300, WALL + 5_000);
    const snap = live.snapshot();
    assert.equal(snap.sent, 13);
    assert.equal(snap.received, 9);
    assert.equal(snap.lost, 4);
    assert.equal(snap.late, 1);
    assert.equal(snap.duplicates, 2);
    assert.deepEqual(snap.errors, { 'send:ENETUNREACH': 2, 'icmp:host-unreachable': 1 });
    assert.equal(snap.minMs, 0.05);
    assert.equal(snap.maxMs, 1200);
    assert.equal(snap.lastMs, 0.9, 'the live last reply is newer than the saved one');
    const sum = [0.05, 0.2, 0.2, 3, 40, 1200, 0.7, 0.1, 0.9].reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(snap.meanMs! - sum / 9) < 1e-9, `mean ${snap.meanMs}`);
    assert.equal(snap.histogram.count, 9);
    assert.ok(Math.abs(snap.histogram.sumSeconds - sum / 1000) < 1e-12);
  });

  it('takes the saved last RTT when the live target has no reply yet', () => {
    const live = new TargetStats();
    live.recordSent();
    live.mergeSaved(parseSavedStats(savedJson()), 0, WALL);
    assert.equal(live.lastMs, 0.7);
    assert.equal(live.snapshot().sent, 11);
  });
});

describe('TimeWeightedAverage.mergeEarlier', () => {
  const WINDOW = 15 * MINUTE_MS;

  /** `value` every second over [fromMs, toMs]. */
  function sampled(value: number, fromMs: number, toMs: number): TimeWeightedAverage {
    const avg = new TimeWeightedAverage(WINDOW);
    for (let t = fromMs; t <= toMs; t += 1000) avg.add(value, t);
    return avg;
  }

  it('takes the saved value and time when nothing was sampled since', () => {
    const avg = new TimeWeightedAverage(WINDOW);
    avg.mergeEarlier(7, -30_000); // an entry with no weight: a full window's worth
    assert.equal(avg.value, 7);
    assert.equal(avg.weight, 1);
    assert.equal(avg.lastAtMs, -30_000);
    avg.add(1, WINDOW - 30_000); // one window later, the usual weight applies
    assert.ok(Math.abs(avg.value - (7 + (1 - 1 / Math.E) * (1 - 7))) < 1e-12);
  });

  it('takes a saved first sample as a first sample: it gets the gap to the next', () => {
    const avg = new TimeWeightedAverage(WINDOW);
    avg.mergeEarlier(9, 0, 0);
    assert.equal(avg.value, 9);
    assert.equal(avg.weight, 0);
    avg.add(1, 1000);
    assert.ok(Math.abs(avg.value - 5) < 0.01, String(avg.value));
  });

  it('ignores a saved average that is not older than the live samples', () => {
    const avg = new TimeWeightedAverage(WINDOW);
    avg.add(5, 1000);
    avg.mergeEarlier(100, 1000);
    avg.mergeEarlier(100, 2000);
    assert.equal(avg.value, 5);
    assert.equal(avg.lastAtMs, 1000);
  });

  it('weights the live value by the time since the saved one', () => {
    // The live samples span [-1 s, one window]; a full saved average ended at -1 s.
    const avg = sampled(10, 0, WINDOW);
    avg.mergeEarlier(0, -1000);
    const live = -Math.expm1(-(WINDOW + 1000) / WINDOW);
    assert.ok(Math.abs(avg.value! - 10 * live) < 1e-9, String(avg.value));
    assert.ok(Math.abs(avg.weight! - 1) < 1e-12, String(avg.weight));
    assert.equal(avg.lastAtMs, WINDOW, 'the live time stays');
  });

  it('weights a young saved average by what its samples weighed, not as a full window', () => {
    // 30 s saved at 100 ms, then (after a 30 s gap) 30 s live at 2 ms: about half each.
    const saved = sampled(100, 0, 30_000);
    const avg = sampled(2, 60_000, 90_000);
    avg.mergeEarlier(saved.value!, saved.lastAtMs!, saved.weight);
    assert.ok(Math.abs(avg.value! - 51) < 2, String(avg.value));
    assert.ok(avg.weight! < 0.1, String(avg.weight));
  });

  it('lets an old saved value fade: long ago is almost nothing, just before is almost all', () => {
    const old = sampled(10, 100 * WINDOW, 100 * WINDOW + 5000);
    old.mergeEarlier(0, 0);
    assert.ok(Math.abs(old.value! - 10) < 1e-9, String(old.value));
    const recent = sampled(10, 1000, 2000);
    recent.mergeEarlier(0, 999);
    assert.ok(recent.value! < 0.05, String(recent.value));
  });
});

describe('moving averages across a restart', () => {
  /** The far end: 100 ms for 4 s, then 2 ms, a reply every 100 ms over [fromMs, toMs). */
  function feed(s: TargetStats, fromMs: number, toMs: number): void {
    for (let t = fromMs; t < toMs; t += 100) s.recordReply(t < 4000 ? 100 : 2, t);
  }

  it('a young average restored goes on as the same young average', () => {
    const uninterrupted = new TargetStats();
    feed(uninterrupted, 0, 30_000);
    const before = new TargetStats();
    feed(before, 0, 10_000);
    const saved = parseSavedStats(JSON.stringify(before.toSaved(10_000, WALL)));
    // A new process (its clock near 0), restored at once, then 20 s more.
    const after = new TargetStats();
    after.mergeSaved(saved, 5, WALL);
    for (let t = 10_000; t < 30_000; t += 100) after.recordReply(2, t - 9_995);
    const a = after.summary();
    const u = uninterrupted.summary();
    for (const key of ['avg15mMs', 'avg6hMs', 'avg24hMs'] as const) {
      assert.ok(Math.abs(a[key]! - u[key]!) < 1e-6, `${key}: ${a[key]} against ${u[key]}`);
      assert.ok(a[key]! < 17, `${key}: ${a[key]} is the mean of what was seen`);
    }
  });

  it('loads an entry written before averages kept their weight, as a full window', () => {
    // As netpingd wrote it before issue 20: no weight.
    const old =
      '{"v":1,"savedAt":1767225600000,"sent":3,"received":3,"lost":0,"inFlight":0,"late":0,' +
      '"duplicates":0,"errors":{},"minMs":3,"maxMs":4,"lastMs":3.5,"sumMs":10.5,' +
      '"averages":{"15m":{"value":3.5,"ageMs":1000},"6h":{"value":3.4,"ageMs":1000},' +
      `"24h":null},"histogram":{"layout":"${busy().toSaved(0, WALL).histogram.layout}",` +
      '"counts":{},"sumSeconds":0}}';
    const saved = parseSavedStats(old);
    assert.equal(saved.averages['15m']!.weight, undefined);
    const restored = new TargetStats();
    restored.mergeSaved(saved, 100_000, 1767225600000);
    assert.equal(restored.avg15m.value, 3.5);
    assert.equal(restored.avg15m.weight, 1);
    assert.equal(restored.avg15m.lastAtMs, 99_000);
    assert.equal(restored.avg6h.value, 3.4);
    assert.equal(restored.avg24h.value, undefined);
    // One window after the saved sample, a new one moves it as the old averages did.
    restored.recordReply(13.5, 99_000 + 15 * MINUTE_MS);
    assert.ok(Math.abs(restored.avg15m.value - (3.5 + 10 * (1 - 1 / Math.E))) < 1e-9);
  });

  it('saves each average with its weight', () => {
    const s = new TargetStats();
    feed(s, 0, 30_000);
    const saved = s.toSaved(30_000, WALL);
    const w15 = saved.averages['15m']!.weight!;
    assert.ok(Math.abs(w15 - -Math.expm1(-30_000 / (15 * MINUTE_MS))) < 1e-9, String(w15));
    assert.ok(saved.averages['24h']!.weight! < w15);
  });
});

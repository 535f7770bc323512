// The statistics delta and journal, pure: a target's statistics probed on an
// injected clock, saved as a checkpoint and later as what changed since, and
// read back; entries that cannot be a delta written whole; a delta never
// applied to another checkpoint.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSavedStats, type SavedStats } from '../../lib/stats/saved-stats.js';
import { readStatsDelta, writeStatsDelta } from '../../lib/stats/stats-delta.js';
import { TargetStats } from '../../lib/stats/target-stats.js';
import { VarintReader, VarintWriter } from '../../lib/state/varints.js';
import {
  checkpointDue,
  inParsedOrder,
  StatsJournal,
  StatsJournalError,
} from '../../lib/store/stats-journal.js';

const WALL0 = Date.UTC(2026, 11, 7);
const TAG = { seq: 4, sha1: 'ab'.repeat(20) };

/** A target probed once a second from `fromS` to `toS` on the monotonic clock, with RTTs around `rttMs`. */
function probe(stats: TargetStats, fromS: number, toS: number, rttMs: number): void {
  for (let s = fromS; s < toS; s++) {
    stats.recordSent();
    if (s % 17 === 5) stats.recordLost(s % 2 ? 'timeout' : 'unreachable');
    else stats.recordReply(rttMs * (1 + ((s * 7919) % 13) / 40), s * 1000);
  }
}

const saved = (stats: TargetStats, atS: number, inFlight = 0): SavedStats =>
  stats.toSaved(atS * 1000, WALL0 + atS * 1000, inFlight);

function roundTrip(base: SavedStats, now: SavedStats, savedAt: number): [SavedStats, number] {
  const w = new VarintWriter();
  assert.ok(writeStatsDelta(w, base, now, savedAt), 'a delta');
  const r = new VarintReader(w.bytes());
  const back = readStatsDelta(r, base, savedAt);
  assert.ok(r.done, 'read to its end');
  return [back, w.length];
}

/** `back` is `now` with the times and averages to the microsecond, the weights to 1/16,383. */
function assertClose(back: SavedStats, now: SavedStats): void {
  const exact = ['v', 'savedAt', 'sent', 'received', 'lost', 'inFlight', 'late', 'duplicates'];
  for (const k of exact) assert.equal(back[k as keyof SavedStats], now[k as keyof SavedStats], k);
  assert.deepEqual(back.errors, now.errors);
  assert.deepEqual(back.answers ?? {}, now.answers ?? {});
  assert.deepEqual(back.histogram.counts, now.histogram.counts);
  assert.equal(back.histogram.layout, now.histogram.layout);
  const near = (
    a: number | null | undefined,
    b: number | null | undefined,
    eps: number,
    what: string,
  ) =>
    a === null || b === null || a === undefined || b === undefined
      ? assert.equal(a, b, what)
      : assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} read back, ${b} saved`);
  near(back.minMs, now.minMs, 5e-4, 'minMs');
  near(back.maxMs, now.maxMs, 5e-4, 'maxMs');
  near(back.lastMs, now.lastMs, 5e-4, 'lastMs');
  near(back.sumMs, now.sumMs, 5e-4, 'sumMs');
  near(back.histogram.sumSeconds, now.histogram.sumSeconds, 1e-6, 'sumSeconds');
  for (const k of ['15m', '6h', '24h'] as const) {
    const a = back.averages[k];
    const b = now.averages[k];
    if (a === null || b === null) {
      assert.equal(a, b, k);
      continue;
    }
    near(a.value, b.value, 5e-4, `${k} value`);
    near(a.ageMs, b.ageMs, 5, `${k} age`);
    near(a.weight ?? 1, b.weight ?? 1, 1 / 16_383, `${k} weight`);
  }
}

describe('a statistics delta', () => {
  it('reads back what a target counted since its checkpoint, in a few tens of bytes', () => {
    for (const rttMs of [0.04, 23.5, 850]) {
      const stats = new TargetStats();
      probe(stats, 0, 60, rttMs);
      const base = saved(stats, 60);
      probe(stats, 60, 3_600, rttMs);
      stats.recordLate();
      stats.recordDuplicate();
      stats.recordReply(rttMs / 3, 3_600_000, 'tcp:refused');
      const now = saved(stats, 3_600, 1);
      const [back, bytes] = roundTrip(base, now, now.savedAt);
      assertClose(back, now);
      assert.ok(
        bytes < 100,
        `${bytes} bytes for an hour at ${rttMs} ms, not the ~700 of its entry`,
      );
      assert.ok(parseSavedStats(JSON.stringify(back)), 'a valid entry');
    }
  });

  it('writes only a mask for an entry that did not change, and reads the checkpoint back', () => {
    const stats = new TargetStats();
    probe(stats, 0, 100, 1.5);
    const base = saved(stats, 100);
    const [back, bytes] = roundTrip(base, base, base.savedAt);
    assert.equal(bytes, 1);
    assert.deepEqual(back, base);
  });

  it('carries averages that appear after the checkpoint, and a save time of its own', () => {
    const base = saved(new TargetStats(), 0);
    const stats = new TargetStats();
    probe(stats, 0, 30, 5);
    const now = saved(stats, 30);
    const [back] = roundTrip(base, now, now.savedAt - 12_345);
    assertClose(back, now);
  });

  it('reads back buckets side by side (a run) and far apart (gaps)', () => {
    for (const rtts of [
      [1, 1.1, 1.2, 1.4, 1.3],
      [0.02, 900, 0.02, 45],
    ]) {
      const stats = new TargetStats();
      probe(stats, 0, 10, 1);
      const base = saved(stats, 10);
      rtts.forEach((rtt, i) => {
        stats.recordSent();
        stats.recordReply(rtt, 10_000 + i * 1000);
      });
      const now = saved(stats, 15);
      const [back] = roundTrip(base, now, now.savedAt);
      assertClose(back, now);
    }
  });

  it('refuses what a delta cannot say: a counter gone down, a bucket or an average gone', () => {
    const stats = new TargetStats();
    probe(stats, 0, 100, 2);
    const base = saved(stats, 100);
    const cases: [string, (s: SavedStats) => void][] = [
      ['sent down', (s) => (s.sent -= 1)],
      ['a bucket gone', (s) => (s.histogram.counts = {})],
      ['an error reason gone', (s) => (s.errors = {})],
      ['an average gone', (s) => (s.averages['6h'] = null)],
      ['another layout', (s) => (s.histogram = { ...s.histogram, layout: 'other' })],
    ];
    for (const [what, change] of cases) {
      const now = structuredClone(base);
      change(now);
      const w = new VarintWriter();
      assert.equal(writeStatsDelta(w, base, now, now.savedAt), false, what);
      assert.equal(w.length, 0, `${what}: nothing written`);
    }
  });
});

describe('the statistics journal', () => {
  function entries(atS: number, targets: Map<string, TargetStats>): Map<string, string> {
    return new Map([...targets].map(([k, s]) => [k, JSON.stringify(saved(s, atS))]));
  }

  it('reads back every entry: changed, unchanged, forgotten, new and opaque, array-index keys too', () => {
    const targets = new Map<string, TargetStats>();
    for (const key of ['b@127.0.0.2', '7', 'a@127.0.0.1', 'gone@127.0.0.3', 'still@127.0.0.4'])
      targets.set(key, new TargetStats());
    for (const [i, s] of [...targets.values()].entries()) probe(s, 0, 50, i + 0.5);
    const checkpoint = entries(50, targets);
    checkpoint.set('opaque', 'not statistics');
    const journal = new StatsJournal(checkpoint, TAG);
    for (const [k, s] of targets) if (k !== 'still@127.0.0.4') probe(s, 50, 90, 3);
    targets.delete('gone@127.0.0.3');
    targets.set('new@127.0.0.5', new TargetStats());
    probe(targets.get('new@127.0.0.5')!, 80, 90, 1);
    const now = entries(90, targets);
    now.set('still@127.0.0.4', checkpoint.get('still@127.0.0.4')!);
    now.set('opaque', 'changed, still not statistics');
    const body = drain(journal.encode(now, WALL0 + 90_000));
    const objects = new Map([...targets].map(([k, s]) => [k, saved(s, 90)]));
    assert.deepEqual(
      drain(new StatsJournal(checkpoint, TAG).encode(now, WALL0 + 90_000, objects)),
      body,
      'the same delta from the objects the text was made from',
    );
    const back = drain(new StatsJournal(checkpoint, TAG).decode(body));
    assert.deepEqual([...back.keys()].sort(), [...now.keys()].sort());
    for (const [k, text] of now) {
      if (k === 'opaque' || k === 'new@127.0.0.5' || k === 'still@127.0.0.4')
        assert.equal(back.get(k), text, `${k}: whole`);
      else assertClose(parseSavedStats(back.get(k)!), parseSavedStats(text));
    }
    const whole = [...now].reduce((n, [k, v]) => n + k.length + v.length, 0);
    assert.ok(body.length < whole / 3, `${body.length} bytes for ${whole} of entries`);
  });

  it('refuses a delta read against another checkpoint, or cut short', () => {
    const stats = new TargetStats();
    probe(stats, 0, 20, 1);
    const checkpoint = new Map([['a@127.0.0.1', JSON.stringify(saved(stats, 20))]]);
    probe(stats, 20, 40, 1);
    const body = drain(
      new StatsJournal(checkpoint, TAG).encode(
        new Map([['a@127.0.0.1', JSON.stringify(saved(stats, 40))]]),
        WALL0,
      ),
    );
    const other = new Map([...checkpoint, ['b@127.0.0.2', checkpoint.get('a@127.0.0.1')!]]);
    assert.throws(() => drain(new StatsJournal(other, TAG).decode(body)), StatsJournalError);
    assert.throws(
      () => drain(new StatsJournal(checkpoint, TAG).decode(body.subarray(0, body.length - 3))),
      StatsJournalError,
    );
  });

  it('keeps the order JSON.parse gives a checkpoint back', () => {
    const keys = ['z', '10', 'a@b', '2', '01', '4294967295', '3'];
    const map = new Map(keys.map((k) => [k, k]));
    const parsed = Object.keys(JSON.parse(JSON.stringify(Object.fromEntries(map))) as object);
    assert.deepEqual([...inParsedOrder(map).keys()], parsed);
  });

  it('asks for a checkpoint after its interval, or once the delta is a share of one', () => {
    const policy = { everyMs: 600_000, fraction: 0.25 };
    assert.equal(checkpointDue(599_999, 100, 1_000, policy), false);
    assert.equal(checkpointDue(600_000, 100, 1_000, policy), true);
    assert.equal(checkpointDue(1_000, 251, 1_000, policy), true);
    assert.equal(checkpointDue(1_000, 250, 1_000, policy), false);
  });
});

function drain<T>(work: Generator<unknown, T>): T {
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
  }
}

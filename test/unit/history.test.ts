// The history ring and its roll-up from minutes to hours, driven by explicit
// minute numbers (the daemon's minute timer is the only clock), and its
// saved form through a keeper with an injected wall clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HistoryKeeper } from '../../daemon/history-keeper.js';
import { chunkExpired, parseChunk } from '../../lib/history/history-chunks.js';
import { PeriodRing } from '../../lib/history/period-ring.js';
import { quantile } from '../../lib/history/quantiles.js';
import {
  FULL_LIMITS,
  HOUR_SLOTS,
  MINUTE_SLOTS,
  RECENT_HOURS,
  RECENT_MINUTES,
  TargetHistory,
} from '../../lib/history/target-history.js';
import { BUCKET_BOUNDS_SECONDS, bucketIndex } from '../../lib/stats/histogram.js';
import { TargetStats } from '../../lib/stats/target-stats.js';
import type { ChunkRecords, HistoryStore } from '../../lib/store/stats-store.js';

const T0 = 28_000_020; // a minute number (2023), a multiple of 60: an hour starts here

function minuteOf(stats: TargetStats, minute: number, replies: number[], lost = 0): void {
  for (const rtt of replies) {
    stats.recordSent();
    stats.recordReply(rtt, 0);
  }
  for (let i = 0; i < lost; i++) {
    stats.recordSent();
    stats.recordLost(i % 2 ? 'send:ENETUNREACH' : undefined);
  }
  stats.history.closeMinute(minute);
}

/** Replies counted in the open minute, which the keeper closes. */
function probe(stats: TargetStats, replies: number[]): void {
  for (const rtt of replies) {
    stats.recordSent();
    stats.recordReply(rtt, 0);
  }
}

class MemoryHistoryStore implements HistoryStore {
  chunks = new Map<string, Map<string, number[][]>>();
  historyChunkNames(): Promise<string[]> {
    return Promise.resolve([...this.chunks.keys()]);
  }
  loadHistoryChunk(name: string, targets?: readonly string[]): Promise<Map<string, number[][]>> {
    const all = this.chunks.get(name) ?? new Map<string, number[][]>();
    return Promise.resolve(new Map([...all].filter(([key]) => !targets || targets.includes(key))));
  }
  appendHistory(chunks: ChunkRecords): Promise<string[]> {
    for (const [name, targets] of chunks) {
      let chunk = this.chunks.get(name);
      if (!chunk) this.chunks.set(name, (chunk = new Map<string, number[][]>()));
      for (const [key, records] of targets)
        chunk.set(key, [...(chunk.get(key) ?? []), ...records.map((r) => [...r])]);
    }
    return Promise.resolve([]);
  }
  forgetHistory(names: readonly string[]): Promise<void> {
    for (const k of names) this.chunks.delete(k);
    return Promise.resolve();
  }
}

describe('history', () => {
  it('records a minute: counters and sparse buckets', () => {
    const s = new TargetStats();
    minuteOf(s, T0, [10, 10, 20], 2);
    s.recordLate();
    s.recordDuplicate();
    s.history.closeMinute(T0 + 1);
    const [a, b] = [...s.history.records('minute', T0, T0 + 1)];
    assert.deepEqual(a!.counts, [5, 2, 0, 0, 1]);
    const i10 = bucketIndex(0.01);
    const i20 = bucketIndex(0.02);
    assert.deepEqual(a!.pairs, [i10, 2, i20, 1]);
    assert.deepEqual(b!.counts, [0, 0, 1, 1, 0]);
  });

  it('leaves minutes without probes out: a gap, not zeros', () => {
    const s = new TargetStats();
    minuteOf(s, T0, [1]);
    s.history.closeMinute(T0 + 1); // nothing counted
    minuteOf(s, T0 + 5, [1]);
    assert.deepEqual(
      [...s.history.records('minute', T0, T0 + 10)].map((r) => r.period),
      [T0, T0 + 5],
    );
  });

  it('rolls minutes up into hours when a later hour begins', () => {
    const s = new TargetStats();
    for (let m = 0; m < 60; m++) minuteOf(s, T0 + m, [5], m === 7 ? 1 : 0);
    assert.equal(s.history.hours.size, 0, 'the hour is still open');
    minuteOf(s, T0 + 61, [5]);
    const hours = [...s.history.records('hour', 0, Number.MAX_SAFE_INTEGER)];
    assert.equal(hours.length, 1);
    assert.equal(hours[0]!.period, T0 / 60);
    assert.deepEqual(hours[0]!.counts, [61, 1, 0, 0, 0]);
    assert.deepEqual(hours[0]!.pairs, [bucketIndex(0.005), 60]);
    const open = s.history.openRecord('hour', T0 / 60 + 1);
    assert.deepEqual(open?.counts, [1, 0, 0, 0, 0]);
  });

  it('keeps each minute its own buckets when it closes an hour (the drains share scratch arrays)', () => {
    const h = new TargetHistory();
    h.restoreMinute(T0 + 17, [60, 2, 0, 0, 0], [41, 58]);
    h.current.add(0);
    h.current.addBucket(40);
    const closed = h.closeMinute(T0 + 60 + 3);
    assert.deepEqual(closed, { period: T0 + 63, counts: [1, 0, 0, 0, 0], pairs: [40, 1] });
    assert.deepEqual(h.hours.get(T0 / 60)?.pairs, [41, 58]);
    assert.deepEqual(h.openRecord('hour', T0 / 60 + 1)?.pairs, [40, 1]);
  });

  it('holds the recent span in memory (2 h of minutes, a day of hours), dropping the oldest', () => {
    const h = new TargetHistory();
    const counts = [1, 0, 0, 0, 0];
    const total = 3 * 24 * 60 + 120;
    for (let m = 0; m < total; m++) h.addMinute(T0 + m, counts, [100], [1], 1);
    assert.equal(h.minutes.size, RECENT_MINUTES);
    assert.equal(h.minutes.lastPeriod, T0 + total - 1);
    assert.equal(h.hours.size, RECENT_HOURS);
    assert.equal(h.hours.lastPeriod, Math.floor((T0 + total - 1) / 60) - 1);
    assert.ok(h.heldBytes < 8 * 1024, `${h.heldBytes} bytes held`);
  });

  it('holds the whole default retention with FULL_LIMITS (what earlier releases held)', () => {
    const h = new TargetHistory(FULL_LIMITS);
    const total = HOUR_SLOTS * 60 + 120;
    for (let m = 0; m < total; m++) h.addMinute(T0 + m, [1, 0, 0, 0, 0], [100], [1], 1);
    assert.equal(h.minutes.size, MINUTE_SLOTS);
    assert.equal(h.hours.size, HOUR_SLOTS);
  });

  it('caps bytes: past the cap the oldest periods go early', () => {
    const ring = new PeriodRing({ maxSlots: 100, maxBytes: 256 });
    // 5 counter bytes, run length, lo, 21 counts (zeros between): 28 bytes a record.
    for (let p = 0; p < 50; p++) ring.add(p, [3, 0, 0, 0, 0], [10, 20, 30], [1, 1, 200], 3);
    assert.equal(ring.lastPeriod, 49);
    assert.ok(ring.size < 50 && ring.size >= 8, `${ring.size} periods held`);
    assert.equal(ring.get(0), undefined);
    assert.deepEqual(ring.get(49), {
      period: 49,
      counts: [3, 0, 0, 0, 0],
      pairs: [10, 1, 20, 1, 30, 200],
    });
    assert.ok(ring.heldBytes <= 128 * 4 + 256);
  });

  it('merges a period written twice (a restart within a minute)', () => {
    const ring = new PeriodRing({ maxSlots: 10, maxBytes: 1024 });
    ring.add(5, [2, 0, 0, 0, 0], [10, 12], [1, 300], 2);
    ring.add(5, [1, 1, 0, 0, 1], [11, 12], [1, 1], 2);
    assert.deepEqual(ring.get(5), {
      period: 5,
      counts: [3, 1, 0, 0, 1],
      pairs: [10, 1, 11, 1, 12, 301],
    });
  });

  it('saves chunks, forgets expired ones, and restores minutes, hours and the open hour', async () => {
    const store = new MemoryHistoryStore();
    let wallMs = (T0 + 90) * 60_000;
    const stats = new TargetStats();
    const keeper = new HistoryKeeper({
      store,
      live: () => [{ key: 'a@127.0.0.1', stats }],
      wallNowMs: () => wallMs,
      forgetAfterMs: 600_000,
      log: () => {},
    });
    store.chunks.set('m:1', new Map([['a@127.0.0.1', [[0, 1, 0, 0, 0, 0]]]])); // long expired
    store.chunks.set('h:bad', new Map());
    assert.equal(await keeper.load(), true);
    for (let m = 0; m < 90; m++) {
      for (let i = 0; i < 3; i++) stats.recordSent();
      stats.recordReply(2, 0);
      stats.recordReply(4, 0);
      stats.recordLost();
      await keeper.closeAndSave(T0 + m);
    }
    assert.equal(store.chunks.has('m:1'), false, 'expired chunk deleted');
    assert.equal(store.chunks.get(`m:${T0 / 60 + 1}`)!.get('a@127.0.0.1')?.length, 30);

    // A new daemon reads it all back.
    wallMs += 60_000;
    const again = new TargetStats();
    const keeper2 = new HistoryKeeper({
      store,
      live: () => [{ key: 'a@127.0.0.1', stats: again }],
      wallNowMs: () => wallMs,
      forgetAfterMs: 600_000,
      log: () => {},
    });
    assert.equal(await keeper2.load(), true);
    assert.equal(again.history.minutes.size, 90);
    assert.deepEqual(
      [...again.history.records('hour', 0, 1e12)].map((r) => r.counts),
      [[180, 60, 0, 0, 0]],
    );
    // The open hour (30 minutes) came back through the minutes.
    assert.deepEqual(again.history.openRecord('hour', T0 / 60 + 1)?.counts, [90, 30, 0, 0, 0]);
    assert.equal(chunkExpired({ resolution: 'minute', span: T0 / 60 }, wallMs / 1000), false);
  });

  it('saves the hour closed after a gap across midnight, and only day chunks that changed', async () => {
    const store = new MemoryHistoryStore();
    const stats = new TargetStats();
    let wallMs = 0;
    const keeper = new HistoryKeeper({
      store,
      live: () => [{ key: 'a@127.0.0.1', stats }],
      wallNowMs: () => wallMs,
      forgetAfterMs: 600_000,
      log: () => {},
    });
    const day = Math.floor(T0 / 60 / 24) + 1; // a day number (UTC days since the epoch)
    const lateEvening = (day * 24 - 1) * 60 + 30; // 23:30 UTC of the day before `day`
    wallMs = (lateEvening + 1) * 60_000;
    assert.equal(await keeper.load(), true);
    probe(stats, [5]);
    await keeper.closeAndSave(lateEvening);
    const writes: string[] = [];
    const save = store.appendHistory.bind(store);
    store.appendHistory = (chunks) => {
      writes.push(...chunks.keys());
      return save(chunks);
    };
    // Stopped from 23:31 to 01:30: the next minute is two hours and a day later.
    const nextMorning = (day * 24 + 1) * 60 + 30;
    wallMs = (nextMorning + 1) * 60_000;
    probe(stats, [6]);
    await keeper.closeAndSave(nextMorning);
    assert.ok(
      writes.includes(`h:${day - 1}`),
      `the day chunk of hour 23 written: ${writes.join()}`,
    );
    // Hour 23 is the 24th hour of the day before: offset 23.
    assert.equal(store.chunks.get(`h:${day - 1}`)!.get('a@127.0.0.1')?.[0]?.[0], 23);
    // The minutes after it close no hour: no day chunk is rewritten.
    writes.length = 0;
    probe(stats, [7]);
    await keeper.closeAndSave(nextMorning + 1);
    assert.deepEqual(writes, [`m:${Math.floor((nextMorning + 1) / 60)}`]);
  });

  it('appends a minute closed early by a stop and again after the restart: the parts add up', async () => {
    const store = new MemoryHistoryStore();
    const wallMs = (T0 + 10) * 60_000 + 20_000; // 20 s into minute T0 + 10
    const keeper = (stats: TargetStats): HistoryKeeper =>
      new HistoryKeeper({
        store,
        live: () => [{ key: 'a@127.0.0.1', stats }],
        wallNowMs: () => wallMs,
        forgetAfterMs: 600_000,
        log: () => {},
      });
    const first = new TargetStats();
    const k1 = keeper(first);
    assert.equal(await k1.load(), true);
    probe(first, [5, 5, 5]);
    await k1.closeAndSave(T0 + 10); // the stop: the open minute closed early
    const second = new TargetStats();
    const k2 = keeper(second);
    assert.equal(await k2.load(), true);
    probe(second, [5, 5]);
    await k2.closeAndSave(T0 + 10); // the same minute's end, after the restart
    const chunk = store.chunks.get(`m:${T0 / 60}`)!.get('a@127.0.0.1')!;
    assert.deepEqual(
      chunk.map((r) => r.slice(0, 2)),
      [
        [10, 3],
        [10, 2],
      ],
      'each save appends only what it closed',
    );
    const third = new TargetStats();
    assert.equal(await keeper(third).load(), true);
    assert.deepEqual(
      [...third.history.records('minute', T0, T0 + 20)].map((r) => r.counts[0]),
      [5],
    );
  });

  it('keeps minutes closed before the saved history arrived', () => {
    const saved = new TargetHistory();
    saved.addMinute(T0, [5, 0, 0, 0, 0], [], [], 0);
    const s = new TargetStats();
    minuteOf(s, T0 + 2, [1]);
    s.recordSent();
    s.adoptHistory(saved);
    assert.deepEqual(
      [...s.history.records('minute', T0, T0 + 5)].map((r) => [r.period, r.counts[0]]),
      [
        [T0, 5],
        [T0 + 2, 1],
      ],
    );
    assert.equal(s.history.openRecord('minute', T0 + 3)?.counts[0], 1);
  });

  it('reads a chunk record by record, skipping the bad ones', () => {
    const id = { resolution: 'minute' as const, span: 100 };
    const text = JSON.stringify({
      v: 1,
      targets: {
        'a@127.0.0.1': [
          [0, 3, 1, 0, 0, 1, 40, 1, 0, 1], // buckets 40 and 42
          [60, 1, 0, 0, 0, 0], // offset past the chunk
          [1, -1, 0, 0, 0, 0], // negative
          [2, 1, 0, 0, 0, 0, 180, 1, 1, 1, 1], // runs past the last bucket
          [3, 2, 0, 0, 0, 0],
        ],
        'b@127.0.0.2': 'nonsense',
      },
    });
    const { records, skipped } = parseChunk(id, text);
    assert.equal(skipped, 4);
    assert.deepEqual(records.get('a@127.0.0.1'), [
      { period: 6000, counts: [3, 1, 0, 0, 1], pairs: [40, 1, 42, 1] },
      { period: 6003, counts: [2, 0, 0, 0, 0], pairs: [] },
    ]);
    assert.throws(() => parseChunk(id, '{"v":2,"targets":{}}'), /unknown version 2/);
  });

  it('gives quantiles from sparse buckets', () => {
    const b = BUCKET_BOUNDS_SECONDS;
    const i = bucketIndex(0.01);
    assert.equal(quantile([], b, 0.5), undefined);
    const m = quantile([i, 10], b, 0.5)!;
    assert.ok(m > b[i - 1]! && m <= b[i]!);
    assert.equal(quantile([i, 1, i + 8, 1], b, 1), b[i + 8]);
  });
});

describe('history older than memory, read from the store', () => {
  const KEY = 'a@127.0.0.1';
  // Now: 30 days after T0; an hour of five days ago, a minute of ten hours ago saved in two parts.
  const nowMinute = T0 + 30 * 1440 + 30;
  const oldHour = Math.floor(nowMinute / 60) - 5 * 24;
  const oldMinute = (Math.floor(nowMinute / 60) - 10) * 60 + 7;

  class CountingStore extends MemoryHistoryStore {
    reads: string[] = [];
    override loadHistoryChunk(name: string, targets?: readonly string[]) {
      this.reads.push(name);
      return super.loadHistoryChunk(name, targets);
    }
  }

  async function keeperOnSeededStore(): Promise<{
    keeper: HistoryKeeper;
    store: CountingStore;
    stats: TargetStats;
  }> {
    const store = new CountingStore();
    store.chunks.set(
      `h:${Math.floor(oldHour / 24)}`,
      new Map([[KEY, [[oldHour % 24, 3600, 4, 0, 0, 0, 40, 3596]]]]),
    );
    store.chunks.set(
      `m:${Math.floor(oldMinute / 60)}`,
      new Map([
        [
          KEY,
          [
            [7, 30, 1, 0, 0, 0, 41, 29],
            [7, 30, 0, 0, 0, 0, 41, 25, 5],
          ],
        ],
      ]),
    );
    const stats = new TargetStats();
    const keeper = new HistoryKeeper({
      store,
      live: () => [{ key: KEY, stats }],
      wallNowMs: () => nowMinute * 60_000,
      forgetAfterMs: 600_000,
      log: () => {},
    });
    assert.equal(await keeper.load(), true);
    return { keeper, store, stats };
  }

  it('restores only the recent chunks at start, and the newest minute chunk (its hour was open)', async () => {
    const { store, stats } = await keeperOnSeededStore();
    assert.ok(!store.reads.includes(`h:${Math.floor(oldHour / 24)}`), store.reads.join(' '));
    assert.ok(store.reads.includes(`m:${Math.floor(oldMinute / 60)}`), store.reads.join(' '));
    assert.equal(stats.history.hours.size, 0, 'the old hour is not in memory');
  });

  it('serves older records from the store, parts of a period added up, and caches what it read', async () => {
    const { keeper, store, stats } = await keeperOnSeededStore();
    const hours = await keeper.records(
      KEY,
      stats.history,
      'hour',
      oldHour - 2,
      Math.floor(nowMinute / 60) - 1,
    );
    assert.deepEqual(hours[0], { period: oldHour, counts: [3600, 4, 0, 0, 0], pairs: [40, 3596] });
    const minutes = await keeper.records(
      KEY,
      stats.history,
      'minute',
      nowMinute - 48 * 60,
      nowMinute - 1,
    );
    assert.deepEqual(minutes, [
      { period: oldMinute, counts: [60, 1, 0, 0, 0], pairs: [41, 54, 42, 5] },
    ]);
    const reads = store.reads.length;
    await keeper.records(KEY, stats.history, 'hour', oldHour - 2, Math.floor(nowMinute / 60) - 1);
    assert.equal(store.reads.length, reads, 'read again from the cache');
  });

  it('reads nothing of a resolution kept 0 periods', async () => {
    const { store, stats } = await keeperOnSeededStore();
    const keeper = new HistoryKeeper({
      store,
      live: () => [{ key: KEY, stats }],
      wallNowMs: () => nowMinute * 60_000,
      forgetAfterMs: 600_000,
      retention: { minutes: 2880, hours: 0 },
      log: () => {},
    });
    assert.deepEqual(
      await keeper.records(KEY, stats.history, 'hour', oldHour - 2, oldHour + 2),
      [],
    );
  });
});

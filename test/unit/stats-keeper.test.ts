// StatsKeeper against an in-memory StatsStore that can be made to fail, with
// an injected monotonic clock and wall clock: no sleeps.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatsKeeper } from '../../daemon/stats-keeper.js';
import { parseSavedStats } from '../../lib/stats/saved-stats.js';
import { TargetStats } from '../../lib/stats/target-stats.js';
import type { StatsStore } from '../../lib/store/stats-store.js';
import { makeTarget, targetKey, withProbe } from '../../lib/target.js';
import { FakeClock } from '../support/fake-clock.js';

class MemoryStatsStore implements StatsStore {
  readonly entries = new Map<string, string>();
  failing = false;
  loads = 0;
  saves: { entries: Map<string, string>; forget: string[] }[] = [];

  loadStats(): Promise<Map<string, string>> {
    this.loads++;
    if (this.failing) return Promise.reject(new Error('store down'));
    return Promise.resolve(new Map(this.entries));
  }

  saveStats(entries: ReadonlyMap<string, string>, forget: readonly string[]): Promise<void> {
    if (this.failing) return Promise.reject(new Error('store down'));
    this.saves.push({ entries: new Map(entries), forget: [...forget] });
    for (const [k, v] of entries) this.entries.set(k, v);
    for (const k of forget) this.entries.delete(k);
    return Promise.resolve();
  }
}

const FORGET_AFTER_MS = 60_000;

function rig() {
  const store = new MemoryStatsStore();
  const clock = new FakeClock(1_000);
  const wall = { now: Date.UTC(2026, 0, 1) };
  const live = new Map<string, TargetStats>();
  /** Probes in flight per target, as the engine's ledgers would tell. */
  const inFlight = new Map<string, number>();
  const logs: string[] = [];
  const keeper = new StatsKeeper({
    store,
    live: () =>
      [...live].map(([key, stats]) => ({
        key,
        stats,
        ledger: { inFlight: inFlight.get(key) ?? 0 },
      })),
    nowMs: () => clock.nowMs(),
    wallNowMs: () => wall.now,
    forgetAfterMs: FORGET_AFTER_MS,
    log: (line) => logs.push(line),
  });
  const advance = (ms: number): void => {
    clock.advance(ms);
    wall.now += ms;
  };
  return { store, clock, wall, live, inFlight, logs, keeper, advance };
}

/** Saved text of a target that sent `sent` probes and got as many replies of `rttMs`. */
function savedText(sent: number, rttMs = 0.5): string {
  const s = new TargetStats();
  for (let i = 0; i < sent; i++) {
    s.recordSent();
    s.recordReply(rttMs, i * 1000);
  }
  return JSON.stringify(s.toSaved(sent * 1000, Date.UTC(2026, 0, 1)));
}

function counted(sent: number): TargetStats {
  const s = new TargetStats();
  for (let i = 0; i < sent; i++) s.recordSent();
  return s;
}

describe('StatsKeeper', () => {
  it('restores an ICMP target by the key it always had, and a TCP one of the same host apart', async () => {
    const { store, keeper } = rig();
    const icmp = makeTarget('web', '192.0.2.1');
    const tcp = withProbe(icmp, { kind: 'tcp', port: 443 });
    // Saved before probe kinds existed: the key is name@address.
    store.entries.set('web@192.0.2.1', savedText(10));
    const refused = new TargetStats();
    refused.recordSent();
    refused.recordReply(0.2, 0, 'tcp:refused');
    store.entries.set(targetKey(tcp), JSON.stringify(refused.toSaved(0, Date.UTC(2026, 0, 1))));
    await keeper.load();
    assert.equal(targetKey(icmp), 'web@192.0.2.1');
    assert.equal(targetKey(tcp), 'web@192.0.2.1?probe=tcp&port=443');
    assert.equal(keeper.take(targetKey(icmp))?.sent, 10);
    assert.deepEqual(keeper.take(targetKey(tcp))?.answers, { 'tcp:refused': 1 });
  });

  it('counts the statistics handed to targets that arrive after the load, in plain English', async () => {
    const { store, live, logs, keeper } = rig();
    for (let i = 1; i <= 6; i++) store.entries.set(`t${i}@127.0.0.${i}`, savedText(10 * i));
    // A start: the saved statistics are read before the first list of targets.
    assert.equal(await keeper.load(), true);
    for (let i = 1; i <= 5; i++) {
      const key = `t${i}@127.0.0.${i}`;
      assert.ok(keeper.take(key), key);
      live.set(key, counted(0));
    }
    assert.equal(
      keeper.restoredSummary(),
      'restored the saved statistics of 5 targets; keeping those of 1 other target, ' +
        'not in the list, for --forget-after in case they are added again',
    );
    assert.ok(!logs.some((l) => /statistics of 0 targets/.test(l)), logs.join('\n'));
    assert.ok(keeper.take('t6@127.0.0.6'));
    assert.equal(keeper.restoredSummary(), 'restored the saved statistics of 6 targets');
  });

  it('counts targets already probed at the load, and says when there was nothing', async () => {
    const first = rig();
    first.store.entries.set('lo@127.0.0.1', savedText(10));
    first.live.set('lo@127.0.0.1', counted(1));
    await first.keeper.load();
    assert.equal(first.keeper.restoredSummary(), 'restored the saved statistics of 1 target');
    const empty = rig();
    await empty.keeper.load();
    assert.equal(empty.keeper.restoredSummary(), 'no saved statistics to restore');
  });

  it('writes nothing while the saved statistics cannot be read, then restores them', async () => {
    const { store, live, logs, keeper } = rig();
    store.entries.set('lo@127.0.0.1', savedText(100));
    store.failing = true;
    live.set('lo@127.0.0.1', counted(3));
    assert.equal(await keeper.load(), false);
    assert.equal(keeper.loaded, false);
    await keeper.save().catch(() => {});
    assert.equal(store.saves.length, 0, 'a save before a successful load would overwrite history');
    assert.equal(live.get('lo@127.0.0.1')!.sent, 3);
    assert.ok(logs.some((l) => l.includes('cannot read saved statistics yet')));

    store.failing = false;
    await keeper.save();
    assert.equal(keeper.loaded, true);
    assert.equal(live.get('lo@127.0.0.1')!.sent, 103, 'saved counters merged into the live target');
    assert.equal(live.get('lo@127.0.0.1')!.received, 100);
    assert.equal(store.saves.length, 1);
    assert.equal(parseSavedStats(store.entries.get('lo@127.0.0.1')!).sent, 103);
  });

  it('reads the store once: a second load neither reads nor merges again', async () => {
    const { store, live, keeper } = rig();
    store.entries.set('lo@127.0.0.1', savedText(10));
    live.set('lo@127.0.0.1', counted(1));
    assert.equal(await keeper.load(), true);
    assert.equal(await keeper.load(), true);
    await keeper.save();
    assert.equal(store.loads, 1);
    assert.equal(live.get('lo@127.0.0.1')!.sent, 11);
  });

  it('restores once when two loads run at the same time', async () => {
    const { store, live, keeper } = rig();
    store.entries.set('lo@127.0.0.1', savedText(10));
    live.set('lo@127.0.0.1', counted(1));
    await Promise.all([keeper.load(), keeper.load()]);
    assert.equal(live.get('lo@127.0.0.1')!.sent, 11, 'saved counters merged twice');
  });

  it('saves probes in flight and counts them as interrupted after a restart, balanced', async () => {
    const first = rig();
    const stats = counted(10);
    for (let i = 0; i < 6; i++) stats.recordReply(0.5, i);
    stats.recordLost();
    first.live.set('lo@127.0.0.1', stats);
    first.inFlight.set('lo@127.0.0.1', 3); // 10 sent = 6 received + 1 lost + 3 in flight
    await first.keeper.save();
    // A kill -9 here: the next run starts from what was saved.
    const second = rig();
    second.store.entries.set('lo@127.0.0.1', first.store.entries.get('lo@127.0.0.1')!);
    const restored = new TargetStats();
    second.live.set('lo@127.0.0.1', restored);
    await second.keeper.load();
    assert.equal(restored.sent, 10);
    assert.equal(restored.received + restored.lost, 10, 'nothing left without an outcome');
    assert.equal(restored.lost, 4);
    assert.equal(restored.errors.get('interrupted'), 3);
  });

  it('hands a held entry to the target that comes back, exactly once', async () => {
    const { store, keeper } = rig();
    store.entries.set('gone@127.0.0.2', savedText(42));
    await keeper.load();
    assert.equal(keeper.take('gone@127.0.0.2')?.sent, 42);
    assert.equal(keeper.take('gone@127.0.0.2'), undefined);
    assert.equal(keeper.take('never@127.0.0.3'), undefined);
  });

  it('keeps a released target during the grace period, then forgets it in the store', async () => {
    const { store, live, keeper, advance } = rig();
    await keeper.load();
    const stats = counted(7);
    live.set('lo@127.0.0.1', stats);
    await keeper.save();
    live.delete('lo@127.0.0.1');
    keeper.release('lo@127.0.0.1', stats);

    advance(FORGET_AFTER_MS);
    await keeper.save();
    assert.equal(parseSavedStats(store.entries.get('lo@127.0.0.1')!).sent, 7, 'kept in grace');
    assert.deepEqual(store.saves.at(-1)!.forget, []);

    advance(1);
    await keeper.save();
    assert.equal(store.entries.has('lo@127.0.0.1'), false, 'forgotten after forgetAfterMs');
    assert.deepEqual(store.saves.at(-1)!.forget, ['lo@127.0.0.1']);
    assert.equal(keeper.take('lo@127.0.0.1'), undefined);

    await keeper.save();
    assert.deepEqual(store.saves.at(-1)!.forget, [], 'a forget is sent once');
  });

  it('hands back a released target re-added within the grace period and does not forget it', async () => {
    const { store, live, keeper, advance } = rig();
    await keeper.load();
    keeper.release('lo@127.0.0.1', counted(5));
    advance(1000);
    const saved = keeper.take('lo@127.0.0.1');
    assert.equal(saved?.sent, 5);
    const back = new TargetStats();
    back.mergeSaved(saved, 0, 0);
    live.set('lo@127.0.0.1', back);
    advance(FORGET_AFTER_MS * 2);
    await keeper.save();
    assert.equal(parseSavedStats(store.entries.get('lo@127.0.0.1')!).sent, 5);
    assert.deepEqual(store.saves.at(-1)!.forget, []);
  });

  it('forgets entries of targets that never came back after a restart', async () => {
    const { store, keeper, advance } = rig();
    store.entries.set('gone@127.0.0.2', savedText(3));
    await keeper.load();
    await keeper.save();
    assert.ok(store.entries.has('gone@127.0.0.2'), 'held during grace');
    advance(FORGET_AFTER_MS + 1);
    await keeper.save();
    assert.equal(store.entries.has('gone@127.0.0.2'), false);
  });

  it('skips a garbage entry with one log line and restores the others', async () => {
    const { store, live, logs, keeper } = rig();
    store.entries.set('bad@127.0.0.9', '{"v":1,"sent":-4}');
    store.entries.set('lo@127.0.0.1', savedText(20));
    store.entries.set('six@::1', savedText(30));
    live.set('lo@127.0.0.1', counted(0));
    live.set('six@::1', counted(1));
    assert.equal(await keeper.load(), true);
    const skipped = logs.filter((l) => l.includes('skipping saved statistics'));
    assert.equal(skipped.length, 1, logs.join('\n'));
    assert.match(skipped[0]!, /"bad@127\.0\.0\.9".*sent/);
    assert.equal(live.get('lo@127.0.0.1')!.sent, 20);
    assert.equal(live.get('six@::1')!.sent, 31);
    assert.equal(keeper.take('bad@127.0.0.9'), undefined);
  });

  it('retries forgets after a failed save', async () => {
    const { store, keeper, advance } = rig();
    await keeper.load();
    keeper.release('lo@127.0.0.1', counted(2));
    await keeper.save();
    assert.ok(store.entries.has('lo@127.0.0.1'));
    advance(FORGET_AFTER_MS + 1);
    store.failing = true;
    await assert.rejects(keeper.save(), /store down/);
    assert.ok(store.entries.has('lo@127.0.0.1'));
    store.failing = false;
    await keeper.save();
    assert.equal(store.entries.has('lo@127.0.0.1'), false, 'the forget was retried');
  });

  it('chains a save asked for during one right after it, one for all such calls', async () => {
    const { store, live, keeper } = rig();
    await keeper.load();
    live.set('lo@127.0.0.1', counted(1));
    const a = keeper.save();
    const b = keeper.save();
    const c = keeper.save();
    assert.notEqual(a, b, 'the running save serialised before b was asked for');
    assert.equal(b, c, 'calls during one save share the follow-up');
    await Promise.all([a, b, c]);
    assert.equal(store.saves.length, 2);
    await keeper.save();
    assert.equal(store.saves.length, 3, 'a save after both runs again');
  });

  it('writes a target handed over during a running save in the save chained after it', async () => {
    // The group's handover: a periodic save is in the store (slow), a
    // target is given up and its entry asked to be saved at once. It must
    // be written when that save ends, not a whole interval later.
    const store = new GatedStatsStore();
    const clock = new FakeClock(1_000);
    const live = new Map<string, TargetStats>([['a@127.0.0.1', counted(5)]]);
    const keeper = new StatsKeeper({
      store,
      live: () => [...live].map(([key, stats]) => ({ key, stats, ledger: { inFlight: 0 } })),
      nowMs: () => clock.nowMs(),
      wallNowMs: () => Date.UTC(2026, 0, 1),
      forgetAfterMs: FORGET_AFTER_MS,
      log: () => {},
    });
    await keeper.load();
    const periodic = keeper.save();
    await store.arrived(1); // serialised and in the store, not answered yet
    const handed = live.get('a@127.0.0.1')!;
    live.delete('a@127.0.0.1');
    for (let i = 0; i < 3; i++) handed.recordSent(); // counted after the periodic save read it
    keeper.release('a@127.0.0.1', handed);
    keeper.close(); // no timer of its own: the handover asks for the save itself below
    const handover = keeper.save();
    store.open();
    await Promise.all([periodic, handover]);
    const written = store.entries.get('a@127.0.0.1');
    assert.ok(written, 'the handed-over entry was written');
    assert.equal(
      parseSavedStats(written).sent,
      8,
      'with the counts made after the running save read them',
    );
    assert.equal(store.writes, 2);
  });
});

/** A store whose saves wait until the test opens it, so a save can be caught in flight. */
class GatedStatsStore implements StatsStore {
  readonly entries = new Map<string, string>();
  writes = 0;
  #gate: Promise<void>;
  #open: () => void = () => {};
  #arrivals = 0;
  #waiters: { n: number; resolve: () => void }[] = [];

  constructor() {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  loadStats(): Promise<Map<string, string>> {
    return Promise.resolve(new Map<string, string>());
  }

  async saveStats(entries: ReadonlyMap<string, string>, forget: readonly string[]): Promise<void> {
    const copy = new Map(entries);
    this.#arrivals++;
    for (const w of this.#waiters.filter((w) => w.n <= this.#arrivals)) w.resolve();
    await this.#gate;
    this.writes++;
    for (const [k, v] of copy) this.entries.set(k, v);
    for (const k of forget) this.entries.delete(k);
  }

  /** Resolves once `n` saves have reached the store. */
  arrived(n: number): Promise<void> {
    if (this.#arrivals >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  open(): void {
    this.#open();
  }
}

// The embedded store's statistics as checkpoints and deltas, in a temporary
// directory with an injected clock: between checkpoints a save rewrites only
// the small delta file, in place; a reopen without close (what a kill -9
// leaves) reads checkpoint + delta; a torn delta copy is set aside and the
// other read; a close leaves everything in stats.json, whole; a directory of
// the release before deltas loads unchanged.

import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { parseSavedStats } from '../../lib/stats/saved-stats.js';
import { TargetStats } from '../../lib/stats/target-stats.js';
import { EmbeddedStore, STATS_DELTA_FILE, STATS_FILE } from '../../lib/store/embedded-store.js';

const WALL0 = Date.UTC(2026, 11, 7);
const TARGETS = 50;
const POLICY = { everyMs: 600_000, fraction: 0.25 };
const OLD_RELEASE = path.join(import.meta.dirname, '../../../test/fixtures/state-3958308');

/** TARGETS loopback-like targets probed once a second, saved each `save(t)` as the keeper does. */
function fleet() {
  const targets = Array.from({ length: TARGETS }, () => new TargetStats());
  let at = 0;
  return {
    /** Probes up to second `toS` and returns every entry's text. */
    entries(toS: number): Map<string, string> {
      for (; at < toS; at++)
        targets.forEach((s, i) => {
          s.recordSent();
          s.recordReply(0.04 + (i % 7) * 0.01 + (at % 5) * 0.002, at * 1000);
        });
      return new Map(
        targets.map((s, i) => [
          `t${i}@127.0.0.${i + 1}`,
          JSON.stringify(s.toSaved(toS * 1000, WALL0 + toS * 1000)),
        ]),
      );
    },
  };
}

function sentOf(stats: Map<string, string>): number[] {
  return [...stats.values()].map((t) => parseSavedStats(t).sent);
}

describe('EmbeddedStore statistics: checkpoints and deltas', () => {
  let dir: string;
  let wall: number;
  const opts = () => ({ nowMs: () => wall, checkpoints: POLICY });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netping-deltas-'));
    wall = WALL0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rewrites only a small delta between checkpoints, and reads it back without a close', async () => {
    const targets = fleet();
    const store = await EmbeddedStore.open(dir, undefined, opts());
    await store.saveStats(targets.entries(5), []); // the first save is a checkpoint
    const checkpoint = await readFile(path.join(dir, STATS_FILE), 'utf8');
    let last = new Map<string, string>();
    for (let s = 10; s <= 300; s += 5) {
      wall = WALL0 + s * 1000;
      last = targets.entries(s);
      await store.saveStats(last, []);
    }
    assert.equal(await readFile(path.join(dir, STATS_FILE), 'utf8'), checkpoint, 'untouched');
    const delta = (await stat(path.join(dir, STATS_DELTA_FILE))).size;
    assert.ok(
      delta * 10 < checkpoint.length,
      `a delta of ${delta} bytes beside a checkpoint of ${checkpoint.length}`,
    );
    // No close: what a kill -9 leaves.
    const again = await EmbeddedStore.open(dir, undefined, opts());
    assert.deepEqual(sentOf(await again.loadStats()), sentOf(last), 'the last save, every counter');

    // The checkpoint's time is its file's: the next save past the interval is one.
    wall = (await stat(path.join(dir, STATS_FILE))).mtimeMs + POLICY.everyMs;
    last = targets.entries(700);
    await again.saveStats(last, []);
    const copies = await Promise.all(
      [STATS_FILE, `${STATS_FILE}.b`].map(
        async (f) =>
          JSON.parse(await readFile(path.join(dir, f), 'utf8')) as {
            seq: number;
            stats: Record<string, string>;
          },
      ),
    );
    const newer = copies.sort((a, b) => b.seq - a.seq)[0]!;
    assert.deepEqual(new Map(Object.entries(newer.stats)), last, 'a checkpoint, whole');
    assert.deepEqual(
      await (await EmbeddedStore.open(dir, undefined, opts())).loadStats(),
      last,
      'the checkpoint alone: the delta before it is not applied to it',
    );
  });

  it('sets a torn delta copy aside with one log line and reads the other, one save older', async () => {
    const targets = fleet();
    const store = await EmbeddedStore.open(dir, undefined, opts());
    await store.saveStats(targets.entries(5), []);
    await store.saveStats(targets.entries(10), []); // delta seq 1: stats.delta.b
    const older = targets.entries(15);
    await store.saveStats(older, []); // seq 2: stats.delta
    await store.saveStats(targets.entries(20), []); // seq 3: stats.delta.b
    const newest = path.join(dir, `${STATS_DELTA_FILE}.b`);
    const bytes = await readFile(newest);
    await writeFile(newest, bytes.subarray(0, bytes.length - 30)); // cut short
    const logs: string[] = [];
    const again = await EmbeddedStore.open(dir, (l) => logs.push(l), opts());
    assert.deepEqual(sentOf(await again.loadStats()), sentOf(older));
    assert.equal(logs.length, 1, logs.join('\n'));
    assert.match(logs[0]!, /stats\.delta\.b is damaged \(cut short.*moved aside/);
    const aside = (await readdir(dir)).filter((n) =>
      n.startsWith(`${STATS_DELTA_FILE}.b.corrupt-`),
    );
    assert.equal(aside.length, 1, 'kept under another name');
    // A byte changed in the middle: its checksum no longer matches.
    const other = path.join(dir, STATS_DELTA_FILE);
    const flipped = await readFile(other);
    const middle = flipped.length >> 1;
    flipped[middle] = flipped[middle]! ^ 0xff;
    await writeFile(other, flipped);
    const third = await EmbeddedStore.open(dir, (l) => logs.push(l), opts());
    assert.equal(logs.length, 2);
    assert.match(logs[1]!, /checksum does not match/);
    assert.deepEqual(
      sentOf(await third.loadStats()),
      Array(TARGETS).fill(5),
      'the checkpoint alone',
    );
  });

  it('leaves everything in stats.json, whole, after a close: what an older netping reads', async () => {
    const targets = fleet();
    const store = await EmbeddedStore.open(dir, undefined, opts());
    let last = new Map<string, string>();
    for (let s = 5; s <= 60; s += 5) await store.saveStats((last = targets.entries(s)), []);
    await store.close();
    const file = JSON.parse(await readFile(path.join(dir, STATS_FILE), 'utf8')) as {
      version: number;
      stats: Record<string, string>;
    };
    assert.equal(file.version, 1);
    assert.deepEqual(new Map(Object.entries(file.stats)), last, 'every entry as saved last');
    assert.deepEqual(await (await EmbeddedStore.open(dir, undefined, opts())).loadStats(), last);
  });

  it('loads a state directory of the release before deltas unchanged, and goes on from it', async () => {
    await cp(OLD_RELEASE, dir, { recursive: true });
    await rm(path.join(dir, 'README.md'));
    const logs: string[] = [];
    const store = await EmbeddedStore.open(dir, (l) => logs.push(l), opts());
    assert.deepEqual(await store.members(), ['lo@127.0.0.1', 'six@::1']);
    const loaded = await store.loadStats();
    assert.deepEqual(sentOf(loaded), [15, 15], 'the newest copy, stats.json');
    const old = JSON.parse(await readFile(path.join(OLD_RELEASE, STATS_FILE), 'utf8')) as {
      stats: Record<string, string>;
    };
    assert.deepEqual(loaded, new Map(Object.entries(old.stats)), 'exactly as written');
    assert.deepEqual(logs, []);
    const next = new Map(
      [...loaded].map(([k, t]) => {
        const s = parseSavedStats(t);
        return [k, JSON.stringify({ ...s, sent: s.sent + 5, received: s.received + 5 })];
      }),
    );
    wall += 5_000;
    await store.saveStats(next, []); // a delta of the old checkpoint
    assert.deepEqual(
      sentOf(await (await EmbeddedStore.open(dir, undefined, opts())).loadStats()),
      [20, 20],
    );
  });
});

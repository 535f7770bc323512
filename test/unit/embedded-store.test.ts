// EmbeddedStore in a temporary directory: what it writes survives a reopen,
// its files are replaced atomically, and a damaged file stops it loudly.

import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { NetpingError } from '../../lib/errors.js';
import {
  EmbeddedStore,
  EmbeddedStoreError,
  STATS_FILE,
  TARGETS_FILE,
} from '../../lib/store/embedded-store.js';

describe('EmbeddedStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netping-embedded-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts empty in an empty directory and writes nothing until asked', async () => {
    const store = await EmbeddedStore.open(dir);
    assert.deepEqual(await store.members(), []);
    assert.deepEqual(await store.loadStats(), new Map());
    assert.equal(store.up, true);
    assert.equal(store.location, dir);
    await store.close();
    assert.deepEqual(await readdir(dir), []);
  });

  it('keeps added and removed targets across a reopen', async () => {
    const store = await EmbeddedStore.open(dir);
    assert.equal(await store.add(['a@127.0.0.1', 'b@::1', 'c@127.0.0.3']), 3);
    assert.equal(await store.add(['a@127.0.0.1', 'd@127.0.0.4']), 1);
    assert.equal(await store.remove(['c@127.0.0.3', 'nope@127.0.0.9']), 1);
    assert.equal(await store.remove(['nope@127.0.0.9']), 0);
    await store.close();
    const again = await EmbeddedStore.open(dir);
    assert.deepEqual((await again.members()).sort(), ['a@127.0.0.1', 'b@::1', 'd@127.0.0.4']);
    const file = JSON.parse(await readFile(path.join(dir, TARGETS_FILE), 'utf8')) as unknown;
    assert.deepEqual(file, { version: 1, members: ['a@127.0.0.1', 'b@::1', 'd@127.0.0.4'] });
    assert.equal((await stat(path.join(dir, TARGETS_FILE))).mode & 0o777, 0o600);
  });

  it('keeps members with hostile text exactly', async () => {
    const hostile = ['q"uote\\back€@127.0.0.1', 'line\nbreak@::1', '\u2028@127.0.0.2'];
    const store = await EmbeddedStore.open(dir);
    await store.add(hostile);
    const again = await EmbeddedStore.open(dir);
    assert.deepEqual(await again.members(), hostile);
  });

  it('keeps statistics across a reopen, replacing and forgetting entries', async () => {
    const store = await EmbeddedStore.open(dir);
    await store.saveStats(
      new Map([
        ['a@127.0.0.1', '{"v":1,"sent":1}'],
        ['b@::1', 'text'],
      ]),
      [],
    );
    await store.saveStats(new Map([['a@127.0.0.1', '{"v":1,"sent":2}']]), ['b@::1', 'never']);
    await store.close();
    const again = await EmbeddedStore.open(dir);
    assert.deepEqual(await again.loadStats(), new Map([['a@127.0.0.1', '{"v":1,"sent":2}']]));
    const loaded = await again.loadStats();
    loaded.clear();
    assert.equal((await again.loadStats()).size, 1, 'loadStats hands out a copy');
  });

  it('calls watchers when it is watched and after each change, not after a no-op', async () => {
    const store = await EmbeddedStore.open(dir);
    let calls = 0;
    await store.watch(() => calls++);
    assert.equal(calls, 1, 'once at subscription, as the TargetStore contract says');
    await store.add(['a@127.0.0.1']);
    assert.equal(calls, 2);
    await store.add(['a@127.0.0.1']);
    await store.remove(['zzz@127.0.0.1']);
    assert.equal(calls, 2);
    await store.remove(['a@127.0.0.1']);
    assert.equal(calls, 3);
    await store.saveStats(new Map([['a@127.0.0.1', 'x']]), []);
    assert.equal(calls, 3, 'statistics are not target changes');
  });

  it('shows a change to a watcher that reads the members when called', async () => {
    const store = await EmbeddedStore.open(dir);
    const seen: string[][] = [];
    await store.watch(() => void store.members().then((m) => seen.push(m)));
    await store.add(['a@127.0.0.1']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen.at(-1), ['a@127.0.0.1']);
  });

  it('refuses a corrupted targets.json with EmbeddedStoreError naming the file', async () => {
    const file = path.join(dir, TARGETS_FILE);
    await writeFile(file, '{"version":1,"members":["a@127.0.0.1"');
    await assert.rejects(EmbeddedStore.open(dir), (err: unknown) => {
      assert.ok(err instanceof EmbeddedStoreError, String(err));
      assert.ok(err instanceof NetpingError);
      assert.ok(err.message.includes(file), err.message);
      return true;
    });
  });

  for (const [what, text] of [
    ['another version', '{"version":2,"members":[]}'],
    ['no version', '{"members":["a@127.0.0.1"]}'],
    ['an array', '["a@127.0.0.1"]'],
  ] as const) {
    it(`refuses a targets.json with ${what}`, async () => {
      const file = path.join(dir, TARGETS_FILE);
      await writeFile(file, text);
      await assert.rejects(EmbeddedStore.open(dir), (err: unknown) => {
        assert.ok(err instanceof EmbeddedStoreError, String(err));
        assert.ok(err.message.includes(file), err.message);
        return true;
      });
    });
  }

  it('refuses a corrupted stats.json too, naming it', async () => {
    const file = path.join(dir, STATS_FILE);
    await writeFile(file, 'garbage');
    await assert.rejects(EmbeddedStore.open(dir), (err: unknown) => {
      assert.ok(err instanceof EmbeddedStoreError);
      assert.ok(err.message.includes(file), err.message);
      return true;
    });
  });

  it('writes atomically: only the two state files remain, each whole', async () => {
    const store = await EmbeddedStore.open(dir);
    for (let i = 0; i < 20; i++) {
      await store.add([`t${i}@127.0.0.1`]);
      await store.saveStats(new Map([[`t${i}@127.0.0.1`, 'x'.repeat(1000)]]), []);
    }
    await store.close();
    assert.deepEqual((await readdir(dir)).sort(), [STATS_FILE, TARGETS_FILE].sort());
    const again = await EmbeddedStore.open(dir);
    assert.equal((await again.members()).length, 20);
    assert.equal((await again.loadStats()).size, 20);
  });

  it('loses no target when two adds and a remove run at the same time', async () => {
    const store = await EmbeddedStore.open(dir);
    await store.add(['old@127.0.0.9']);
    const results = await Promise.all([
      store.add(['a@127.0.0.1']),
      store.add(['b@127.0.0.2']),
      store.remove(['old@127.0.0.9']),
    ]);
    assert.deepEqual(results, [1, 1, 1]);
    assert.deepEqual((await store.members()).sort(), ['a@127.0.0.1', 'b@127.0.0.2']);
    await store.close();
    const again = await EmbeddedStore.open(dir);
    assert.deepEqual((await again.members()).sort(), ['a@127.0.0.1', 'b@127.0.0.2']);
    assert.deepEqual((await readdir(dir)).sort(), [TARGETS_FILE]);
  });

  it('leaves its members unchanged and notifies nobody when a write fails', async () => {
    const store = await EmbeddedStore.open(dir);
    await store.add(['a@127.0.0.1']);
    let calls = 0;
    await store.watch(() => calls++);
    await rm(dir, { recursive: true, force: true }); // the directory is gone: writes fail
    await assert.rejects(store.add(['b@127.0.0.2']), /ENOENT/);
    assert.deepEqual(await store.members(), ['a@127.0.0.1']);
    assert.equal(calls, 1);
    await store.close(); // a failed write does not poison close()
  });
});

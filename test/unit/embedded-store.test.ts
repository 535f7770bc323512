// EmbeddedStore in a temporary directory: what it writes survives a reopen,
// its files are replaced atomically, and a damaged file is set aside, not fatal.

import assert from 'node:assert/strict';
import {
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { NetpingError } from '../../lib/errors.js';
import {
  EmbeddedStore,
  EmbeddedStoreError,
  HISTORY_DIR,
  STATS_FILE,
  TARGETS_FILE,
} from '../../lib/store/embedded-store.js';
import { removeStaleTempFiles, writeFileAtomic } from '../../lib/state/json-file.js';

/** Every save a checkpoint, the two copies of stats.json in turn (no deltas): what these tests look at. */
const EVERY_SAVE = { everyMs: 0, fraction: 0 };

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

  for (const [file, text, problem] of [
    [TARGETS_FILE, '{"version":1,"members":["a@127.0.0.1"', 'not JSON'],
    [TARGETS_FILE, '{"version":0,"members":[]}', 'unknown version 0'],
    [TARGETS_FILE, '{"members":["a@127.0.0.1"]}', 'not a netping file'],
    [TARGETS_FILE, '["a@127.0.0.1"]', 'not a netping file'],
    [TARGETS_FILE, '{"version":1,"members":"a@127.0.0.1"}', 'no valid "members"'],
    [STATS_FILE, 'garbage', 'not JSON'],
    [STATS_FILE, '', 'not JSON'],
    [STATS_FILE, '{"version":1,"stats":[]}', 'no valid "stats"'],
  ] as const) {
    it(`sets a damaged ${file} aside (${problem}), logs one line and starts without it`, async () => {
      const full = path.join(dir, file);
      await writeFile(full, text);
      const logs: string[] = [];
      const store = await EmbeddedStore.open(dir, (l) => logs.push(l));
      assert.deepEqual(await store.members(), []);
      assert.deepEqual(await store.loadStats(), new Map());
      const aside = (await readdir(dir)).filter((n) => n.startsWith(`${file}.corrupt-`));
      assert.equal(aside.length, 1, 'the damaged file is kept, under another name');
      assert.equal(await readFile(path.join(dir, aside[0]!), 'utf8'), text, 'unchanged');
      assert.equal(logs.length, 1);
      assert.ok(logs[0]!.includes(full) && logs[0]!.includes(problem), logs[0]);
      await store.add(['b@127.0.0.2']);
      assert.deepEqual(await (await EmbeddedStore.open(dir)).members(), ['b@127.0.0.2']);
    });
  }

  it('refuses a targets.json of a newer format with EmbeddedStoreError, and leaves it', async () => {
    const file = path.join(dir, TARGETS_FILE);
    await writeFile(file, '{"version":2,"members":[]}');
    await assert.rejects(EmbeddedStore.open(dir), (err: unknown) => {
      assert.ok(err instanceof EmbeddedStoreError, String(err));
      assert.ok(err instanceof NetpingError);
      assert.ok(err.message.includes(file) && err.message.includes('newer'), err.message);
      return true;
    });
    assert.equal(await readFile(file, 'utf8'), '{"version":2,"members":[]}');
  });

  it('writes whole: only the state files remain, the statistics two copies rewritten in place', async () => {
    const store = await EmbeddedStore.open(dir, undefined, { checkpoints: EVERY_SAVE });
    const inodes = new Set<number>();
    for (let i = 0; i < 20; i++) {
      await store.add([`t${i}@127.0.0.1`]);
      await store.saveStats(new Map([[`t${i}@127.0.0.1`, 'x'.repeat(1000)]]), []);
      if (i >= 2)
        for (const f of [STATS_FILE, `${STATS_FILE}.b`])
          inodes.add((await stat(path.join(dir, f))).ino);
    }
    await store.close();
    assert.equal(inodes.size, 2, 'no new file per save: the page cache absorbs rewrites');
    assert.deepEqual(
      (await readdir(dir)).sort(),
      [STATS_FILE, `${STATS_FILE}.b`, TARGETS_FILE].sort(),
    );
    const again = await EmbeddedStore.open(dir);
    assert.equal((await again.members()).length, 20);
    assert.equal((await again.loadStats()).size, 20);
  });

  it('reads the older copy of the statistics when the newer was cut short, setting that aside', async () => {
    const store = await EmbeddedStore.open(dir, undefined, { checkpoints: EVERY_SAVE });
    // The first save writes both copies (seq 1 and 2), then they alternate.
    await store.saveStats(new Map([['a@127.0.0.1', 'one']]), []);
    await store.saveStats(new Map([['a@127.0.0.1', 'two']]), []); // seq 3: stats.json.b
    await store.saveStats(new Map([['a@127.0.0.1', 'three']]), []); // seq 4: stats.json
    // A power cut in the middle of writing it back leaves part of the newest copy.
    const first = path.join(dir, STATS_FILE);
    const text = await readFile(first, 'utf8');
    await writeFile(first, text.replace('"three"', '"thref"'));
    const logs: string[] = [];
    const again = await EmbeddedStore.open(dir, (l) => logs.push(l));
    assert.deepEqual(await again.loadStats(), new Map([['a@127.0.0.1', 'two']]), 'one save older');
    assert.equal(logs.length, 1, 'the copy cut short is set aside, with one line');
    assert.match(logs[0]!, /checksum does not match/);
    const second = `${first}.b`;
    const older = await readFile(second, 'utf8');
    await writeFile(second, older.slice(0, older.length - 10));
    const third = await EmbeddedStore.open(dir, (l) => logs.push(l));
    assert.deepEqual(await third.loadStats(), new Map(), 'no copy checks out: none read');
    assert.equal(logs.length, 2, logs.join('\n'));
  });

  it('reads a stats.json of the first release (no sequence, no checksum)', async () => {
    await writeFile(
      path.join(dir, STATS_FILE),
      JSON.stringify({ version: 1, stats: { 'a@127.0.0.1': 'old' } }),
    );
    const store = await EmbeddedStore.open(dir);
    assert.deepEqual(await store.loadStats(), new Map([['a@127.0.0.1', 'old']]));
    await store.saveStats(new Map([['a@127.0.0.1', 'new']]), []); // into stats.json.b
    await store.close(); // and into stats.json
    const first = JSON.parse(await readFile(path.join(dir, STATS_FILE), 'utf8')) as {
      stats: Record<string, string>;
    };
    assert.equal(first.stats['a@127.0.0.1'], 'new');
    assert.deepEqual(
      await (await EmbeddedStore.open(dir)).loadStats(),
      new Map([['a@127.0.0.1', 'new']]),
    );
  });

  it('converts history chunks of the first release, and skips a line cut short', async () => {
    const hour = Math.floor(Date.now() / 3_600_000);
    const history = path.join(dir, HISTORY_DIR);
    await mkdir(history);
    const record = [5, 60, 0, 0, 0, 0, 40, 1, 0, 59];
    await writeFile(
      path.join(history, `m-${hour}.json`),
      JSON.stringify({ v: 1, targets: { 'a@127.0.0.1': [record] } }),
    );
    await writeFile(path.join(history, `m-${hour - 1}.json`), '{"v":1,"targ');
    const logs: string[] = [];
    const store = await EmbeddedStore.open(dir, (l) => logs.push(l));
    const names = [`m:${hour - 1}`, `m:${hour}`];
    assert.deepEqual(await store.historyChunkNames(names), names);
    assert.deepEqual(
      await store.loadHistoryChunk(`m:${hour}`),
      new Map([['a@127.0.0.1', [record]]]),
    );
    assert.equal(logs.filter((l) => l.includes('damaged')).length, 1, logs.join('\n'));
    const files = (await readdir(history)).sort();
    assert.ok(files.includes(`m-${hour}.jsonl`) && !files.includes(`m-${hour}.json`), files.join());
    assert.ok(
      files.some((f) => f.startsWith(`m-${hour - 1}.json.corrupt-`)),
      files.join(),
    );
    // A save appends; a kill in the middle of one leaves a line cut short.
    await store.appendHistory(
      new Map([[`m:${hour}`, new Map([['a@127.0.0.1', [[6, 60, 0, 0, 0, 0]]]])]]),
    );
    await appendFile(path.join(history, `m-${hour}.jsonl`), '["a@127.0.0.1","7,6');
    logs.length = 0;
    assert.deepEqual(
      await store.loadHistoryChunk(`m:${hour}`),
      new Map([['a@127.0.0.1', [record, [6, 60, 0, 0, 0, 0]]]]),
    );
    assert.equal(logs.length, 1, logs.join('\n'));
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

describe('state files: leftovers and durability', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netping-statefiles-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('removes temporary files left by a write that was killed, but not fresh ones', async () => {
    await writeFile(path.join(dir, 'stats.json.0a1b2c3d.tmp'), '{"half');
    await writeFile(path.join(dir, 'api-token.123.tmp'), 'x');
    await writeFile(path.join(dir, 'fresh.json.deadbeef.tmp'), '{');
    await writeFile(path.join(dir, 'targets.json'), '{}');
    const old = new Date(Date.now() - 3_600_000);
    await utimes(path.join(dir, 'stats.json.0a1b2c3d.tmp'), old, old);
    await utimes(path.join(dir, 'api-token.123.tmp'), old, old);
    await utimes(path.join(dir, 'targets.json'), old, old);
    const removed = await removeStaleTempFiles(dir);
    assert.deepEqual(removed.sort(), ['api-token.123.tmp', 'stats.json.0a1b2c3d.tmp']);
    assert.deepEqual((await readdir(dir)).sort(), ['fresh.json.deadbeef.tmp', 'targets.json']);
  });

  it('leaves no temporary file after an atomic write', async () => {
    await writeFileAtomic(path.join(dir, 'x.json'), ['{"a":', '1}']);
    assert.deepEqual(await readdir(dir), ['x.json']);
    assert.equal(await readFile(path.join(dir, 'x.json'), 'utf8'), '{"a":1}');
  });
});

// The embedded store's history files (lib/store/history-files.ts) in a
// temporary directory: closed chunks compacted into per-target sorted lines,
// one target read by a binary search, a state directory of the previous
// format read and converted, and a compaction cut short anywhere read the same.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { EmbeddedStore, HISTORY_DIR } from '../../lib/store/embedded-store.js';
import { fileOf } from '../../lib/store/history-files.js';
import { compareKeys, findSortedLine } from '../../lib/store/sorted-lines.js';

const key = (i: number): string => `t${i}@127.0.${i >> 8}.${i & 255}`;
// A target's records of a save: offset i % 60, counters, a bucket run.
const records = (i: number, save: number): number[][] => [
  [save % 60, 60, i % 3, 0, 0, 0, 40 + (i % 5), save + 1, i],
];

/** The previous release's appended chunk: a line per target and save. */
function appendedLines(targets: number, saves: number): string {
  let text = '';
  for (let save = 0; save < saves; save++)
    for (let i = 0; i < targets; i++)
      text += `${JSON.stringify([
        key(i),
        records(i, save)
          .map((r) => r.join(','))
          .join(';'),
      ])}\n`;
  return text;
}

function expected(i: number, saves: number): number[][] {
  return Array.from({ length: saves }, (_, save) => records(i, save)[0]!);
}

describe('history files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'netping-history-files-'));
    await mkdir(path.join(dir, HISTORY_DIR));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and compacts a state directory of the previous format, nothing lost', async () => {
    const targets = 300;
    await writeFile(path.join(dir, HISTORY_DIR, 'm-1000.jsonl'), appendedLines(targets, 7));
    await writeFile(path.join(dir, HISTORY_DIR, 'm-1001.jsonl'), appendedLines(targets, 2));
    const store = await EmbeddedStore.open(dir);
    assert.deepEqual((await store.historyChunkNames([])).sort(), ['m:1000', 'm:1001']);
    await store.historyFiles.settled();
    const files = (await readdir(path.join(dir, HISTORY_DIR))).sort();
    // The closed chunk compacted, the newest left to be appended to.
    assert.deepEqual(files, ['m-1000.sorted.jsonl', 'm-1001.jsonl']);
    const lines = (await readFile(path.join(dir, HISTORY_DIR, 'm-1000.sorted.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n');
    assert.equal(lines.length, targets, 'a line per target');
    const keys = lines.map((l) => (JSON.parse(l) as [string, string])[0]);
    assert.deepEqual(keys, [...keys].sort(), 'sorted by target');
    for (const i of [0, 1, 137, 255, 256, targets - 1]) {
      const one = await store.loadHistoryChunk('m:1000', [key(i)]);
      assert.deepEqual([...one.keys()], [key(i)]);
      assert.deepEqual(one.get(key(i)), expected(i, 7), key(i));
    }
    assert.equal((await store.loadHistoryChunk('m:1000', ['nobody@127.0.0.1'])).size, 0);
    const all = await store.loadHistoryChunk('m:1000');
    assert.equal(all.size, targets);
    assert.deepEqual(all.get(key(42)), expected(42, 7));
  });

  it('reads lines appended to a compacted chunk beside its sorted ones, and compacts them in turn', async () => {
    const store = await EmbeddedStore.open(dir);
    await store.appendHistory(new Map([['h:50', new Map([[key(1), [[3, 60, 0, 0, 0, 0]]]])]]));
    await store.appendHistory(new Map([['h:51', new Map([[key(1), [[0, 60, 0, 0, 0, 0]]]])]]));
    await store.historyFiles.settled();
    // An hour of day 50 closed late (after a long stop).
    await store.appendHistory(new Map([['h:50', new Map([[key(1), [[9, 30, 1, 0, 0, 0]]]])]]));
    assert.deepEqual((await store.loadHistoryChunk('h:50', [key(1)])).get(key(1)), [
      [3, 60, 0, 0, 0, 0],
      [9, 30, 1, 0, 0, 0],
    ]);
    await store.appendHistory(new Map([['h:52', new Map([[key(1), [[0, 1, 0, 0, 0, 0]]]])]]));
    await store.historyFiles.settled();
    const files = await readdir(path.join(dir, HISTORY_DIR));
    assert.ok(!files.includes('h-50.jsonl'), files.join(' '));
    assert.deepEqual((await store.loadHistoryChunk('h:50', [key(1)])).get(key(1)), [
      [3, 60, 0, 0, 0, 0],
      [9, 30, 1, 0, 0, 0],
    ]);
    await store.historyFiles.settled();
  });

  for (const cut of ['renamed to compacting', 'tmp written', 'compacting removed'] as const) {
    it(`reads the same after a compaction cut short (${cut}) and finishes it`, async () => {
      const h = (f: string): string => path.join(dir, HISTORY_DIR, f);
      const targets = 50;
      const text = appendedLines(targets, 3);
      await writeFile(h(fileOf('m:7', 'appended')), text);
      // The state a kill leaves at each step of a compaction.
      if (cut === 'renamed to compacting') await rename(h('m-7.jsonl'), h('m-7.compacting.jsonl'));
      if (cut === 'tmp written') {
        await rename(h('m-7.jsonl'), h('m-7.compacting.jsonl'));
        await writeFile(h('m-7.sorted.jsonl.tmp'), text.slice(0, 100));
      }
      if (cut === 'compacting removed') {
        const sorted = await EmbeddedStore.open(path.join(dir, 'scratch'));
        await mkdir(path.join(dir, 'scratch', HISTORY_DIR), { recursive: true });
        await writeFile(path.join(dir, 'scratch', HISTORY_DIR, 'm-7.jsonl'), text);
        await sorted.historyFiles.compact('m:7');
        await rename(
          path.join(dir, 'scratch', HISTORY_DIR, 'm-7.sorted.jsonl'),
          h('m-7.sorted.jsonl.tmp'),
        );
        await rm(h('m-7.jsonl'));
      }
      await writeFile(h('m-8.jsonl'), appendedLines(1, 1));
      const store = await EmbeddedStore.open(dir);
      assert.deepEqual((await store.historyChunkNames([])).sort(), ['m:7', 'm:8']);
      await store.historyFiles.settled();
      assert.deepEqual((await readdir(path.join(dir, HISTORY_DIR))).sort(), [
        'm-7.sorted.jsonl',
        'm-8.jsonl',
      ]);
      for (const i of [0, 17, targets - 1])
        assert.deepEqual(
          (await store.loadHistoryChunk('m:7', [key(i)])).get(key(i)),
          expected(i, 3),
        );
      assert.equal((await store.loadHistoryChunk('m:7')).size, targets);
    });
  }

  it('finds every target of a sorted file by binary search, lines short and longer than a read', async () => {
    const keys = Array.from({ length: 97 }, (_, i) => key(i)).sort(compareKeys);
    // Every seventh line is ~40 kB (2,000 records): longer than one read of the search.
    const recordsOf = (i: number): string =>
      Array.from(
        { length: i % 7 === 0 ? 2000 : 1 + (i % 3) },
        (_, r) => `${r % 60},60,${i},0,0,0`,
      ).join(';');
    const file = path.join(dir, 'sorted.jsonl');
    await writeFile(file, keys.map((k, i) => `${JSON.stringify([k, recordsOf(i)])}\n`).join(''));
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      for (const [i, k] of keys.entries())
        assert.deepEqual(await findSortedLine(fh, size, k), { key: k, records: recordsOf(i) }, k);
      for (const missing of ['', 'a', 't5@', 'zz', `${keys[3]!}x`])
        assert.equal(await findSortedLine(fh, size, missing), undefined, missing);
    } finally {
      await fh.close();
    }
  });

  it('skips a damaged line in compacting, keeping the others', async () => {
    const h = (f: string): string => path.join(dir, HISTORY_DIR, f);
    await writeFile(h('m-7.jsonl'), `${appendedLines(3, 1)}["t9@127.0.0.9","1,2,3\n`);
    await writeFile(h('m-8.jsonl'), appendedLines(1, 1));
    const lines: string[] = [];
    const store = await EmbeddedStore.open(dir, (l) => lines.push(l));
    await store.historyChunkNames([]);
    await store.historyFiles.settled();
    assert.equal((await store.loadHistoryChunk('m:7')).size, 3);
    assert.ok(
      lines.some((l) => /m:7: dropped 1 damaged lines/.test(l)),
      lines.join('\n'),
    );
  });
});

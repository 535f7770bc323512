// The embedded store's history: a directory of chunk files, one chunk of
// time each (lib/history/history-chunks.ts), every line a JSON array
// `["name@address","<records>"]` (JSONL: grep, jq and a text editor read it).
//
//   m-<hour>.jsonl            appended to at each save, a line per target and save
//   m-<hour>.sorted.jsonl     a closed chunk compacted: a line per target, sorted by target
//   m-<hour>.compacting.jsonl the appended lines being compacted (a moment)
//
// A chunk is closed once a later chunk of its resolution is appended to:
// its lines are then merged per target and sorted, so reading one target
// of it (a target page) is a binary search, not a scan of every target's
// records. Lines still appended to a closed chunk (an hour closed after a
// long stop) go to a new appended file, read beside the sorted one and
// compacted in turn. The first releases wrote only appended files (and
// before them one JSON document per chunk): those load as they are and are
// compacted at start, in the background.
//
// A compaction: rename the appended file to .compacting (appends go on into
// a new one), write sorted + compacting merged into .sorted.jsonl.tmp and
// fsync it, remove .compacting, rename the tmp over .sorted.jsonl. Cut
// short anywhere, what is left reads the same: a tmp with its .compacting
// beside it is dropped (the compaction runs again), one without is renamed
// into place (it holds the compacting lines). Its own queue, apart from the
// statistics saves.

import { appendFile, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import path from 'node:path';
import {
  legacyChunkRecords,
  parseChunkKey,
  recordsFromText,
  recordsToText,
} from '../history/history-chunks.js';
import { Slices } from '../slicing.js';
import { setAside } from '../state/json-file.js';
import { compareKeys, findSortedLine, parseChunkLine } from './sorted-lines.js';
import { SerialSteps } from './serial-steps.js';
import type { ChunkRecords } from './stats-store.js';

export const HISTORY_DIR = 'history';
const FILE = /^([mh])-(\d{1,9})(\.sorted|\.compacting)?\.jsonl(\.tmp)?$/;
/** A chunk as the first release wrote it: one JSON document, rewritten whole each minute. */
const LEGACY_FILE = /^([mh])-(\d{1,9})\.json$/;
// Up to this many targets asked for, each is looked up in a sorted file; more are read in one pass.
const MAX_LOOKUPS = 64;
const SCAN_BLOCK = 256 * 1024;

export class HistoryFileError extends Error {
  override name = 'HistoryFileError';
}

type Kind = 'appended' | 'sorted' | 'compacting';

export class HistoryFiles {
  readonly #dir: string;
  readonly #log: (line: string) => void;
  readonly #steps = new SerialSteps();
  /** Chunks being compacted: their reads wait (the files move under them). */
  readonly #compacting = new Map<string, Promise<void>>();
  /** The newest chunk span appended to, per resolution letter: the older ones are closed. */
  readonly #newest = new Map<string, number>();

  constructor(stateDir: string, log: (line: string) => void) {
    this.#dir = path.join(stateDir, HISTORY_DIR);
    this.#log = log;
  }

  /** The chunks on disk (after finishing what a kill cut short), and their compaction started. */
  async chunkNames(): Promise<string[]> {
    let names: string[];
    try {
      names = (await readdir(this.#dir)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const files = new Set(names);
    const chunks = new Set<string>();
    for (const name of names) {
      const legacy = LEGACY_FILE.exec(name);
      if (legacy) {
        const key = `${legacy[1]}:${legacy[2]}`;
        await this.#serialised(() => this.#convertLegacy(name, key));
        chunks.add(key);
        continue;
      }
      const m = FILE.exec(name);
      if (!m) continue;
      const key = `${m[1]}:${m[2]}`;
      if (m[4]) await this.#serialised(() => this.#recoverTmp(key, files));
      chunks.add(key);
    }
    for (const key of chunks) this.#noteNewest(key);
    for (const key of chunks) this.#compactIfClosed(key);
    return [...chunks];
  }

  /** One chunk's records per target, all of them or those of `targets`. */
  async load(key: string, targets?: readonly string[]): Promise<Map<string, number[][]>> {
    await this.#compacting.get(key);
    const out = new Map<string, number[][]>();
    const add = (target: string, records: string): void => {
      const list = out.get(target);
      const parsed = recordsFromText(records);
      if (list) list.push(...parsed);
      else out.set(target, parsed);
    };
    const wanted = targets ? new Set(targets) : undefined;
    const looked =
      targets && targets.length <= MAX_LOOKUPS
        ? await this.#lookUp(fileOf(key, 'sorted'), targets, add)
        : false;
    const kinds: Kind[] = looked
      ? ['compacting', 'appended']
      : ['sorted', 'compacting', 'appended'];
    let bad = 0;
    for (const kind of kinds)
      bad += await this.#scan(fileOf(key, kind), (target, records) => {
        if (!wanted || wanted.has(target)) add(target, records);
      });
    if (bad > 0) this.#log(`history chunk ${key}: skipped ${bad} damaged lines`);
    return out;
  }

  /** Appends each chunk's lines (one append a chunk), then compacts the chunks this closed. */
  append(chunks: ChunkRecords): Promise<string[]> {
    return this.#serialised(async () => {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      for (const [key, records] of chunks) {
        const slices = new Slices();
        const lines: string[] = [];
        for (const [target, list] of records) {
          lines.push(`${JSON.stringify([target, recordsToText(list)])}\n`);
          await slices.pause();
        }
        // O_APPEND, so a kill in the middle cuts only the end of this save's
        // lines; without fsync, since a kill -9 loses nothing the kernel
        // holds and the kernel writes it within ~30 s.
        await appendFile(this.#path(fileOf(key, 'appended')), lines.join(''), { mode: 0o600 });
        this.#noteNewest(key);
      }
      // Queued behind this step, so a caller that waits for settled() sees them.
      await this.#compactClosed();
      return [] as string[];
    });
  }

  forget(keys: readonly string[]): Promise<void> {
    return this.#serialised(async () => {
      for (const key of keys)
        for (const kind of ['appended', 'sorted', 'compacting'] as const)
          await unlink(this.#path(fileOf(key, kind))).catch(ignoreMissing);
    });
  }

  /** Compacts `key` now (tests, benchmarks); the daemon's run as chunks close. */
  compact(key: string): Promise<void> {
    const running = this.#compacting.get(key);
    if (running) return running;
    const run = this.#serialised(() => this.#compact(key)).finally(() =>
      this.#compacting.delete(key),
    );
    this.#compacting.set(key, run);
    return run;
  }

  /** Whatever compactions are queued, finished (tests). */
  async settled(): Promise<void> {
    await this.#serialised(() => Promise.resolve());
    await Promise.all(this.#compacting.values());
  }

  #noteNewest(key: string): void {
    const id = parseChunkKey(key)!;
    const letter = key[0]!;
    if (id.span > (this.#newest.get(letter) ?? -1)) this.#newest.set(letter, id.span);
  }

  #compactIfClosed(key: string): void {
    const id = parseChunkKey(key)!;
    if (id.span < (this.#newest.get(key[0]!) ?? -1)) void this.#compactLogged(key);
  }

  /** The chunks with appended lines older than the newest of their resolution: closed now. */
  async #compactClosed(): Promise<void> {
    for (const name of await readdir(this.#dir)) {
      const m = FILE.exec(name);
      if (!m || m[3] === '.sorted' || m[4]) continue;
      this.#compactIfClosed(`${m[1]}:${m[2]}`);
    }
  }

  #compactLogged(key: string): Promise<void> {
    return this.compact(key).catch((err: unknown) =>
      this.#log(`history chunk ${key}: compaction failed (${message(err)}); read as it is`),
    );
  }

  async #compact(key: string): Promise<void> {
    const compacting = this.#path(fileOf(key, 'compacting'));
    try {
      await rename(this.#path(fileOf(key, 'appended')), compacting);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Nothing appended: only a compaction cut short may be left to finish.
      if (!(await exists(compacting))) return;
    }
    const merged = new Map<string, string[]>();
    const put = (target: string, records: string): void => {
      if (records === '') return;
      const parts = merged.get(target);
      if (parts) parts.push(records);
      else merged.set(target, [records]);
    };
    await this.#scan(fileOf(key, 'sorted'), put);
    const bad = await this.#scan(fileOf(key, 'compacting'), put);
    if (bad > 0) this.#log(`history chunk ${key}: dropped ${bad} damaged lines in compacting it`);
    const slices = new Slices();
    const targets = [...merged.keys()].sort(compareKeys);
    const tmp = this.#path(`${fileOf(key, 'sorted')}.tmp`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      let piece = '';
      for (const target of targets) {
        piece += `${JSON.stringify([target, merged.get(target)!.join(';')])}\n`;
        if (piece.length > 64 * 1024) {
          await fh.write(piece);
          piece = '';
        }
        await slices.pause();
      }
      await fh.write(piece);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await unlink(compacting);
    await rename(tmp, this.#path(fileOf(key, 'sorted')));
  }

  /** A compaction's tmp left by a kill: finished (its .compacting is gone) or dropped. */
  async #recoverTmp(key: string, files: ReadonlySet<string>): Promise<void> {
    const tmp = this.#path(`${fileOf(key, 'sorted')}.tmp`);
    if (files.has(fileOf(key, 'compacting'))) await unlink(tmp).catch(ignoreMissing);
    else await rename(tmp, this.#path(fileOf(key, 'sorted'))).catch(ignoreMissing);
  }

  /**
   * Each line of `file` handed to `each`, a slice at a time; returns the
   * damaged lines' count. Read in blocks, not whole: a chunk of 10,000
   * targets is tens of MB, and decoding it at once holds the loop.
   */
  async #scan(file: string, each: (target: string, records: string) => void): Promise<number> {
    let fh;
    try {
      fh = await open(this.#path(file), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const slices = new Slices();
    const decoder = new StringDecoder('utf8');
    const buf = Buffer.alloc(SCAN_BLOCK);
    let bad = 0;
    let rest = '';
    const line = (text: string): void => {
      if (text === '') return;
      const entry = parseChunkLine(text);
      // A line cut short by a kill in the middle of an append: that save's records for one target.
      if (entry) each(entry.key, entry.records);
      else bad++;
    };
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, SCAN_BLOCK, null);
        if (bytesRead === 0) break;
        const text = rest + decoder.write(buf.subarray(0, bytesRead));
        let at = 0;
        for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', at)) {
          line(text.slice(at, end));
          at = end + 1;
          await slices.pause();
        }
        rest = text.slice(at);
      }
      line(rest + decoder.end());
    } finally {
      await fh.close();
    }
    return bad;
  }

  /** Each target looked up in the sorted file; false if it could not be (then it is scanned). */
  async #lookUp(
    file: string,
    targets: readonly string[],
    add: (target: string, records: string) => void,
  ): Promise<boolean> {
    let fh;
    try {
      fh = await open(this.#path(file), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
    try {
      const { size } = await fh.stat();
      const found: [string, string][] = [];
      for (const target of new Set(targets)) {
        const line = await findSortedLine(fh, size, target);
        if (line) found.push([line.key, line.records]);
      }
      for (const [target, records] of found) add(target, records);
      return true;
    } catch {
      return false; // a damaged line on the way: the scan reads what it can
    } finally {
      await fh.close();
    }
  }

  /** A chunk of the first release appended to the chunk's lines, then removed (appended, so a conversion cut short reads twice only that chunk). */
  async #convertLegacy(file: string, key: string): Promise<void> {
    const text = await readFile(this.#path(file), 'utf8');
    let records: Map<string, number[][]>;
    try {
      records = legacyChunkRecords(parseChunkKey(key)!, text);
    } catch (err) {
      const aside = setAside(this.#path(file));
      this.#log(`history chunk ${file} is damaged (${message(err)}): moved aside to ${aside}`);
      return;
    }
    const lines = [...records].map(([t, list]) => `${JSON.stringify([t, recordsToText(list)])}\n`);
    await appendFile(this.#path(fileOf(key, 'appended')), lines.join(''), { mode: 0o600 });
    await unlink(this.#path(file));
    this.#log(`history chunk ${file} converted to ${fileOf(key, 'appended')}`);
  }

  #path(file: string): string {
    return path.join(this.#dir, file);
  }

  /** Runs `step` after every step before it has finished, failed or not. */
  #serialised<T>(step: () => Promise<T>): Promise<T> {
    return this.#steps.run(step);
  }
}

/** `m:123` → `m-123.jsonl` (or .sorted.jsonl, .compacting.jsonl); the keys are checked again here. */
export function fileOf(key: string, kind: Kind): string {
  const m = /^([mh]):(\d{1,9})$/.exec(key);
  if (!m) throw new HistoryFileError(`not a history chunk name: ${key.slice(0, 40)}`);
  return `${m[1]}-${m[2]}${kind === 'appended' ? '' : `.${kind}`}.jsonl`;
}

async function exists(file: string): Promise<boolean> {
  try {
    await (await open(file, 'r')).close();
    return true;
  } catch {
    return false;
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

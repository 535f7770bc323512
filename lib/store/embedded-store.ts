// The store for a machine without Redis: targets (targets.json, replaced by
// rename), statistics (two copies rewritten in place, lib/state/slot-file.ts)
// and history (a file per chunk, appended to) in the state directory,
// changed only through this process (the daemon's control API), so its own
// notices are all the notices there are.

import { appendFile, mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { NetpingError } from '../errors.js';
import {
  legacyChunkRecords,
  parseChunkKey,
  recordsFromText,
  recordsToText,
  type ChunkId,
} from '../history/history-chunks.js';
import { Slices } from '../slicing.js';
import { jsonStringsPieces, readStateFile, setAside, writeFileAtomic } from '../state/json-file.js';
import { SECOND_COPY_SUFFIX, SlotFile, slotProblem } from '../state/slot-file.js';
import type { ChunkRecords, HistoryStore, StatsStore } from './stats-store.js';
import type { TargetChange, TargetStore } from './target-store.js';

const FORMAT_VERSION = 1;
export const TARGETS_FILE = 'targets.json';
export const STATS_FILE = 'stats.json';
/** One file per history chunk (`m:<hour>` → `m-<hour>.jsonl`), a line per target and save. */
export const HISTORY_DIR = 'history';
const CHUNK_FILE = /^([mh])-(\d{1,9})\.jsonl$/;
/** A chunk as the first release wrote it: one JSON document, rewritten whole each minute. */
const LEGACY_CHUNK_FILE = /^([mh])-(\d{1,9})\.json$/;

/** A state file that cannot be read (permissions, a newer format): the daemon stops rather than lose it. */
export class EmbeddedStoreError extends NetpingError {}

export class EmbeddedStore implements TargetStore, StatsStore, HistoryStore {
  readonly up = true;
  readonly #dir: string;
  #members: Set<string>;
  #stats: Map<string, string>;
  readonly #listeners: ((change?: TargetChange) => void)[] = [];
  // Changes are chained so that each sees the one before it, and two never write a file at once.
  #queue: Promise<void> = Promise.resolve();

  readonly #log: (line: string) => void;

  readonly #statsFile: SlotFile;

  private constructor(
    dir: string,
    members: Set<string>,
    stats: Map<string, string>,
    statsFile: SlotFile,
    log: (line: string) => void,
  ) {
    this.#dir = dir;
    this.#statsFile = statsFile;
    this.#log = log;
    this.#members = members;
    this.#stats = stats;
  }

  /** Reads both files; a damaged one is set aside with a log line and read as empty. */
  static async open(dir: string, log: (line: string) => void = () => {}): Promise<EmbeddedStore> {
    const members = await readVersioned(
      path.join(dir, TARGETS_FILE),
      'members',
      Array.isArray,
      log,
    );
    const copies: { seq: number; stats: Record<string, unknown> }[] = [];
    for (const file of [STATS_FILE, STATS_FILE + SECOND_COPY_SUFFIX]) {
      const raw = await readVersioned(path.join(dir, file), 'stats', isRecord, log, (r) =>
        slotProblem(r, statsBody(new Map(Object.entries(r.stats as Record<string, unknown>)))),
      );
      if (raw)
        copies.push({
          seq: typeof raw.seq === 'number' ? raw.seq : 0,
          stats: raw.stats as Record<string, unknown>,
        });
    }
    // The newer of the two copies that check out (the other is a save older).
    const newest = copies.sort((a, b) => b.seq - a.seq)[0];
    return new EmbeddedStore(
      dir,
      new Set(
        Array.isArray(members?.members)
          ? members.members.filter((m): m is string => typeof m === 'string')
          : [],
      ),
      new Map(
        newest
          ? Object.entries(newest.stats).filter(
              (e): e is [string, string] => typeof e[1] === 'string',
            )
          : [],
      ),
      new SlotFile(path.join(dir, STATS_FILE), newest?.seq ?? 0),
      log,
    );
  }

  get location(): string {
    return this.#dir;
  }

  members(): Promise<string[]> {
    return Promise.resolve([...this.#members]);
  }

  add(members: readonly string[]): Promise<number> {
    return this.#change(
      'add',
      (current) => members.filter((m) => !current.has(m)),
      (next, m) => next.add(m),
    );
  }

  remove(members: readonly string[]): Promise<number> {
    return this.#change(
      'remove',
      (current) => members.filter((m) => current.has(m)),
      (next, m) => next.delete(m),
    );
  }

  /**
   * One change, computed from the members as the previous change left them
   * (not as they were when this one was asked for), so concurrent changes
   * all land.
   */
  #change(
    op: TargetChange['op'],
    pick: (current: ReadonlySet<string>) => string[],
    apply: (next: Set<string>, member: string) => void,
  ): Promise<number> {
    return this.#serialised(async () => {
      const chosen = [...new Set(pick(this.#members))];
      if (chosen.length === 0) return 0;
      const next = new Set(this.#members);
      chosen.forEach((m) => apply(next, m));
      // In pieces: at 10,000 members one JSON.stringify held the loop for milliseconds.
      await writeFileAtomic(
        path.join(this.#dir, TARGETS_FILE),
        jsonStringsPieces(`{"version":${FORMAT_VERSION},"members":`, next, '}'),
      );
      this.#members = next;
      this.#notify({ op, members: chosen });
      return chosen.length;
    });
  }

  watch(onChange: (change?: TargetChange) => void): Promise<void> {
    this.#listeners.push(onChange);
    onChange();
    return Promise.resolve();
  }

  loadStats(): Promise<Map<string, string>> {
    return Promise.resolve(new Map(this.#stats));
  }

  saveStats(entries: ReadonlyMap<string, string>, forget: readonly string[]): Promise<void> {
    return this.#serialised(async () => {
      const next = new Map(this.#stats);
      for (const [k, v] of entries) next.set(k, v);
      for (const k of forget) next.delete(k);
      await this.#writeStats(next);
      this.#stats = next;
    });
  }

  async historyChunkNames(candidates: readonly string[]): Promise<string[]> {
    const dir = path.join(this.#dir, HISTORY_DIR);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const chunks = new Set<string>();
    for (const name of names.sort()) {
      const legacy = LEGACY_CHUNK_FILE.exec(name);
      if (legacy) {
        await this.#serialised(() => this.#convertLegacy(dir, name, `${legacy[1]}:${legacy[2]}`));
        chunks.add(`${legacy[1]}:${legacy[2]}`);
        continue;
      }
      const m = CHUNK_FILE.exec(name);
      if (m) chunks.add(`${m[1]}:${m[2]}`);
    }
    const wanted = new Set(candidates);
    // Chunks past the retention are listed too, so the keeper deletes them.
    return [...chunks].filter((c) => wanted.has(c) || !wanted.size || isOlder(c, candidates));
  }

  /**
   * A chunk of the first release (one JSON document, rewritten each
   * minute) appended to the chunk's lines, then removed. Appended, not
   * written over: a conversion cut short leaves both, and the records
   * already converted are read twice only for that chunk.
   */
  async #convertLegacy(dir: string, file: string, key: string): Promise<void> {
    const id = parseChunkKey(key)!;
    const text = await readFile(path.join(dir, file), 'utf8');
    let records: Map<string, number[][]> | undefined;
    try {
      records = legacyChunkRecords(id, text);
    } catch (err) {
      const aside = setAside(path.join(dir, file));
      this.#log(`history chunk ${file} is damaged (${message(err)}): moved aside to ${aside}`);
      return;
    }
    await appendFile(path.join(dir, chunkFileName(key)), [...chunkLines(records)].join(''), {
      mode: 0o600,
    });
    await unlink(path.join(dir, file));
    this.#log(`history chunk ${file} converted to ${chunkFileName(key)}`);
  }

  async loadHistoryChunk(
    name: string,
    targets?: readonly string[],
  ): Promise<Map<string, number[][]>> {
    const out = new Map<string, number[][]>();
    let text: string;
    try {
      text = await readFile(path.join(this.#dir, HISTORY_DIR, chunkFileName(name)), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw err;
    }
    const wanted = targets ? new Set(targets) : undefined;
    const slices = new Slices();
    let bad = 0;
    // Line by line, not split(): a chunk of 10,000 targets is tens of MB.
    for (let at = 0; at < text.length;) {
      await slices.pause();
      const end = text.indexOf('\n', at);
      const line = text.slice(at, end < 0 ? text.length : end);
      at = end < 0 ? text.length : end + 1;
      if (line === '') continue;
      const entry = parseLine(line);
      // A line cut short by a kill in the middle of an append: that save's records for one target.
      if (!entry) {
        bad++;
        continue;
      }
      if (wanted && !wanted.has(entry[0])) continue;
      const list = out.get(entry[0]);
      const records = recordsFromText(entry[1]);
      if (list) list.push(...records);
      else out.set(entry[0], records);
    }
    if (bad > 0) this.#log(`history chunk ${name}: skipped ${bad} damaged lines`);
    return out;
  }

  appendHistory(chunks: ChunkRecords): Promise<string[]> {
    return this.#serialised(async () => {
      const dir = path.join(this.#dir, HISTORY_DIR);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      for (const [key, records] of chunks) {
        const slices = new Slices();
        const lines: string[] = [];
        for (const line of chunkLines(records)) {
          lines.push(line);
          await slices.pause();
        }
        // One append per chunk: O_APPEND, so a kill in the middle cuts only
        // the end of this save's lines; without fsync, since a kill -9 loses
        // nothing the kernel holds and the kernel writes it within ~30 s.
        await appendFile(path.join(dir, chunkFileName(key)), lines.join(''), { mode: 0o600 });
      }
      return [];
    });
  }

  forgetHistory(names: readonly string[]): Promise<void> {
    return this.#serialised(async () => {
      const dir = path.join(this.#dir, HISTORY_DIR);
      for (const key of names)
        await unlink(path.join(dir, chunkFileName(key))).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
    });
  }

  close(): Promise<void> {
    return this.#serialised(async () => {
      // The last save once more into the first copy, so that stats.json
      // itself is the newest after a stop (what a user or an older netping reads).
      if (this.#statsFile.newestIsSecond) await this.#writeStats(this.#stats);
      await this.#statsFile.sync();
    });
  }

  #writeStats(stats: ReadonlyMap<string, string>): Promise<void> {
    return this.#statsFile.write(() => ({
      head: `{"version":${FORMAT_VERSION},"stats":`,
      body: statsBody(stats),
    }));
  }

  #notify(change: TargetChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  /** Runs `step` after every step before it has finished, failed or not. */
  #serialised<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

async function readVersioned(
  file: string,
  field: string,
  fieldOk: (v: unknown) => boolean,
  log: (line: string) => void,
  wholeOk: (r: Record<string, unknown>) => string | undefined = () => undefined,
): Promise<Record<string, unknown> | undefined> {
  let raw: unknown;
  try {
    raw = await readStateFile(file, log, (r) => {
      if (!isRecord(r) || typeof r.version !== 'number') return 'not a netping file';
      // A newer release's file is not damaged: refuse below, never move it.
      if (r.version > FORMAT_VERSION) return undefined;
      if (r.version !== FORMAT_VERSION) return `unknown version ${r.version}`;
      return fieldOk(r[field]) ? wholeOk(r) : `no valid "${field}"`;
    });
  } catch (err) {
    throw new EmbeddedStoreError(
      `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (raw === undefined) return undefined;
  const version = (raw as { version: number }).version;
  if (version > FORMAT_VERSION) {
    throw new EmbeddedStoreError(
      `cannot read ${file}: written by a newer netping (format ${version}, this one reads ${FORMAT_VERSION})`,
    );
  }
  return raw as Record<string, unknown>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `m:123` → `m-123.jsonl`; the keys come from lib/history/history-chunks.ts and are checked again here. */
function chunkFileName(key: string): string {
  const m = /^([mh]):(\d{1,9})$/.exec(key);
  if (!m) throw new EmbeddedStoreError(`not a history chunk name: ${key.slice(0, 40)}`);
  return `${m[1]}-${m[2]}.jsonl`;
}

/** A chunk file's lines, a target each: `["name@address","1,60,0,0,0,0,40,3,57;2,..."]`. */
function* chunkLines(
  records: ReadonlyMap<string, readonly (readonly number[])[]>,
): Generator<string> {
  for (const [key, list] of records) yield `${JSON.stringify([key, recordsToText(list)])}\n`;
}

function parseLine(line: string): [string, string] | undefined {
  try {
    const v: unknown = JSON.parse(line);
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
      return [v[0], v[1]];
  } catch {
    // a line cut short
  }
  return undefined;
}

/** Whether chunk `name` is older than every candidate of its resolution (so past the retention). */
function isOlder(name: string, candidates: readonly string[]): boolean {
  const id = parseChunkKey(name);
  if (!id) return false;
  const spans = candidates
    .map((c) => parseChunkKey(c))
    .filter((c): c is ChunkId => c?.resolution === id.resolution)
    .map((c) => c.span);
  return spans.length > 0 && id.span < Math.min(...spans);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const ENTRIES_PER_CHUNK = 500;

/**
 * The statistics object of stats.json in chunks of a few hundred entries:
 * the same JSON as one stringify, written (and its checksum taken) in pieces.
 */
function* statsBody(stats: ReadonlyMap<string, unknown>): Generator<string> {
  let chunk = '{';
  let n = 0;
  for (const [member, text] of stats) {
    chunk += `${n === 0 ? '' : ','}${JSON.stringify(member)}:${JSON.stringify(text)}`;
    if (++n % ENTRIES_PER_CHUNK === 0) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}}`;
}

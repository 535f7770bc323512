// The store for a machine without Redis: targets (targets.json, replaced by
// rename), statistics (two copies rewritten in place, lib/state/slot-file.ts)
// and history (a file per chunk, appended to, compacted once closed:
// history-files.ts) in the state directory,
// changed only through this process (the daemon's control API), so its own
// notices are all the notices there are.

import path from 'node:path';
import { NetpingError } from '../errors.js';
import { parseChunkKey, type ChunkId } from '../history/history-chunks.js';
import { jsonStringsPieces, readStateFile, writeFileAtomic } from '../state/json-file.js';
import { SECOND_COPY_SUFFIX, SlotFile, slotProblem } from '../state/slot-file.js';
import { HistoryFiles } from './history-files.js';
import { SerialSteps } from './serial-steps.js';
import type { ChunkRecords, HistoryStore, StatsStore } from './stats-store.js';
import type { TargetChange, TargetStore } from './target-store.js';

const FORMAT_VERSION = 1;
export const TARGETS_FILE = 'targets.json';
export const STATS_FILE = 'stats.json';
/** History chunk files (history-files.ts). */
export { HISTORY_DIR } from './history-files.js';

/** A state file that cannot be read (permissions, a newer format): the daemon stops rather than lose it. */
export class EmbeddedStoreError extends NetpingError {}

export class EmbeddedStore implements TargetStore, StatsStore, HistoryStore {
  readonly up = true;
  readonly #dir: string;
  #members: Set<string>;
  #stats: Map<string, string>;
  readonly #listeners: ((change?: TargetChange) => void)[] = [];
  // Changes are chained so that each sees the one before it, and two never write a file at once.
  readonly #steps = new SerialSteps();

  readonly #statsFile: SlotFile;
  readonly #history: HistoryFiles;

  private constructor(
    dir: string,
    members: Set<string>,
    stats: Map<string, string>,
    statsFile: SlotFile,
    log: (line: string) => void,
  ) {
    this.#dir = dir;
    this.#statsFile = statsFile;
    this.#members = members;
    this.#stats = stats;
    this.#history = new HistoryFiles(dir, log);
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

  /** The saved chunks among `candidates`, and those past the retention (the keeper deletes them). */
  async historyChunkNames(candidates: readonly string[]): Promise<string[]> {
    const chunks = await this.#history.chunkNames();
    const wanted = new Set(candidates);
    return chunks.filter((c) => wanted.has(c) || !wanted.size || isOlder(c, candidates));
  }

  loadHistoryChunk(name: string, targets?: readonly string[]): Promise<Map<string, number[][]>> {
    return this.#history.load(name, targets);
  }

  appendHistory(chunks: ChunkRecords): Promise<string[]> {
    return this.#history.append(chunks);
  }

  forgetHistory(names: readonly string[]): Promise<void> {
    return this.#history.forget(names);
  }

  /** The history files (their compaction, for tests and benchmarks). */
  get historyFiles(): HistoryFiles {
    return this.#history;
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
    return this.#steps.run(step);
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

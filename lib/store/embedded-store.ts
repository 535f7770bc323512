// The store for a machine without Redis: targets (targets.json, replaced by
// rename), statistics (a checkpoint of all entries now and then, two copies
// rewritten in place, lib/state/slot-file.ts; between checkpoints each save
// rewrites only what changed since, lib/store/stats-journal.ts) and history (a file per chunk, appended to, compacted once closed:
// history-files.ts) in the state directory,
// changed only through this process (the daemon's control API), so its own
// notices are all the notices there are.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import { NetpingError } from '../errors.js';
import { parseChunkKey, type ChunkId } from '../history/history-chunks.js';
import { runSliced } from '../slicing.js';
import type { SavedStats } from '../stats/saved-stats.js';
import { DeltaSlot, readDeltaCopies, type DeltaCopy } from '../state/delta-slot.js';
import { jsonStringsPieces, readStateFile, writeFileAtomic } from '../state/json-file.js';
import { SECOND_COPY_SUFFIX, SlotFile, slotProblem } from '../state/slot-file.js';
import { HistoryFiles } from './history-files.js';
import { SerialSteps } from './serial-steps.js';
import {
  CHECKPOINT_POLICY,
  checkpointDue,
  StatsJournal,
  StatsJournalError,
  type CheckpointPolicy,
} from './stats-journal.js';
import type { ChunkRecords, HistoryStore, StatsStore } from './stats-store.js';
import type { TargetChange, TargetStore } from './target-store.js';

const FORMAT_VERSION = 1;
export const TARGETS_FILE = 'targets.json';
export const STATS_FILE = 'stats.json';
/** What changed since the checkpoint in stats.json (two copies, binary: lib/state/delta-slot.ts). */
export const STATS_DELTA_FILE = 'stats.delta';
/** History chunk files (history-files.ts). */
export { HISTORY_DIR } from './history-files.js';

/** A state file that cannot be read (permissions, a newer format): the daemon stops rather than lose it. */
export class EmbeddedStoreError extends NetpingError {}

export interface EmbeddedStoreOptions {
  /** Wall-clock milliseconds (the checkpoints' timing). */
  readonly nowMs?: () => number;
  readonly checkpoints?: CheckpointPolicy;
}

/** Where the statistics stand on disk: the checkpoint in stats.json and the delta written since. */
interface StatsFiles {
  readonly checkpoint: SlotFile;
  readonly delta: DeltaSlot;
  journal: StatsJournal;
  checkpointAtMs: number;
  /** The checkpoint's entries' length, and the last delta's (0: none since the checkpoint). */
  checkpointBytes: number;
  deltaBytes: number;
}

export class EmbeddedStore implements TargetStore, StatsStore, HistoryStore {
  readonly up = true;
  readonly #dir: string;
  #members: Set<string>;
  #stats: Map<string, string>;
  readonly #listeners: ((change?: TargetChange) => void)[] = [];
  // Changes are chained so that each sees the one before it, and two never write a file at once.
  readonly #steps = new SerialSteps();

  readonly #files: StatsFiles;
  readonly #nowMs: () => number;
  readonly #policy: CheckpointPolicy;
  readonly #history: HistoryFiles;

  private constructor(
    dir: string,
    members: Set<string>,
    stats: Map<string, string>,
    files: StatsFiles,
    log: (line: string) => void,
    opts: EmbeddedStoreOptions,
  ) {
    this.#dir = dir;
    this.#files = files;
    this.#members = members;
    this.#stats = stats;
    this.#nowMs = opts.nowMs ?? Date.now;
    this.#policy = opts.checkpoints ?? CHECKPOINT_POLICY;
    this.#history = new HistoryFiles(dir, log);
  }

  /** Reads the files; a damaged one is set aside with a log line and read as empty. */
  static async open(
    dir: string,
    log: (line: string) => void = () => {},
    opts: EmbeddedStoreOptions = {},
  ): Promise<EmbeddedStore> {
    const members = await readVersioned(
      path.join(dir, TARGETS_FILE),
      'members',
      Array.isArray,
      log,
    );
    const copies: { seq: number; sha1: string; stats: Record<string, unknown> }[] = [];
    for (const file of [STATS_FILE, STATS_FILE + SECOND_COPY_SUFFIX]) {
      const raw = await readVersioned(path.join(dir, file), 'stats', isRecord, log, (r) =>
        slotProblem(r, statsBody(new Map(Object.entries(r.stats as Record<string, unknown>)))),
      );
      if (raw)
        copies.push({
          seq: typeof raw.seq === 'number' ? raw.seq : 0,
          sha1: typeof raw.sha1 === 'string' ? raw.sha1 : '',
          stats: raw.stats as Record<string, unknown>,
        });
    }
    // The newer of the two copies that check out (the other is a save older).
    const newest = copies.sort((a, b) => b.seq - a.seq)[0];
    const checkpoint = new Map(
      newest
        ? Object.entries(newest.stats).filter(
            (e): e is [string, string] => typeof e[1] === 'string',
          )
        : [],
    );
    const tag = { seq: newest?.seq ?? 0, sha1: newest?.sha1 ?? '' };
    const deltaFile = path.join(dir, STATS_DELTA_FILE);
    const deltas = await readDeltaCopies(deltaFile, log);
    const slots = new SlotFile(path.join(dir, STATS_FILE), tag.seq, tag.sha1);
    const files: StatsFiles = {
      checkpoint: slots,
      delta: new DeltaSlot(deltaFile, Math.max(0, ...deltas.map((d) => d.seq))),
      journal: new StatsJournal(checkpoint, tag),
      // When it was written, so that a restart does not put the next one off.
      checkpointAtMs: newest
        ? (await stat(slots.files[slots.newestIsSecond ? 1 : 0])).mtimeMs
        : (opts.nowMs ?? Date.now)(),
      checkpointBytes: entriesLength(checkpoint),
      deltaBytes: 0,
    };
    const stats = await applyDelta(files, deltaOf(deltas, tag), checkpoint, deltaFile, log);
    return new EmbeddedStore(
      dir,
      new Set(
        Array.isArray(members?.members)
          ? members.members.filter((m): m is string => typeof m === 'string')
          : [],
      ),
      stats,
      files,
      log,
      opts,
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

  saveStats(
    entries: ReadonlyMap<string, string>,
    forget: readonly string[],
    parsed?: ReadonlyMap<string, SavedStats>,
  ): Promise<void> {
    return this.#serialised(async () => {
      const next = new Map(this.#stats);
      for (const [k, v] of entries) next.set(k, v);
      for (const k of forget) next.delete(k);
      const files = this.#files;
      const now = this.#nowMs();
      if (
        files.journal.tag.sha1 === '' ||
        checkpointDue(
          now - files.checkpointAtMs,
          files.deltaBytes,
          files.checkpointBytes,
          this.#policy,
        )
      )
        await this.#checkpoint(next);
      else {
        // Deflated on libuv's threads, off the loop: the records of many
        // targets alike (masks, buckets, averages) shrink to about half.
        const body = await deflate(await runSliced(files.journal.encode(next, now, parsed)));
        await files.delta.write(files.journal.tag, body);
        files.deltaBytes = body.length;
      }
      this.#stats = next;
    });
  }

  /**
   * All entries into the older copy of stats.json, synced (the deltas after
   * it are worth only what it is), then the deltas start again from it.
   */
  async #checkpoint(stats: ReadonlyMap<string, string>): Promise<void> {
    const files = this.#files;
    await this.#writeStats(stats);
    await files.checkpoint.sync();
    files.journal = new StatsJournal(stats, files.checkpoint.newest);
    files.checkpointAtMs = this.#nowMs();
    files.checkpointBytes = entriesLength(stats);
    files.deltaBytes = 0;
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
      // Everything as a checkpoint, and into the first copy, so that
      // stats.json itself is the newest after a stop, whole (what a user or
      // an older netping, which knows nothing of deltas, reads).
      const files = this.#files;
      if (files.deltaBytes > 0) await this.#checkpoint(this.#stats);
      if (files.checkpoint.newestIsSecond) await this.#checkpoint(this.#stats);
      await files.checkpoint.sync();
    });
  }

  #writeStats(stats: ReadonlyMap<string, string>): Promise<void> {
    return this.#files.checkpoint.write(() => ({
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

/** The newest delta of the checkpoint `tag` (none for a checkpoint without a checksum). */
function deltaOf(
  copies: readonly DeltaCopy[],
  tag: { seq: number; sha1: string },
): DeltaCopy | undefined {
  if (tag.sha1 === '') return undefined;
  return copies
    .filter((c) => c.checkpoint.seq === tag.seq && c.checkpoint.sha1 === tag.sha1)
    .sort((a, b) => b.seq - a.seq)[0];
}

/** The checkpoint's entries with the delta applied; the checkpoint alone, with a log line, when it does not apply. */
async function applyDelta(
  files: StatsFiles,
  delta: DeltaCopy | undefined,
  checkpoint: Map<string, string>,
  file: string,
  log: (line: string) => void,
): Promise<Map<string, string>> {
  if (!delta) return checkpoint;
  try {
    const raw = await inflate(delta.body).catch((err: unknown) => {
      throw new StatsJournalError(`not deflated (${message(err)})`);
    });
    const stats = await runSliced(files.journal.decode(raw));
    files.deltaBytes = delta.body.length;
    return stats;
  } catch (err) {
    if (!(err instanceof StatsJournalError)) throw err;
    log(
      `${file}: the statistics saved since the last checkpoint do not apply (${err.message}); reading the checkpoint alone`,
    );
    return checkpoint;
  }
}

function entriesLength(stats: ReadonlyMap<string, string>): number {
  let n = 0;
  for (const [k, v] of stats) n += k.length + v.length;
  return n;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

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

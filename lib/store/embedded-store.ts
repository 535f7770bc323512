// The store for a machine without Redis: targets and statistics in two JSON
// files in the state directory, changed only through this process (the
// daemon's control API), so its own notices are all the notices there are.

import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { NetpingError } from '../errors.js';
import { readStateFile, writeFileAtomic } from '../state/json-file.js';
import type { HistoryStore, StatsStore } from './stats-store.js';
import type { TargetStore } from './target-store.js';

const FORMAT_VERSION = 1;
export const TARGETS_FILE = 'targets.json';
export const STATS_FILE = 'stats.json';
/** One file per history chunk (`m:<hour>` → `m-<hour>.json`). */
export const HISTORY_DIR = 'history';
const CHUNK_FILE = /^([mh])-(\d{1,9})\.json$/;

/** A state file that cannot be read (permissions, a newer format): the daemon stops rather than lose it. */
export class EmbeddedStoreError extends NetpingError {}

export class EmbeddedStore implements TargetStore, StatsStore, HistoryStore {
  readonly up = true;
  readonly #dir: string;
  #members: Set<string>;
  #stats: Map<string, string>;
  readonly #listeners: (() => void)[] = [];
  // Changes are chained so that each sees the one before it, and two never write a file at once.
  #queue: Promise<void> = Promise.resolve();

  private constructor(dir: string, members: Set<string>, stats: Map<string, string>) {
    this.#dir = dir;
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
    const stats = await readVersioned(path.join(dir, STATS_FILE), 'stats', isRecord, log);
    return new EmbeddedStore(
      dir,
      new Set(
        Array.isArray(members) ? members.filter((m): m is string => typeof m === 'string') : [],
      ),
      new Map(
        isRecord(stats)
          ? Object.entries(stats).filter((e): e is [string, string] => typeof e[1] === 'string')
          : [],
      ),
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
      (current) => members.filter((m) => !current.has(m)),
      (next, m) => next.add(m),
    );
  }

  remove(members: readonly string[]): Promise<number> {
    return this.#change(
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
    pick: (current: ReadonlySet<string>) => string[],
    apply: (next: Set<string>, member: string) => void,
  ): Promise<number> {
    return this.#serialised(async () => {
      const chosen = [...new Set(pick(this.#members))];
      if (chosen.length === 0) return 0;
      const next = new Set(this.#members);
      chosen.forEach((m) => apply(next, m));
      await this.#write(TARGETS_FILE, { members: [...next] });
      this.#members = next;
      this.#notify();
      return chosen.length;
    });
  }

  watch(onChange: () => void): Promise<void> {
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
      await writeFileAtomic(path.join(this.#dir, STATS_FILE), statsFileChunks(next));
      this.#stats = next;
    });
  }

  async historyChunkNames(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(path.join(this.#dir, HISTORY_DIR));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const chunks: string[] = [];
    for (const name of names.sort()) {
      const m = CHUNK_FILE.exec(name);
      if (m) chunks.push(`${m[1]}:${m[2]}`);
    }
    return chunks;
  }

  async loadHistoryChunk(name: string): Promise<string | undefined> {
    try {
      return await readFile(path.join(this.#dir, HISTORY_DIR, chunkFileName(name)), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  saveHistory(chunks: ReadonlyMap<string, string>, forget: readonly string[]): Promise<void> {
    return this.#serialised(async () => {
      const dir = path.join(this.#dir, HISTORY_DIR);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      for (const [key, text] of chunks)
        await writeFileAtomic(path.join(dir, chunkFileName(key)), textChunks(text));
      for (const key of forget)
        await unlink(path.join(dir, chunkFileName(key))).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
    });
  }

  close(): Promise<void> {
    return this.#queue;
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
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

  #write(file: string, body: Record<string, unknown>): Promise<void> {
    return writeFileAtomic(
      path.join(this.#dir, file),
      JSON.stringify({ version: FORMAT_VERSION, ...body }),
    );
  }
}

async function readVersioned(
  file: string,
  field: string,
  fieldOk: (v: unknown) => boolean,
  log: (line: string) => void,
): Promise<unknown> {
  let raw: unknown;
  try {
    raw = await readStateFile(file, log, (r) => {
      if (!isRecord(r) || typeof r.version !== 'number') return 'not a netping file';
      // A newer release's file is not damaged: refuse below, never move it.
      if (r.version > FORMAT_VERSION) return undefined;
      if (r.version !== FORMAT_VERSION) return `unknown version ${r.version}`;
      return fieldOk(r[field]) ? undefined : `no valid "${field}"`;
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
  return (raw as Record<string, unknown>)[field];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `m:123` → `m-123.json`; the keys come from lib/history/history-chunks.ts and are checked again here. */
function chunkFileName(key: string): string {
  const m = /^([mh]):(\d{1,9})$/.exec(key);
  if (!m) throw new EmbeddedStoreError(`not a history chunk name: ${key.slice(0, 40)}`);
  return `${m[1]}-${m[2]}.json`;
}

const TEXT_CHUNK_CHARS = 256 * 1024;

/** A large text in pieces, so writing it does not hold the event loop in one write. */
function* textChunks(text: string): Generator<string> {
  for (let i = 0; i < text.length; i += TEXT_CHUNK_CHARS) yield text.slice(i, i + TEXT_CHUNK_CHARS);
  if (text.length === 0) yield '';
}

const ENTRIES_PER_CHUNK = 500;

/** stats.json as chunks of a few hundred entries: the same JSON as one stringify, written in pieces. */
function* statsFileChunks(stats: ReadonlyMap<string, string>): Generator<string> {
  let chunk = `{"version":${FORMAT_VERSION},"stats":{`;
  let n = 0;
  for (const [member, text] of stats) {
    chunk += `${n === 0 ? '' : ','}${JSON.stringify(member)}:${JSON.stringify(text)}`;
    if (++n % ENTRIES_PER_CHUNK === 0) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}}}`;
}

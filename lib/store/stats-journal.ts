// The embedded store's statistics between two checkpoints: what each save
// writes is not every entry again but, per entry, what differs from the
// checkpoint (lib/stats/stats-delta.ts), in one small body rewritten in
// place (lib/state/delta-slot.ts). A checkpoint is all entries as
// stats.json (lib/state/slot-file.ts), written now and then; a delta names
// the checkpoint it belongs to, so it is never applied to another.
//
// The body: the save's wall time, the checkpoint's entry count, then for the
// checkpoint's entries that changed, in the checkpoint's order, a record
// `skip * 4 + kind` (skip: unchanged entries passed over) with a delta,
// a whole text or nothing (forgotten); then an end mark, then the entries
// not in the checkpoint, key and whole text each. The store deflates it
// (zlib's raw deflate) before writing: entries alike compress well.

import { parseSavedStats, type SavedStats } from '../stats/saved-stats.js';
import { readStatsDelta, writeStatsDelta } from '../stats/stats-delta.js';
import { VarintReader, VarintWriter } from '../state/varints.js';

const DELTA = 0;
const WHOLE = 1;
const GONE = 2;
const END = 3;

/** A delta that does not belong to the checkpoint it is read against, or is malformed. */
export class StatsJournalError extends Error {
  override name = 'StatsJournalError';
}

/** Which checkpoint a delta belongs to: its sequence number and checksum in stats.json. */
export interface CheckpointTag {
  readonly seq: number;
  readonly sha1: string;
}

export interface CheckpointPolicy {
  /** A checkpoint at the latest this long after the last. */
  readonly everyMs: number;
  /** Or once a delta has grown past this share of a checkpoint. */
  readonly fraction: number;
}

/** Chosen in docs/ARCHITECTURE.md, "Few disk writes": an hour, or a delta an eighth of a checkpoint. */
export const CHECKPOINT_POLICY: CheckpointPolicy = { everyMs: 3_600_000, fraction: 0.125 };

/** Whether the next save should be a checkpoint rather than a delta. */
export function checkpointDue(
  sinceCheckpointMs: number,
  deltaBytes: number,
  checkpointBytes: number,
  policy: CheckpointPolicy = CHECKPOINT_POLICY,
): boolean {
  return sinceCheckpointMs >= policy.everyMs || deltaBytes > checkpointBytes * policy.fraction;
}

/**
 * The entries in the order JSON.parse gives an object's keys back
 * (array-index keys first, ascending, then the others as inserted): the
 * order of a checkpoint as read, which a delta's records follow.
 */
export function inParsedOrder<V>(entries: ReadonlyMap<string, V>): Map<string, V> {
  const indices: string[] = [];
  for (const k of entries.keys()) if (isArrayIndex(k)) indices.push(k);
  if (indices.length === 0) return new Map(entries);
  const out = new Map<string, V>();
  for (const k of indices.sort((a, b) => Number(a) - Number(b))) out.set(k, entries.get(k)!);
  for (const [k, v] of entries) if (!isArrayIndex(k)) out.set(k, v);
  return out;
}

function isArrayIndex(k: string): boolean {
  return /^(0|[1-9]\d{0,9})$/.test(k) && Number(k) < 2 ** 32 - 1;
}

export class StatsJournal {
  readonly tag: CheckpointTag;
  /** The checkpoint's entries, in its parsed order. */
  readonly #checkpoint: ReadonlyMap<string, string>;
  /** Checkpoint entries parsed, as first needed (null: not statistics, so written whole). */
  readonly #parsed = new Map<string, SavedStats | null>();

  constructor(checkpoint: ReadonlyMap<string, string>, tag: CheckpointTag) {
    this.#checkpoint = inParsedOrder(checkpoint);
    this.tag = tag;
  }

  /**
   * The delta body of `entries` (all of them, as saved now), one entry per
   * step; `parsed` has some of them as the objects their text was made from.
   */
  *encode(
    entries: ReadonlyMap<string, string>,
    savedAt: number,
    parsed?: ReadonlyMap<string, SavedStats>,
  ): Generator<void, Uint8Array> {
    const w = new VarintWriter();
    w.uint(savedAt);
    w.uint(this.#checkpoint.size);
    let skip = 0;
    // Each entry's save time as a difference from the one before (0 for all live targets).
    let lastSavedAt = savedAt;
    for (const [key, was] of this.#checkpoint) {
      const text = entries.get(key);
      if (text === was) {
        skip++;
        continue;
      }
      if (text === undefined) w.uint(skip * 4 + GONE);
      else {
        const head = w.length;
        w.uint(skip * 4 + DELTA);
        const base = this.#base(key, was);
        const now = base && (parsed?.get(key) ?? parsedText(text));
        if (now && writeStatsDelta(w, base, now, lastSavedAt)) lastSavedAt = now.savedAt;
        else {
          w.truncate(head);
          w.uint(skip * 4 + WHOLE);
          w.text(text);
        }
      }
      skip = 0;
      yield;
    }
    w.uint(END);
    for (const [key, text] of entries) {
      if (this.#checkpoint.has(key)) continue;
      w.text(key);
      w.text(text);
      yield;
    }
    return w.bytes().slice();
  }

  /** The entries as a delta body says they were saved, one entry per step. Throws StatsJournalError. */
  *decode(body: Uint8Array): Generator<void, Map<string, string>> {
    const r = new VarintReader(body);
    const out = new Map<string, string>();
    try {
      let lastSavedAt = r.uint();
      if (r.uint() !== this.#checkpoint.size)
        throw new StatsJournalError('it counts another number of entries than its checkpoint');
      const keys = [...this.#checkpoint.keys()];
      let at = 0;
      const keep = (until: number): void => {
        if (until > keys.length) throw new StatsJournalError('it runs past its checkpoint');
        for (; at < until; at++) out.set(keys[at]!, this.#checkpoint.get(keys[at]!)!);
      };
      for (;;) {
        const head = r.uint();
        const kind = head % 4;
        if (kind === END) break;
        keep(at + (head - kind) / 4);
        const key = keys[at++];
        if (key === undefined) throw new StatsJournalError('it runs past its checkpoint');
        if (kind === WHOLE) out.set(key, r.text());
        else if (kind === DELTA) {
          const base = this.#base(key, this.#checkpoint.get(key)!);
          if (!base) throw new StatsJournalError(`a delta of an entry that is not statistics`);
          const entry = readStatsDelta(r, base, lastSavedAt);
          lastSavedAt = entry.savedAt;
          out.set(key, JSON.stringify(entry));
        }
        yield;
      }
      keep(keys.length);
      while (!r.done) {
        const key = r.text();
        out.set(key, r.text());
        yield;
      }
    } catch (err) {
      if (err instanceof StatsJournalError) throw err;
      throw new StatsJournalError(err instanceof Error ? err.message : String(err));
    }
    return out;
  }

  #base(key: string, text: string): SavedStats | null {
    let base = this.#parsed.get(key);
    if (base === undefined) {
      base = parsedText(text);
      this.#parsed.set(key, base);
    }
    return base;
  }
}

function parsedText(text: string): SavedStats | null {
  try {
    return parseSavedStats(text);
  } catch {
    return null;
  }
}

// The statistics a state directory holds (the newest checkpoint that checks
// out, with the newest delta of it applied), read without touching the
// files: a test reads them while netpingd writes, and must not set aside a
// copy it caught in the middle of a write, as the store's own open would.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { decodeCopy, type DeltaCopy } from '../../lib/state/delta-slot.js';
import { STATS_DELTA_FILE, STATS_FILE } from '../../lib/store/embedded-store.js';
import { StatsJournal } from '../../lib/store/stats-journal.js';

interface Checkpoint {
  seq: number;
  sha1: string;
  stats: Record<string, string>;
}

async function tryRead(file: string): Promise<Buffer | undefined> {
  return readFile(file).catch(() => undefined);
}

export async function readSavedStats(stateDir: string): Promise<Map<string, string>> {
  const checkpoints: Checkpoint[] = [];
  for (const name of [STATS_FILE, `${STATS_FILE}.b`]) {
    const bytes = await tryRead(path.join(stateDir, name));
    try {
      if (bytes) checkpoints.push(JSON.parse(bytes.toString('utf8')) as Checkpoint);
    } catch {
      // caught in the middle of a write: the other copy
    }
  }
  const newest = checkpoints.sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0))[0];
  if (!newest) return new Map();
  const checkpoint = new Map(Object.entries(newest.stats));
  const deltas: DeltaCopy[] = [];
  for (const name of [STATS_DELTA_FILE, `${STATS_DELTA_FILE}.b`]) {
    const bytes = await tryRead(path.join(stateDir, name));
    const copy = bytes && decodeCopy(bytes);
    if (
      copy &&
      typeof copy !== 'string' &&
      copy.checkpoint.seq === newest.seq &&
      copy.checkpoint.sha1 === newest.sha1
    )
      deltas.push(copy);
  }
  const delta = deltas.sort((a, b) => b.seq - a.seq)[0];
  if (!delta) return checkpoint;
  const work = new StatsJournal(checkpoint, newest).decode(inflateRawSync(delta.body));
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
  }
}

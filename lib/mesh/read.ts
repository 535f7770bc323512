// Reads the mesh's registry and summaries from Redis: what npcli mesh,
// /mesh and the daemon's registry read all share. The index set names who
// registered; a registration that has expired reads as gone and its id is
// taken out of the index. An entry out of shape is skipped and counted,
// never fatal: any client of that Redis may have written it.

import type { Keys } from '../store/keys.js';
import type { MeshStore } from '../store/mesh-store.js';
import { decodeRegistration, type Registration } from './registration.js';
import { decodeSummary, type MeshSummary } from './summary.js';

export interface MeshState {
  readonly registrations: Registration[];
  readonly summaries: MeshSummary[];
  /** Why entries were skipped (one line each, at most a few). */
  readonly skipped: string[];
}

const MAX_REASONS = 5;

export async function readRegistrations(
  store: MeshStore,
  keys: Keys,
  skipped: string[] = [],
  /** Whether expired ids are taken out of the index; readers of a page leave that to the daemon's refresh. */
  prune = true,
): Promise<Registration[]> {
  const ids = await store.setMembers(keys.mesh.instances);
  const texts = await store.values(ids.map((id) => keys.mesh.instance(id)));
  const gone = ids.filter((_, i) => texts[i] === undefined);
  // Expired (or never there): out of the index. An instance that comes back
  // puts itself in again with its next registration.
  if (prune) await store.removeMembers(keys.mesh.instances, gone);
  return decodeEach(ids, texts, decodeRegistration, (r) => r.id, skipped);
}

export async function readMesh(store: MeshStore, keys: Keys, prune = true): Promise<MeshState> {
  const skipped: string[] = [];
  const registrations = await readRegistrations(store, keys, skipped, prune);
  const ids = registrations.map((r) => r.id);
  const texts = await store.values(ids.map((id) => keys.mesh.summary(id)));
  const summaries = decodeEach(ids, texts, decodeSummary, (s) => s.from, skipped);
  return { registrations, summaries, skipped };
}

/** Decodes the value of each id's key; one under another id is not believed. */
function decodeEach<T>(
  ids: readonly string[],
  texts: readonly (string | undefined)[],
  decode: (t: string) => T,
  idOf: (value: T) => string,
  skipped: string[],
): T[] {
  const out: T[] = [];
  const skip = (why: string): void => {
    if (skipped.length < MAX_REASONS) skipped.push(why);
  };
  ids.forEach((id, i) => {
    const text = texts[i];
    if (text === undefined) return;
    try {
      const value = decode(text);
      if (idOf(value) === id) out.push(value);
      else skip(`the entry of ${id} names ${idOf(value)}`);
    } catch (err) {
      skip(`${id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return out;
}

/**
 * For the HTTP app: the mesh as read at most `maxAgeMs` ago (the mesh's
 * refresh: nothing in it changes faster), one read shared by every reader
 * who asks while it is under way, and no write to Redis on a GET.
 */
export function meshReader(
  store: MeshStore,
  keys: Keys,
  opts: { maxAgeMs: number; nowMs: () => number } = { maxAgeMs: 0, nowMs: Date.now },
): () => Promise<MeshState> {
  let last: { atMs: number; state: Promise<MeshState> } | undefined;
  return () => {
    const now = opts.nowMs();
    if (last && now - last.atMs < opts.maxAgeMs) return last.state;
    const state = readMesh(store, keys, false);
    const read = { atMs: now, state };
    last = read;
    // A failed read is not kept: the next reader tries again.
    state.catch(() => {
      if (last === read) last = undefined;
    });
    return state;
  };
}

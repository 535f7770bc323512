// Reads the mesh's registry and summaries from Redis: what npcli mesh,
// /mesh and the daemon's registry read all share. An entry out of shape is
// skipped and counted, never fatal: any client of that Redis may have
// written it.

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
): Promise<Registration[]> {
  return decodeAll(await store.scanValues(keys.mesh.instancePattern), decodeRegistration, skipped);
}

export async function readMesh(store: MeshStore, keys: Keys): Promise<MeshState> {
  const skipped: string[] = [];
  const registrations = await readRegistrations(store, keys, skipped);
  const summaries = decodeAll(
    await store.scanValues(keys.mesh.summaryPattern),
    decodeSummary,
    skipped,
  );
  return { registrations, summaries, skipped };
}

function decodeAll<T>(texts: readonly string[], decode: (t: string) => T, skipped: string[]): T[] {
  const out: T[] = [];
  for (const text of texts) {
    try {
      out.push(decode(text));
    } catch (err) {
      if (skipped.length < MAX_REASONS)
        skipped.push(err instanceof Error ? err.message : String(err));
    }
  }
  return out;
}

/** For the HTTP app: reads the mesh anew on each call. */
export function meshReader(store: MeshStore, keys: Keys): () => Promise<MeshState> {
  return () => readMesh(store, keys);
}

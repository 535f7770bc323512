// A group member's registration, `{P}:group:<g>:member:<id>` with a short
// expiry (daemon/group-keeper.ts refreshes it), indexed in
// `{P}:group:<g>:members`. Read back, it is checked like any input; the
// reading is shared by the daemon and npcli (who owns what: rendezvous.ts).

import { InvalidInputError } from '../errors.js';
import type { GroupKeys } from '../store/keys.js';
import { validateInstance } from '../store/keys.js';
import type { MeshStore } from '../store/mesh-store.js';

export interface GroupMember {
  readonly id: string;
  /** ISO time of its start: two processes under one id show as a change of it. */
  readonly startedAt: string;
}

export function encodeMember(m: GroupMember): string {
  return JSON.stringify({ v: 1, id: m.id, startedAt: m.startedAt });
}

export function decodeMember(text: string): GroupMember {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidInputError('group registration is not JSON');
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (o.v !== 1)
    throw new InvalidInputError(`group registration of unknown version ${String(o.v)}`);
  if (typeof o.id !== 'string') throw new InvalidInputError('group registration without an id');
  if (typeof o.startedAt !== 'string' || o.startedAt.length > 64) {
    throw new InvalidInputError('group registration without a start time');
  }
  return { id: validateInstance(o.id), startedAt: o.startedAt };
}

/**
 * The live members: the index set's ids whose registration has not expired
 * (an expired one is taken out of the index). Entries out of shape are
 * skipped and named in `skipped`.
 */
export async function readMembers(
  store: MeshStore,
  keys: GroupKeys,
  skipped: string[] = [],
): Promise<GroupMember[]> {
  const ids = await store.setMembers(keys.members);
  const texts = await store.values(ids.map((id) => keys.member(id)));
  await store.removeMembers(
    keys.members,
    ids.filter((_, i) => texts[i] === undefined),
  );
  const out: GroupMember[] = [];
  ids.forEach((id, i) => {
    const text = texts[i];
    if (text === undefined) return;
    try {
      const m = decodeMember(text);
      if (m.id === id) out.push(m);
      else if (skipped.length < 5) skipped.push(`the entry of ${id} names ${m.id}`);
    } catch (err) {
      if (skipped.length < 5)
        skipped.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return out;
}

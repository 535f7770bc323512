// `npcli --redis … stats` for a group: the group's saved statistics (one
// hash for all members), split by owner. The owner of each target is
// recomputed from the live members exactly as the daemons compute it
// (rendezvous.ts), so npcli needs no word from them.

import { savedReport, type SavedReport } from '../saved-report.js';
import type { DaemonReport } from '../report.js';
import { ownerOf, prepareMembers } from './rendezvous.js';

/** One report per owner (members with no target included), then one of targets nobody owns. */
export function groupReports(
  group: string,
  entries: ReadonlyMap<string, string>,
  members: readonly string[],
  store: DaemonReport['store'],
  version: string,
  now: Date,
): SavedReport[] {
  const prepared = prepareMembers(members);
  const byOwner = new Map<string, Map<string, string>>(prepared.ids.map((id) => [id, new Map()]));
  const nobody = new Map<string, string>();
  for (const [key, text] of entries) {
    const owner = ownerOf(key, prepared);
    (owner === undefined ? nobody : byOwner.get(owner)!).set(key, text);
  }
  const out: SavedReport[] = [...byOwner].map(([owner, own]) => ({
    ...savedReport(owner, own, store, version, now),
    group,
    owner,
  }));
  if (nobody.size > 0) {
    out.push({ ...savedReport('', nobody, store, version, now), group, owner: undefined });
  }
  return out;
}

// The targets a meshed instance probes: every other live instance, at each
// address it advertises, once per mesh probe kind. Named by the peer's
// instance id, labelled with its labels and peer="true". Generated here and
// handed to TargetSync beside the store's set, never written into it.

import { familyOf } from '../address.js';
import type { Labels } from '../labels.js';
import { probeKind } from '../probes/kinds.js';
import { targetKey, type Target } from '../target.js';
import type { Registration } from './registration.js';

export const PEER_LABEL = 'peer';
export const DEFAULT_MESH_PROBES: readonly string[] = ['icmp', 'udp'];

/**
 * Ordered for --max-targets (TargetSync fills its room in this order): each
 * peer's first address and kind, then each one's second, and so on, so a
 * limit leaves out a peer's extra addresses and kinds before any peer.
 */
export function meshTargets(
  self: string,
  peers: readonly Registration[],
  kinds: readonly string[],
): Target[] {
  const byPeer: Target[][] = [];
  for (const peer of peers) {
    if (peer.id === self) continue;
    // Sorted by name, as every target's labels are (they are written in this order).
    const all: Record<string, string> = { ...peer.labels, [PEER_LABEL]: 'true' };
    const labels: Labels = Object.fromEntries(
      Object.keys(all)
        .sort()
        .map((k) => [k, all[k]!]),
    );
    const own: Target[] = [];
    for (const address of peer.addresses) {
      const family = familyOf(address);
      if (family === undefined) continue;
      for (const kind of kinds) {
        own.push({
          name: peer.id,
          address,
          family,
          labels,
          // udp goes to the peer responder; tcp connects to the same port
          // number ("tcp to its peer port"), where even a refusal measures
          // the path (tcp:refused counts as an answer).
          ...(kind === 'icmp' ? {} : { probe: { kind, port: peer.peerPort } }),
        });
      }
    }
    byPeer.push(own);
  }
  // Peers by id, so every member drops the same ones whatever order Redis listed them in.
  byPeer.sort((a, b) => ((a[0]?.name ?? '') < (b[0]?.name ?? '') ? -1 : 1));
  const out = new Map<string, Target>();
  const longest = Math.max(0, ...byPeer.map((p) => p.length));
  for (let i = 0; i < longest; i++) {
    for (const own of byPeer) {
      const t = own[i];
      if (t && !out.has(targetKey(t))) out.set(targetKey(t), t);
    }
  }
  return [...out.values()];
}

/** Whether the mesh probes of this kind can be made (the kind exists in this build). */
export function meshKindAvailable(kind: string): boolean {
  return probeKind(kind) !== undefined;
}

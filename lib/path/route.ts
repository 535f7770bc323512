// Route changes, pure. A trace's hops are compared with the route as last
// known, not with the last trace alone: a hop silent this time keeps the
// router it had (one lost answer, or a rate-limited router, is not a route
// change), and a hop heard for the first time fills a gap. The route
// changes when a hop that is known on both sides names another router, or
// when the path gets longer or shorter by hops that answered (silent ones
// right before the target may be the target's own lost replies).

import type { TracedHop } from './trace-run.js';

export interface Route {
  /** Hop addresses by TTL (index ttl-1); null: never heard. */
  readonly hops: readonly (string | null)[];
  /** Whether a trace has reached the target: only then is the length known. */
  readonly reached: boolean;
}

export interface RouteStep {
  /** The route known after this trace. */
  readonly route: Route;
  /** Whether it differs from the one before (never on the first trace). */
  readonly changed: boolean;
}

export function routeOf(hops: readonly TracedHop[]): (string | null)[] {
  const route: (string | null)[] = [];
  for (const hop of hops) route[hop.ttl - 1] = hop.address;
  return Array.from(route, (a) => a ?? null);
}

/**
 * Folds a trace into the known route. `reached`: whether this trace got to
 * the target; a trace that did not says nothing about the path's length.
 */
export function nextRoute(
  known: Route | undefined,
  hops: readonly TracedHop[],
  reached: boolean,
): RouteStep {
  const seen = routeOf(hops);
  if (known === undefined) return { route: { hops: seen, reached }, changed: false };
  if (!reached || !known.reached) {
    const merged = merge(known.hops, seen);
    return {
      route: { hops: merged.hops, reached: reached || known.reached },
      changed: merged.changed,
    };
  }
  return reachedBoth(known.hops, seen);
}

/** Both traces got to the target. */
function reachedBoth(known: readonly (string | null)[], seen: (string | null)[]): RouteStep {
  if (seen.length !== known.length) {
    // Silent hops right before the target may be the target itself, whose
    // replies were lost (a neighbour not yet resolved, a rate limit): a
    // length that differs only by such hops is the same route, the shorter.
    const longer = seen.length > known.length ? seen : known;
    const n = Math.min(seen.length, known.length) - 1;
    if (longer.slice(n, -1).every((a) => a === null) && seen.at(-1) === known.at(-1)) {
      const prefix = merge(known.slice(0, n), seen.slice(0, n));
      return {
        route: { hops: [...prefix.hops, seen.at(-1)!], reached: true },
        changed: prefix.changed,
      };
    }
    // A longer or shorter path is another route; its silent hops keep
    // nothing of the old one, whose TTLs now mean other routers.
    return { route: { hops: seen, reached: true }, changed: true };
  }
  const merged = merge(known, seen);
  return { route: { hops: merged.hops, reached: true }, changed: merged.changed };
}

/** Hop by hop: the new address where heard, else the known one; changed where both are and differ. */
function merge(
  known: readonly (string | null)[],
  seen: readonly (string | null)[],
): { hops: (string | null)[]; changed: boolean } {
  const length = Math.max(known.length, seen.length);
  const hops: (string | null)[] = [];
  let changed = false;
  for (let i = 0; i < length; i++) {
    const before = known[i] ?? null;
    const now = seen[i] ?? null;
    if (before !== null && now !== null && before !== now) changed = true;
    hops.push(now ?? before);
  }
  return { hops, changed };
}

// Route changes, pure. A trace's hops are compared with the route as last
// known, not with the last trace alone: a hop silent this time keeps the
// router it had (one lost answer, or a rate-limited router, is not a route
// change), and a hop heard for the first time fills a gap. The route
// changes when a hop that is known on both sides names another router, or
// when the path gets longer or shorter.

import type { TracedHop } from './trace-run.js';

/** Hop addresses by TTL (index ttl-1); null: never heard. */
export type Route = readonly (string | null)[];

export interface RouteStep {
  /** The route known after this trace. */
  readonly route: Route;
  /** Whether it differs from the one before (never on the first trace). */
  readonly changed: boolean;
}

export function routeOf(hops: readonly TracedHop[]): Route {
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
  if (known === undefined) return { route: seen, changed: false };
  if (reached && seen.length !== known.length) {
    // A longer or shorter path is another route; its silent hops keep
    // nothing of the old one, whose TTLs now mean other routers.
    return { route: seen, changed: true };
  }
  const length = Math.max(known.length, seen.length);
  const route: (string | null)[] = [];
  let changed = false;
  for (let i = 0; i < length; i++) {
    const before = known[i] ?? null;
    const now = seen[i] ?? null;
    if (before !== null && now !== null && before !== now) changed = true;
    route.push(now ?? before);
  }
  return { route, changed };
}

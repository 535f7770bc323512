// The events /api/events, `npcli events` and the event stores speak of:
// outages (outage.ts) and route changes (route-event.ts), one schema each,
// told apart by `kind` (absent: an outage, as records were before).

import { newestFirst, outageFrom, recordOf, type Outage } from './outage.js';
import { routeEventFrom, type RouteEvent } from './route-event.js';

export type NetpingEvent = Outage | RouteEvent;
export type EventKind = 'outage' | 'route';
export const EVENT_KINDS: readonly EventKind[] = ['outage', 'route'];

export function kindOf(e: NetpingEvent): EventKind {
  return e.kind ?? 'outage';
}

export function isOutage(e: NetpingEvent): e is Outage {
  return e.kind !== 'route';
}

/** An event read back from a store or an API, checked; throws on an unknown kind or a bad field. */
export function parseEvent(text: string): NetpingEvent {
  const o = recordOf(text);
  return o.kind === 'route' ? routeEventFrom(o) : outageFrom(o);
}

/**
 * The events in records read newest first (a store's order): the first
 * record of an id is its state (an outage is written when it opens and
 * again when it closes). Damaged records are counted, not thrown.
 */
export function latestEvents(records: Iterable<string>): { events: NetpingEvent[]; bad: number } {
  const latest = new Map<string, NetpingEvent>();
  let bad = 0;
  for (const r of records) {
    try {
      const e = parseEvent(r);
      if (!latest.has(e.id)) latest.set(e.id, e);
    } catch {
      bad++;
    }
  }
  return { events: [...latest.values()].sort(newestFirst), bad };
}

/**
 * Where a daemon instance keeps its outages (lib/outages/): Redis Streams,
 * one stream per instance (`{P}:outages:<instance>`, XADD MAXLEN ~), or an
 * append-only JSON-lines file in the state directory (event-file.ts).
 * Records are opaque text here (lib/outages/events.ts gives them meaning):
 * an outage is appended when it opens and again when it closes, so the
 * newest record of an id is its state; a route change once. Both kinds
 * share the stream (its field is `outage` for either) and the file.
 */
export interface EventStore {
  appendOutages(records: readonly string[]): Promise<void>;
  /** Up to `limit` records, newest first. */
  recentOutages(limit: number): Promise<string[]>;
}

/** How many records a store keeps at least (Redis trims near it, the file rotates past it). */
export const KEPT_OUTAGE_RECORDS = 10_000;

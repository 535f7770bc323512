// How long a name's addresses are trusted before it is looked up again:
// the records' TTL within --dns-min-ttl and --dns-max-ttl, a little later
// at random so that names with equal TTLs do not all come due together, and
// after a failed lookup a retry that backs off.

export interface DnsTiming {
  /** --dns-min-ttl: no name is looked up more often than this. */
  readonly minTtlMs: number;
  /** --dns-max-ttl: every name is looked up at least this often. */
  readonly maxTtlMs: number;
  /** --dns-forget: how long a name may answer NXDOMAIN before its addresses are retired. */
  readonly forgetMs: number;
}

/** Names found only by the system lookup (/etc/hosts) carry no TTL: they are looked up this often. */
export const SYSTEM_REFRESH_MS = 60_000;

/** A later lookup is moved by up to this fraction of its delay. */
export const JITTER_FRACTION = 0.1;

/** Retries after failures double from the minimum TTL up to this (or the maximum TTL, if lower). */
export const MAX_RETRY_MS = 60_000;

export function clampTtlMs(ttlSeconds: number, t: DnsTiming): number {
  const ms = Number.isFinite(ttlSeconds) && ttlSeconds > 0 ? ttlSeconds * 1000 : 0;
  return Math.min(t.maxTtlMs, Math.max(t.minTtlMs, ms));
}

/**
 * The delay moved later by up to JITTER_FRACTION of itself (`random` in
 * [0, 1)): never earlier, so the minimum TTL stays a floor and a record is
 * not asked for again while a caching resolver still holds it.
 */
export function jitteredMs(delayMs: number, random: () => number): number {
  return delayMs + Math.floor(delayMs * JITTER_FRACTION * random());
}

/** The wait after the `failures`-th failed lookup in a row (1, 2, …). */
export function retryDelayMs(failures: number, t: DnsTiming): number {
  const cap = Math.max(t.minTtlMs, Math.min(t.maxTtlMs, MAX_RETRY_MS));
  const doublings = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(cap, t.minTtlMs * 2 ** doublings);
}

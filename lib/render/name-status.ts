// How a name followed in DNS is doing, in words: the heading over its
// addresses in the table at /, npcli stats and the browser view. Shared
// with the browser code (web/tsconfig.json), so it imports nothing.

/** The fields of a NameReport (lib/report.ts) that the status reads. */
export interface NameStatusFields {
  readonly host: string;
  readonly addresses: readonly string[];
  readonly result?: string;
  readonly error?: string;
  readonly resolvedAgoMs?: number;
  readonly failingForMs?: number;
  readonly nextInMs?: number;
}

/** "45s", "12m", "3h": a duration rounded down, for tables and error rows. */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

/**
 * "svc.example (DNS): resolved 3s ago, next in 2s", or, while lookups
 * fail, for how long, why, and how old the addresses probed are:
 * "svc.example (DNS): failing for 40s (timeout ETIMEOUT); addresses of 2m ago".
 */
export function nameStatus(n: NameStatusFields): string {
  const next = n.nextInMs === undefined ? '' : `, next in ${ageText(n.nextInMs)}`;
  if (n.failingForMs !== undefined) {
    const why = `${n.result ?? 'failed'}${n.error ? ` ${n.error}` : ''}`;
    const kept =
      n.resolvedAgoMs === undefined
        ? 'never resolved'
        : `addresses of ${ageText(n.resolvedAgoMs)} ago`;
    return `${n.host} (DNS): failing for ${ageText(n.failingForMs)} (${why}); ${kept}${next}`;
  }
  const resolved =
    n.resolvedAgoMs === undefined
      ? 'not looked up yet'
      : `resolved ${ageText(n.resolvedAgoMs)} ago`;
  return `${n.host} (DNS): ${resolved}${next}`;
}

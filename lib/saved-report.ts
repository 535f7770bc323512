// A report from saved statistics: what `npcli --redis … stats` shows of an
// instance, read from its hash in Redis (P:stats:<instance>, written every
// --save-interval) rather than from whichever daemon answers at --url.
// Saved statistics hold counters and aggregates, not settings: interval and
// timeout read as 0 (unknown), and nothing is in flight.

import type { DaemonReport, InvalidMember, TargetReport } from './report.js';
import { parseSavedStats, type SavedStats } from './stats/saved-stats.js';
import { parseTargetKey, probeKindOf } from './target.js';

export interface SavedReport {
  readonly instance: string;
  /** The latest save among its entries (wall-clock ms), undefined if none. */
  readonly savedAt: number | undefined;
  readonly report: DaemonReport;
  /** A group's statistics (lib/group/group-report.ts): the group, and the member owning these targets now (undefined: no live member). */
  readonly group?: string;
  readonly owner?: string | undefined;
}

export function savedReport(
  instance: string,
  entries: ReadonlyMap<string, string>,
  store: DaemonReport['store'],
  version: string,
  now: Date,
): SavedReport {
  const targets: TargetReport[] = [];
  const invalid: InvalidMember[] = [];
  let savedAt: number | undefined;
  for (const [key, text] of entries) {
    try {
      const saved = parseSavedStats(text);
      targets.push(fromSaved(key, saved));
      savedAt = Math.max(savedAt ?? 0, saved.savedAt);
    } catch (err) {
      invalid.push({ member: key, error: err instanceof Error ? err.message : String(err) });
    }
  }
  targets.sort((a, b) =>
    a.address < b.address ? -1 : a.address > b.address ? 1 : a.name < b.name ? -1 : 1,
  );
  return {
    instance,
    savedAt,
    report: {
      version,
      generatedAt: now.toISOString(),
      store,
      targets,
      invalid,
      ignoredPackets: {},
    },
  };
}

function fromSaved(key: string, s: SavedStats): TargetReport {
  const t = parseTargetKey(key);
  const ended = s.received + s.lost;
  const orUndefined = (v: number | null): number | undefined => (v === null ? undefined : v);
  return {
    name: t.name,
    address: t.address,
    probe: probeKindOf(t),
    ...(t.probe?.port === undefined ? {} : { port: t.probe.port }),
    family: t.family,
    intervalMs: 0,
    timeoutMs: 0,
    sent: s.sent,
    received: s.received,
    lost: s.lost,
    inFlight: 0,
    late: s.late,
    duplicates: s.duplicates,
    errors: s.errors,
    answers: s.answers ?? {},
    successPct: ended > 0 ? (100 * s.received) / ended : undefined,
    lossPct: ended > 0 ? (100 * s.lost) / ended : undefined,
    minMs: orUndefined(s.minMs),
    meanMs: s.received > 0 ? s.sumMs / s.received : undefined,
    avg15mMs: s.averages['15m']?.value,
    avg6hMs: s.averages['6h']?.value,
    avg24hMs: s.averages['24h']?.value,
    maxMs: orUndefined(s.maxMs),
    lastMs: orUndefined(s.lastMs),
  };
}

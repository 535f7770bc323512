// The shapes of the JSON the daemon serves (lib/report.ts, lib/http/history-api.ts),
// as far as the page reads them.

import type { NameStatusFields } from '../lib/render/name-status.js';

export interface TargetRow {
  name: string;
  address: string;
  /** icmp, tcp or udp; absent from a daemon older than probe kinds. */
  probe?: string;
  /** The port of a tcp or udp probe. */
  port?: number;
  sent: number;
  received: number;
  lost: number;
  late: number;
  duplicates: number;
  errors: Record<string, number>;
  /** Received probes with an unusual answer (tcp:refused), by answer. */
  answers?: Record<string, number>;
  lossPct?: number;
  minMs?: number;
  meanMs?: number;
  avg15mMs?: number;
  maxMs?: number;
  lastMs?: number;
  intervalMs: number;
  /** The followed name (a name@host member) this address is one of. */
  host?: string;
}

export interface Report {
  version: string;
  generatedAt: string;
  store: { kind: string; location: string; up: boolean };
  targets: TargetRow[];
  invalid: { member: string; error: string }[];
  /** Names followed in DNS (lib/report.ts NameReport); absent when there are none. */
  names?: NameStatusFields[];
}

/** GET /api/target: one live target's row. */
export interface TargetNow {
  generatedAt: string;
  target: TargetRow;
}

export interface Sparklines {
  from: number;
  step: number;
  targets: Record<string, { loss: (number | null)[]; medianMs: (number | null)[] }>;
}

export interface HistoryPoint {
  t: number;
  sent: number;
  lost: number;
  late: number;
  duplicates: number;
  errors: number;
  buckets: [number, number][];
  open?: boolean;
}

export interface History {
  target: string;
  range: string;
  step: number;
  from: number;
  to: number;
  bounds: number[];
  points: HistoryPoint[];
}

type Probed = { name: string; address: string; probe?: string; port?: number };

/** As lib/target.ts targetKey(): name@address for icmp, name@address?probe=tcp&port=443 otherwise. */
export const keyOf = (t: Probed): string =>
  !t.probe || t.probe === 'icmp'
    ? `${t.name}@${t.address}`
    : `${t.name}@${t.address}?probe=${t.probe}${t.port === undefined ? '' : `&port=${t.port}`}`;

/** As the table at / writes a probe: icmp, tcp:443, udp:9923. */
export const probeOf = (t: { probe?: string; port?: number }): string =>
  t.port === undefined ? (t.probe ?? 'icmp') : `${t.probe ?? 'icmp'}:${t.port}`;

/** The sum of a map of counts. */
export const total = (counts: Record<string, number> | undefined): number =>
  Object.values(counts ?? {}).reduce((a, b) => a + b, 0);

/** An outage as GET /api/events answers it (lib/outages/outage.ts). */
export interface OutageEvent {
  id: string;
  key: string;
  target: string;
  address: string;
  probe: string;
  instance: string;
  start: string;
  end: string | null;
  lost: number;
  reasons: Record<string, number>;
}

export interface Events {
  events: OutageEvent[];
}

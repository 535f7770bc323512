// The shapes of the JSON the daemon serves (lib/report.ts, lib/http/history-api.ts),
// as far as the page reads them.

export interface TargetRow {
  name: string;
  address: string;
  sent: number;
  received: number;
  lost: number;
  late: number;
  duplicates: number;
  errors: Record<string, number>;
  lossPct?: number;
  minMs?: number;
  meanMs?: number;
  avg15mMs?: number;
  maxMs?: number;
  lastMs?: number;
  intervalMs: number;
}

export interface Report {
  version: string;
  generatedAt: string;
  store: { kind: string; location: string; up: boolean };
  targets: TargetRow[];
  invalid: { member: string; error: string }[];
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

export const keyOf = (t: { name: string; address: string }): string => `${t.name}@${t.address}`;

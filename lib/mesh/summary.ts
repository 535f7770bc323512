// An instance's summary of its mesh targets over the last minute, written to
// Redis every few seconds (`P:mesh:summary:<id>`, expiring with the
// instance): what `npcli mesh`, /mesh and /api/mesh build the matrix from.
// Cumulative counters would hide a peer that died a minute ago behind an
// hour of good probes, so each row covers a sliding window (MeshWindow).

import { InvalidInputError } from '../errors.js';
import { validateInstance } from '../store/keys.js';

/** One peer, one probe kind, as seen from the summary's instance over the window. */
export interface SummaryRow {
  readonly to: string;
  readonly probe: string;
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  /** RTT histogram of the window: bucket index, count, … ascending (lib/stats/histogram.ts). */
  readonly buckets: readonly number[];
}

export interface MeshSummary {
  readonly from: string;
  /** ISO time it was written. */
  readonly at: string;
  readonly windowMs: number;
  readonly rows: readonly SummaryRow[];
}

/** The window the summary's rows cover. */
export const MESH_WINDOW_MS = 60_000;

const MAX_ROWS = 10_000;
const MAX_BUCKET_NUMBERS = 2 * 200;

export function encodeSummary(s: MeshSummary): string {
  return JSON.stringify({ v: 1, ...s });
}

export function decodeSummary(text: string): MeshSummary {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidInputError('mesh summary is not JSON');
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (o.v !== 1 || typeof o.from !== 'string' || !Array.isArray(o.rows)) {
    throw new InvalidInputError('mesh summary out of shape');
  }
  if (o.rows.length > MAX_ROWS) throw new InvalidInputError('mesh summary too long');
  return {
    from: validateInstance(o.from),
    at: typeof o.at === 'string' ? o.at.slice(0, 40) : '',
    windowMs: count(o.windowMs),
    rows: o.rows.map(decodeRow),
  };
}

function decodeRow(raw: unknown): SummaryRow {
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (
    typeof o.to !== 'string' ||
    typeof o.probe !== 'string' ||
    !/^[a-z0-9]{1,16}$/.test(o.probe)
  ) {
    throw new InvalidInputError('mesh summary row out of shape');
  }
  const buckets = Array.isArray(o.buckets) ? o.buckets : [];
  if (buckets.length > MAX_BUCKET_NUMBERS || buckets.length % 2 !== 0) {
    throw new InvalidInputError('mesh summary row: bad buckets');
  }
  return {
    to: validateInstance(o.to),
    probe: o.probe,
    sent: count(o.sent),
    received: count(o.received),
    lost: count(o.lost),
    buckets: buckets.map(count),
  };
}

function count(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidInputError('mesh summary: a count is not a whole number');
  }
  return v;
}

/** Adds sparse (index, count) lists, keeping them ascending by index. */
export function addBuckets(a: readonly number[], b: readonly number[]): number[] {
  const m = new Map<number, number>();
  for (const list of [a, b]) {
    for (let k = 0; k + 1 < list.length; k += 2) {
      m.set(list[k]!, (m.get(list[k]!) ?? 0) + list[k + 1]!);
    }
  }
  return [...m.entries()].sort((x, y) => x[0] - y[0]).flat();
}

// The daemon's state as plain data: what the table at /, /metrics,
// /api/targets and `npcli stats` all read. Built in one pass, so every view of
// one request shows the same moment.

import { sortByAddress } from './address.js';
import { runAll } from './slicing.js';
import type { ProbedTarget } from './engine/icmp-engine.js';
import type { HistogramSnapshot } from './stats/histogram.js';

export interface TargetReport {
  name: string;
  address: string;
  family: 4 | 6;
  intervalMs: number;
  timeoutMs: number;
  sent: number;
  received: number;
  lost: number;
  inFlight: number;
  late: number;
  duplicates: number;
  errors: Record<string, number>;
  /** Of the probes that have ended (received + lost); undefined before any has. */
  successPct: number | undefined;
  lossPct: number | undefined;
  minMs: number | undefined;
  meanMs: number | undefined;
  avg15mMs: number | undefined;
  avg6hMs: number | undefined;
  avg24hMs: number | undefined;
  maxMs: number | undefined;
  lastMs: number | undefined;
}

/** A member of the target set that does not parse; shown, never pinged. */
export interface InvalidMember {
  member: string;
  error: string;
}

export interface StoreReport {
  kind: string;
  location: string;
  up: boolean;
}

export interface DaemonReport {
  version: string;
  generatedAt: string;
  store: StoreReport;
  targets: TargetReport[];
  invalid: InvalidMember[];
  ignoredPackets: Record<string, number>;
}

/** The report plus the histograms, which only /metrics needs. */
export interface DaemonSnapshot {
  report: DaemonReport;
  histograms: HistogramSnapshot[]; // parallel to report.targets
}

/**
 * The snapshot, built one target at a time: yields after each, so that
 * runSliced() can spread 10,000 targets over many short turns of the event
 * loop. `probed` comes in the order of the report (by address, then name).
 */
export function* buildSnapshot(
  probed: Iterable<ProbedTarget>,
  invalid: readonly InvalidMember[],
  store: StoreReport,
  ignored: ReadonlyMap<string, number>,
  version: string,
  now: Date,
): Generator<void, DaemonSnapshot> {
  const targets: TargetReport[] = [];
  const histograms: HistogramSnapshot[] = [];
  for (const p of probed) {
    const s = p.stats.snapshot();
    const ended = s.received + s.lost;
    histograms.push(s.histogram);
    targets.push({
      name: p.target.name,
      address: p.target.address,
      family: p.target.family,
      intervalMs: p.settings.intervalMs,
      timeoutMs: p.settings.timeoutMs,
      sent: s.sent,
      received: s.received,
      lost: s.lost,
      inFlight: p.ledger.inFlight,
      late: s.late,
      duplicates: s.duplicates,
      errors: s.errors,
      successPct: ended > 0 ? (100 * s.received) / ended : undefined,
      lossPct: ended > 0 ? (100 * s.lost) / ended : undefined,
      minMs: s.minMs,
      meanMs: s.meanMs,
      avg15mMs: s.avg15mMs,
      avg6hMs: s.avg6hMs,
      avg24hMs: s.avg24hMs,
      maxMs: s.maxMs,
      lastMs: s.lastMs,
    });
    yield;
  }
  return {
    report: {
      version,
      generatedAt: now.toISOString(),
      store,
      targets,
      invalid: [...invalid],
      ignoredPackets: Object.fromEntries(ignored),
    },
    histograms,
  };
}

/** The snapshot in one go, sorting `probed` first: for tests and small sets. */
export function snapshotOf(
  probed: Iterable<ProbedTarget>,
  invalid: readonly InvalidMember[],
  store: StoreReport,
  ignored: ReadonlyMap<string, number>,
  version: string,
  now: Date,
): DaemonSnapshot {
  const sorted = sortByAddress(
    [...probed],
    (p) => p.target.address,
    (p) => p.target.name,
  );
  return runAll(buildSnapshot(sorted, invalid, store, ignored, version, now));
}

/**
 * The report as JSON text, the same as JSON.stringify(report), in pieces of
 * one target each, for slicedChunks().
 */
export function* reportJson(report: DaemonReport): Generator<string> {
  const { targets, invalid, ignoredPackets, ...head } = report;
  yield JSON.stringify(head).slice(0, -1);
  yield* jsonArray('targets', targets);
  yield* jsonArray('invalid', invalid);
  yield `,"ignoredPackets":${JSON.stringify(ignoredPackets)}}`;
}

function* jsonArray(field: string, items: readonly unknown[]): Generator<string> {
  yield `,${JSON.stringify(field)}:[`;
  for (let i = 0; i < items.length; i++) yield (i === 0 ? '' : ',') + JSON.stringify(items[i]);
  yield ']';
}

// The daemon's state as plain data: what the table at /, /metrics,
// /api/targets and `npcli stats` all read. Built in one pass, so every view of
// one request shows the same moment.

import type { ProbedTarget } from './engine/probe-engine.js';
import type { HistogramSnapshot } from './stats/histogram.js';
import type { Labels } from './labels.js';
import type { ProbeSpec } from './target.js';
import type { Direction } from './throughput/client.js';
import type { ThroughputReport } from './throughput/runner.js';

export type { ThroughputReport };

export interface TargetReport {
  name: string;
  address: string;
  /** The probe kind: icmp, tcp or udp. */
  probe: string;
  /** The port of a tcp or udp probe; absent for icmp. */
  port?: number;
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
  /** Received probes whose answer was not the usual one, by answer (`tcp:refused`). */
  answers: Record<string, number>;
  /** The target's labels (lib/labels.ts), when it has any: label.KEY=VALUE, or a mesh peer's. */
  labels?: Labels;
  /** The followed name (name@host member) this address is one of; absent for a pinned address. */
  host?: string;
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

/** A name followed in DNS (a name@host member), as the table and npcli stats show it. */
export interface NameReport {
  host: string;
  /** The addresses probed now (the last good answer's). */
  addresses: string[];
  /** The last lookup's result (netping_dns_lookups_total's `result`); absent before the first. */
  result?: string;
  /** The last failure's error code (ETIMEOUT, ENOTFOUND…), while failing. */
  error?: string;
  /** How long ago the addresses were last confirmed; absent when never. */
  resolvedAgoMs?: number;
  /** How long lookups have failed in a row; absent when the last one was good. */
  failingForMs?: number;
  /** When the next lookup is due, from now; absent while one is in flight. */
  nextInMs?: number;
  /** Lookups since the name was first followed, by result. */
  lookups: Record<string, number>;
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
  /** Throughput targets (their own runner, not the engine); absent from older daemons. */
  throughput?: ThroughputReport[];
  /** Names followed in DNS; absent when there are none (and from older daemons). */
  names?: NameReport[];
}

/** The report plus the histograms, as plain data (tests, small sets). */
export interface DaemonSnapshot {
  report: DaemonReport;
  histograms: HistogramSnapshot[]; // parallel to report.targets
}

/** The report without its targets and names. */
export type ReportHead = Omit<DaemonReport, 'targets' | 'names'>;

/** A target's counters as /metrics reads them. */
export interface TargetCounters {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly late: number;
  readonly duplicates: number;
}

/**
 * What the pages read: the head at once, each target only when asked for.
 * Over live targets (liveView), nothing is copied ahead: a page of 10,000
 * targets never holds 10,000 target objects at once, so garbage collection,
 * which must copy what is alive, stays short while the page is written
 * (the event loop is our stopwatch). Targets come in report order: by
 * address, then name.
 */
export interface DaemonView {
  readonly head: ReportHead;
  readonly size: number;
  target(i: number): TargetReport;
  counters(i: number): TargetCounters;
  errors(i: number): Iterable<readonly [string, number]>;
  answers(i: number): Iterable<readonly [string, number]>;
  histogram(i: number): HistogramSnapshot;
  name(i: number): string;
  address(i: number): string;
  /** Undefined for ICMP. */
  probe(i: number): ProbeSpec | undefined;
  /** The target's own labels, sorted by name; undefined for none. */
  labels(i: number): Labels | undefined;
  /** RTTs under load of head.throughput[i], by direction. */
  throughputHistograms?(i: number): Readonly<Record<Direction, HistogramSnapshot>>;
  /** The names followed in DNS, read when asked for (there may be thousands); by host. */
  names(): Iterable<NameReport>;
  /** The followed name a target's address is one of; undefined for a pinned address. */
  host(i: number): string | undefined;
  /** Whether the target is up (not in an outage) and its outages so far; absent without outage tracking. */
  outage?(i: number): TargetOutageState;
  /** The target's path's route changes and MTU; undefined until traced, absent without tracing. */
  path?(i: number): TargetPathState | undefined;
}

export interface TargetPathState {
  readonly changes: number;
  readonly mtu: number | null;
}

/** What liveView asks of the path keeper (daemon/path-keeper.ts), by target key. */
export interface PathStates {
  pathOf(key: string): TargetPathState | undefined;
}

export interface TargetOutageState {
  readonly up: boolean;
  readonly outages: number;
}

/** What liveView asks of the outage detector, by target key. */
export interface OutageStates {
  isUp(key: string): boolean;
  outagesOf(key: string): number;
}

/** A view over plain data. */
export function viewOf(snapshot: DaemonSnapshot): DaemonView {
  const { report, histograms } = snapshot;
  const { targets, names, ...head } = report;
  return {
    head,
    names: () => names ?? [],
    host: (i) => targets[i]!.host,
    size: targets.length,
    target: (i) => targets[i]!,
    counters: (i) => targets[i]!,
    errors: (i) => Object.entries(targets[i]!.errors),
    answers: (i) => Object.entries(targets[i]!.answers),
    histogram: (i) => histograms[i]!,
    name: (i) => targets[i]!.name,
    address: (i) => targets[i]!.address,
    probe: (i) => probeSpecOf(targets[i]!),
    labels: (i) => targets[i]!.labels,
  };
}

/** A view over live targets, in the order given (report order: see ProbeEngine.sortedTargets). */
export function liveView(
  probed: readonly ProbedTarget[],
  head: ReportHead,
  /** Read with the head: the same targets as head.throughput, in its order. */
  throughputHistograms?: readonly Readonly<Record<Direction, HistogramSnapshot>>[],
  names: () => Iterable<NameReport> = () => [],
  outages?: OutageStates,
  paths?: PathStates,
): DaemonView {
  return {
    names,
    host: (i) => probed[i]!.target.host,
    ...(throughputHistograms
      ? { throughputHistograms: (i: number) => throughputHistograms[i]! }
      : {}),
    ...(outages
      ? {
          outage: (i: number) => {
            const key = probed[i]!.key;
            return { up: outages.isUp(key), outages: outages.outagesOf(key) };
          },
        }
      : {}),
    ...(paths ? { path: (i: number) => paths.pathOf(probed[i]!.key) } : {}),
    head,
    size: probed.length,
    target: (i) => targetReport(probed[i]!),
    counters: (i) => probed[i]!.stats,
    errors: (i) => probed[i]!.stats.errors,
    answers: (i) => probed[i]!.stats.answers,
    histogram: (i) => probed[i]!.stats.histogram.snapshot(),
    name: (i) => probed[i]!.target.name,
    address: (i) => probed[i]!.target.address,
    probe: (i) => probed[i]!.target.probe,
    labels: (i) => probed[i]!.target.labels,
  };
}

/** A report row's probe as a target's spec: undefined for ICMP. */
export function probeSpecOf(t: Pick<TargetReport, 'probe' | 'port'>): ProbeSpec | undefined {
  if (t.probe === 'icmp') return undefined;
  return t.port === undefined ? { kind: t.probe } : { kind: t.probe, port: t.port };
}

/** One row of the report, read from a live target now. */
export function targetReport(p: ProbedTarget): TargetReport {
  const s = p.stats.summary();
  const ended = s.received + s.lost;
  const port = p.target.probe?.port;
  const report: TargetReport = {
    name: p.target.name,
    address: p.target.address,
    // Written out, not spread from probeFields(): this runs for every row of every page.
    probe: p.target.probe?.kind ?? 'icmp',
    ...(port === undefined ? {} : { port }),
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
    answers: s.answers,
    successPct: ended > 0 ? (100 * s.received) / ended : undefined,
    lossPct: ended > 0 ? (100 * s.lost) / ended : undefined,
    minMs: s.minMs,
    meanMs: s.meanMs,
    avg15mMs: s.avg15mMs,
    avg6hMs: s.avg6hMs,
    avg24hMs: s.avg24hMs,
    maxMs: s.maxMs,
    lastMs: s.lastMs,
  };
  // Set only when present, so unlabelled targets' JSON is as it was.
  if (p.target.labels !== undefined) report.labels = p.target.labels;
  if (p.target.host !== undefined) report.host = p.target.host;
  return report;
}

/** The head of a report about to be read from live targets. */
export function reportHead(
  invalid: readonly InvalidMember[],
  store: StoreReport,
  ignored: ReadonlyMap<string, number>,
  version: string,
  now: Date,
  throughput?: { reports(nowWallMs: number): ThroughputReport[] },
): ReportHead {
  return {
    version,
    generatedAt: now.toISOString(),
    store,
    invalid: [...invalid],
    ignoredPackets: Object.fromEntries(ignored),
    ...(throughput ? { throughput: throughput.reports(now.getTime()) } : {}),
  };
}

/**
 * The report as JSON text, the same as JSON.stringify of the whole report,
 * in pieces of one target each, for slicedChunks().
 */
export function* reportJson(view: DaemonView): Generator<string> {
  const { invalid, ignoredPackets, ...head } = view.head;
  yield JSON.stringify(head).slice(0, -1) + ',"targets":[';
  for (let i = 0; i < view.size; i++) yield (i === 0 ? '' : ',') + JSON.stringify(view.target(i));
  yield '],"invalid":[';
  for (let i = 0; i < invalid.length; i++) yield (i === 0 ? '' : ',') + JSON.stringify(invalid[i]);
  yield `],"ignoredPackets":${JSON.stringify(ignoredPackets)}`;
  // Only with names, so the JSON of a daemon without is as it was.
  let first = true;
  for (const name of view.names()) {
    yield (first ? ',"names":[' : ',') + JSON.stringify(name);
    first = false;
  }
  yield first ? '}' : ']}';
}

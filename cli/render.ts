// Turns command results into what npcli prints: cli-table3 tables, or JSON.

import Table from 'cli-table3';
import { formatLabels } from '../lib/labels.js';
import type { DaemonReport, TargetReport } from '../lib/report.js';
import { renderColumns } from '../lib/render/columns.js';
import { printable } from '../lib/render/printable.js';
import {
  ANSWERS_HEADING,
  answersLine,
  answersText,
  ms,
  nameHeadings,
  percent,
  probeCell,
  STATS_FOOTER,
} from '../lib/render/summary-table.js';
import { formatOverrides } from '../lib/target.js';
import { throughputLines } from '../lib/throughput/render.js';
import type { ChangeResult, ListResult } from '../lib/target-changes.js';

function table(head: string[], rows: string[][], rightFrom: number): string {
  const t = new Table({
    head,
    style: { head: [], border: [] }, // no colours: output is often piped
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    colAligns: head.map((_, i) => (i >= rightFrom ? 'right' : 'left')),
  });
  t.push(...rows);
  return t.toString();
}

export function renderChanges(verb: 'added' | 'removed', results: readonly ChangeResult[]): string {
  const lines = results.map(
    (r) =>
      `${r.changed ? verb : 'unchanged'} ${printable(r.member)}` +
      // A followed name: what it resolves to now (netpingd looks it up again by its TTL).
      (r.addresses ? `, now ${r.addresses.map((a) => printable(a)).join(', ')}` : ''),
  );
  if (verb === 'removed') {
    const n = results.filter((r) => r.changed).length;
    lines.push(`${n} ${n === 1 ? 'target' : 'targets'} removed`);
  }
  return lines.join('\n');
}

export function renderList(list: ListResult): string {
  const own = list.targets.some((t) => t.intervalMs !== undefined || t.timeoutMs !== undefined);
  const labelled = list.targets.some((t) => t.labels !== undefined);
  const rows = list.targets.map((t) => {
    // Every cell: the list may come from a daemon over the network.
    const row = [t.name, t.address ?? `${t.host ?? ''} (DNS)`, probeCell(t)];
    if (own) row.push(formatOverrides(t).replace(/^\?/, '').replace('&', ' '));
    if (labelled) row.push(formatLabels(t.labels) || '-');
    return row.map(printable);
  });
  const head = ['Name', 'Address', 'Probe'];
  if (own) head.push('Own settings');
  if (labelled) head.push('Labels');
  const lines = [table(head, rows, head.length)];
  for (const bad of list.invalid)
    lines.push(`invalid member ${printable(bad.member)}: ${printable(bad.error)}`);
  return lines.join('\n');
}

interface StatsColumn {
  readonly title: string;
  readonly cell: (t: TargetReport) => string;
  /** Shown without --wide. */
  readonly narrow?: true;
}

const STATS_COLUMNS: readonly StatsColumn[] = [
  { title: 'Name', cell: (t) => t.name, narrow: true },
  { title: 'Address', cell: (t) => t.address, narrow: true },
  { title: 'Probe', cell: probeCell, narrow: true },
  { title: 'Sent', cell: (t) => String(t.sent) },
  { title: 'Recv', cell: (t) => String(t.received) },
  { title: 'Succ', cell: (t) => percent(t.successPct) },
  { title: 'Loss', cell: (t) => percent(t.lossPct), narrow: true },
  { title: 'Late', cell: (t) => String(t.late) },
  { title: 'Dup', cell: (t) => String(t.duplicates) },
  { title: 'Min', cell: (t) => ms(t.minMs) },
  { title: 'Avg15m', cell: (t) => ms(t.avg15mMs), narrow: true },
  { title: 'Avg6h', cell: (t) => ms(t.avg6hMs) },
  { title: 'Avg24h', cell: (t) => ms(t.avg24hMs), narrow: true },
  { title: 'Max', cell: (t) => ms(t.maxMs) },
  { title: 'Last', cell: (t) => ms(t.lastMs), narrow: true },
];

/** What an 80-column terminal holds; without --wide, names are cut to fit it. */
export const NARROW_WIDTH = 80;

/**
 * The report as a table: by default the columns that fit 80 characters with
 * everyday names and addresses (long names are cut with '…'); `wide`, every
 * column and whole names.
 */
export function renderStats(report: DaemonReport, opts: { wide?: boolean } = {}): string {
  const columns = opts.wide ? STATS_COLUMNS : STATS_COLUMNS.filter((c) => c.narrow);
  const table = renderColumns({
    head: columns.map((c) => c.title),
    rows: report.targets.map((t) => columns.map((c) => printable(c.cell(t)))),
    leftAligned: 3,
    separator: true,
    ...(opts.wide ? {} : { maxWidth: NARROW_WIDTH }),
  });
  // A followed name's status above the first of its addresses (the header and its dashes first).
  const heading = nameHeadings({ names: () => report.names ?? [] });
  const lines = table.slice(0, 2);
  report.targets.forEach((t, i) => {
    const above = heading(t.host);
    if (above !== undefined) {
      const text = printable(above);
      lines.push(
        opts.wide || text.length <= NARROW_WIDTH ? text : `${text.slice(0, NARROW_WIDTH - 1)}…`,
      );
    }
    lines.push(table[i + 2]!);
  });
  if (!report.store.up)
    lines.unshift(
      `store ${printable(report.store.kind)} at ${printable(report.store.location)} is unreachable: targets may be stale`,
    );
  for (const bad of report.invalid)
    lines.push(`invalid member ${printable(bad.member)}: ${printable(bad.error)}`);
  const answered = report.targets.flatMap((t) => {
    // `?? {}`: a daemon older than probe kinds sends no answers.
    const text = answersText(Object.entries(t.answers ?? {}));
    return text ? [answersLine(t, text)] : [];
  });
  if (answered.length > 0) lines.push('', ANSWERS_HEADING, ...answered);
  lines.push('', STATS_FOOTER);
  if (!opts.wide) lines.push('--wide adds Sent, Recv, Succ, Late, Dup, Min, Avg6h and Max.');
  const throughput = throughputLines(report.throughput);
  if (throughput.length > 0) lines.push('', ...throughput);
  return lines.join('\n');
}

const MS_DECIMALS = 3; // microseconds
const PCT_DECIMALS = 3;

function round(value: number | undefined, decimals: number): number | undefined {
  if (value === undefined) return undefined;
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/**
 * The report for `npcli stats --json`: times rounded to the microsecond and
 * percentages to 3 decimals, since the float noise of the averages
 * (0.09815600000001723) means nothing to a reader. GET /api/targets stays raw.
 */
export function roundedReport(report: DaemonReport): DaemonReport {
  return {
    ...report,
    targets: report.targets.map((t) => ({
      ...t,
      successPct: round(t.successPct, PCT_DECIMALS),
      lossPct: round(t.lossPct, PCT_DECIMALS),
      minMs: round(t.minMs, MS_DECIMALS),
      meanMs: round(t.meanMs, MS_DECIMALS),
      avg15mMs: round(t.avg15mMs, MS_DECIMALS),
      avg6hMs: round(t.avg6hMs, MS_DECIMALS),
      avg24hMs: round(t.avg24hMs, MS_DECIMALS),
      maxMs: round(t.maxMs, MS_DECIMALS),
      lastMs: round(t.lastMs, MS_DECIMALS),
    })),
  };
}

// The plaintext table served at /, in the spirit of meshping's.

import type { DaemonReport, TargetReport } from '../report.js';
import { printable } from './printable.js';

const COLUMNS: { title: string; cell: (t: TargetReport) => string }[] = [
  { title: 'Name', cell: (t) => t.name },
  { title: 'Address', cell: (t) => t.address },
  { title: 'Sent', cell: (t) => String(t.sent) },
  { title: 'Recv', cell: (t) => String(t.received) },
  { title: 'Succ', cell: (t) => percent(t.successPct) },
  { title: 'Loss', cell: (t) => percent(t.lossPct) },
  { title: 'Min', cell: (t) => ms(t.minMs) },
  { title: 'Avg15m', cell: (t) => ms(t.avg15mMs) },
  { title: 'Avg6h', cell: (t) => ms(t.avg6hMs) },
  { title: 'Avg24h', cell: (t) => ms(t.avg24hMs) },
  { title: 'Max', cell: (t) => ms(t.maxMs) },
  { title: 'Last', cell: (t) => ms(t.lastMs) },
];
const LEFT_ALIGNED = 2; // name and address; numbers align right

/** Under every table of statistics, at / and in `npcli stats`. */
export const STATS_FOOTER =
  'Times in milliseconds. Succ and Loss are of the probes that have ended.';

export function percent(value: number | undefined): string {
  return value === undefined ? '-' : `${value.toFixed(2)}%`;
}

export function ms(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(2);
}

export function renderSummaryTable(report: DaemonReport): string {
  const rows = report.targets.map((t) => COLUMNS.map((c) => printable(c.cell(t))));
  const widths = COLUMNS.map((c, i) =>
    Math.max([...c.title].length, ...rows.map((r) => [...r[i]!].length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - [...cell].length);
        return i < LEFT_ALIGNED ? cell + pad : pad + cell;
      })
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  if (!report.store.up) {
    out.push(
      `# store ${report.store.kind} at ${report.store.location} is unreachable: targets may be stale`,
    );
  }
  out.push(line(COLUMNS.map((c) => c.title)));
  for (const r of rows) out.push(line(r));
  for (const bad of report.invalid) out.push(`ERROR  ${printable(bad.member)}: ${bad.error}`);
  out.push('', STATS_FOOTER);
  return out.join('\n') + '\n';
}

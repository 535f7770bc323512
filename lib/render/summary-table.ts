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

export function percent(value: number | undefined): string {
  return value === undefined ? '-' : `${value.toFixed(2)}%`;
}

export function ms(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(2);
}

/**
 * The table in pieces, a row at a time, for slicedChunks(): a first pass
 * measures the columns (yielding an empty pause point per row), a second
 * writes the lines.
 */
export function* summaryTablePieces(report: DaemonReport): Generator<string> {
  const rows: string[][] = [];
  const widths = COLUMNS.map((c) => [...c.title].length);
  for (const t of report.targets) {
    const row = COLUMNS.map((c) => printable(c.cell(t)));
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i]!, [...cell].length)));
    rows.push(row);
    yield '';
  }
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - [...cell].length);
        return i < LEFT_ALIGNED ? cell + pad : pad + cell;
      })
      .join('  ')
      .trimEnd() + '\n';
  if (!report.store.up) {
    yield `# store ${report.store.kind} at ${report.store.location} is unreachable: targets may be stale\n`;
  }
  yield line(COLUMNS.map((c) => c.title));
  for (const r of rows) yield line(r);
  for (const bad of report.invalid) yield `ERROR  ${printable(bad.member)}: ${bad.error}\n`;
  yield '\nTimes in milliseconds. Succ and Loss are of the probes that have ended.\n';
}

export function renderSummaryTable(report: DaemonReport): string {
  return [...summaryTablePieces(report)].join('');
}

// Turns command results into what npcli prints: cli-table3 tables, or JSON.

import Table from 'cli-table3';
import type { DaemonReport } from '../lib/report.js';
import { printable } from '../lib/render/printable.js';
import { formatOverrides } from '../lib/target.js';
import { ms, percent } from '../lib/render/summary-table.js';
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
  return results.map((r) => `${r.changed ? verb : 'unchanged'} ${printable(r.member)}`).join('\n');
}

export function renderList(list: ListResult): string {
  const own = list.targets.some((t) => t.intervalMs !== undefined || t.timeoutMs !== undefined);
  const rows = list.targets.map((t) => {
    const row = [printable(t.name), t.address];
    if (own) row.push(formatOverrides(t).replace(/^\?/, '').replace('&', ' '));
    return row;
  });
  const lines = [table(own ? ['Name', 'Address', 'Own settings'] : ['Name', 'Address'], rows, 3)];
  for (const bad of list.invalid)
    lines.push(`invalid member ${printable(bad.member)}: ${bad.error}`);
  return lines.join('\n');
}

export function renderStats(report: DaemonReport): string {
  const rows = report.targets.map((t) => [
    printable(t.name),
    t.address,
    String(t.sent),
    String(t.received),
    percent(t.successPct),
    percent(t.lossPct),
    String(t.late),
    String(t.duplicates),
    ms(t.minMs),
    ms(t.avg15mMs),
    ms(t.avg6hMs),
    ms(t.avg24hMs),
    ms(t.maxMs),
    ms(t.lastMs),
  ]);
  const head = [
    'Name',
    'Address',
    'Sent',
    'Recv',
    'Succ',
    'Loss',
    'Late',
    'Dup',
    'Min',
    'Avg15m',
    'Avg6h',
    'Avg24h',
    'Max',
    'Last',
  ];
  const lines = [table(head, rows, 2)];
  if (!report.store.up)
    lines.unshift(
      `store ${report.store.kind} at ${report.store.location} is unreachable: targets may be stale`,
    );
  for (const bad of report.invalid)
    lines.push(`invalid member ${printable(bad.member)}: ${bad.error}`);
  lines.push('Times in ms; Succ and Loss are of the probes that have ended.');
  return lines.join('\n');
}

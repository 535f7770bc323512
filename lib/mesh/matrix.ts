// The mesh matrix from the registry and the summaries: rows = from,
// columns = to, a cell per probe kind. The same data for `npcli mesh`,
// /mesh (text) and /api/mesh (JSON); `groupBy` collapses instances to the
// value of one of their labels (DC × DC, as Pingmesh does).

import { quantile } from '../history/quantiles.js';
import type { Labels } from '../labels.js';
import { renderColumns } from '../render/columns.js';
import { printable } from '../render/printable.js';
import { BUCKET_BOUNDS_SECONDS } from '../stats/histogram.js';
import type { Registration } from './registration.js';
import { addBuckets, type MeshSummary } from './summary.js';

export interface MeshInstance {
  readonly id: string;
  readonly labels: Labels;
  readonly addresses: readonly string[];
}

export interface MeshPair {
  readonly from: string;
  readonly to: string;
  readonly probe: string;
  readonly sent: number;
  readonly received: number;
  /** Percent of the probes that ended (received + lost); null before any has. */
  readonly loss: number | null;
  /** Median RTT in ms; null without a reply. */
  readonly medianMs: number | null;
}

export interface MeshMatrix {
  readonly instances: MeshInstance[];
  readonly pairs: MeshPair[];
}

/** The matrix collapsed to one label: `groups` are its values (`-` for instances without it). */
export interface GroupedMatrix {
  readonly groupBy: string;
  readonly groups: { readonly value: string; readonly instances: string[] }[];
  readonly pairs: MeshPair[];
}

export const NO_LABEL_VALUE = '-';

interface Cell {
  sent: number;
  received: number;
  lost: number;
  buckets: number[];
}

/**
 * Cells between live instances only: a summary still naming a peer that
 * has expired, or written by one, is left out, so an instance leaves the
 * matrix with its registration.
 */
function cells(
  registrations: readonly Registration[],
  summaries: readonly MeshSummary[],
  groupOf: (id: string) => string,
): Map<string, Cell> {
  const live = new Set(registrations.map((r) => r.id));
  const out = new Map<string, Cell>();
  for (const s of summaries) {
    if (!live.has(s.from)) continue;
    for (const row of s.rows) {
      if (!live.has(row.to) || row.to === s.from) continue;
      const key = JSON.stringify([groupOf(s.from), groupOf(row.to), row.probe]);
      const cell = out.get(key) ?? { sent: 0, received: 0, lost: 0, buckets: [] };
      cell.sent += row.sent;
      cell.received += row.received;
      cell.lost += row.lost;
      cell.buckets = addBuckets(cell.buckets, row.buckets);
      out.set(key, cell);
    }
  }
  return out;
}

function pairsOf(c: Map<string, Cell>): MeshPair[] {
  const pairs: MeshPair[] = [];
  for (const [key, cell] of c) {
    const [from, to, probe] = JSON.parse(key) as [string, string, string];
    const ended = cell.received + cell.lost;
    const median = quantile(cell.buckets, BUCKET_BOUNDS_SECONDS, 0.5);
    pairs.push({
      from,
      to,
      probe,
      sent: cell.sent,
      received: cell.received,
      loss: ended > 0 ? round((100 * cell.lost) / ended, 2) : null,
      medianMs: median === undefined ? null : round(median * 1000, 3),
    });
  }
  return pairs.sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to) || cmp(a.probe, b.probe));
}

export function buildMatrix(
  registrations: readonly Registration[],
  summaries: readonly MeshSummary[],
): MeshMatrix {
  const instances = [...registrations]
    .sort((a, b) => cmp(a.id, b.id))
    .map((r) => ({ id: r.id, labels: r.labels, addresses: [...r.addresses] }));
  return { instances, pairs: pairsOf(cells(registrations, summaries, (id) => id)) };
}

export function groupMatrix(
  registrations: readonly Registration[],
  summaries: readonly MeshSummary[],
  label: string,
): GroupedMatrix {
  const valueOf = new Map(registrations.map((r) => [r.id, r.labels[label] ?? NO_LABEL_VALUE]));
  const groups = new Map<string, string[]>();
  for (const r of [...registrations].sort((a, b) => cmp(a.id, b.id))) {
    const v = valueOf.get(r.id)!;
    groups.set(v, [...(groups.get(v) ?? []), r.id]);
  }
  return {
    groupBy: label,
    groups: [...groups.entries()]
      .sort((a, b) => cmp(a[0], b[0]))
      .map(([value, instances]) => ({ value, instances })),
    pairs: pairsOf(cells(registrations, summaries, (id) => valueOf.get(id) ?? NO_LABEL_VALUE)),
  };
}

/** The matrix as text: a row per (from, probe kind), a column per to, cells "loss% median". */
export function renderMatrix(
  names: readonly string[],
  pairs: readonly MeshPair[],
  title: string,
): string {
  const probes = [...new Set(pairs.map((p) => p.probe))].sort();
  const byCell = new Map(pairs.map((p) => [`${p.from}\n${p.to}\n${p.probe}`, p]));
  const rows: string[][] = [];
  for (const from of names) {
    probes.forEach((probe, k) => {
      rows.push([
        k === 0 ? printable(from) : '',
        probe,
        ...names.map((to) => {
          const p = byCell.get(`${from}\n${to}\n${probe}`);
          // Within a group (DC × DC) the diagonal has pairs; between instances not.
          return p ? cellText(p) : to === from ? '·' : '-';
        }),
      ]);
    });
  }
  const lines = [title];
  if (names.length === 0) lines.push('no meshed instances are registered');
  else if (pairs.length === 0) lines.push('no measurements yet');
  else {
    lines.push(
      ...renderColumns({
        head: ['from \\ to', 'probe', ...names.map(printable)],
        rows,
        leftAligned: 2,
        separator: true,
      }),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** "0% 0.081ms", "12.5% 3.20ms", "100%", "-" before any probe has ended. */
export function cellText(p: MeshPair): string {
  if (p.loss === null) return '…';
  const loss = `${Number.isInteger(p.loss) ? p.loss : p.loss.toFixed(1)}%`;
  return p.medianMs === null ? loss : `${loss} ${formatMs(p.medianMs)}ms`;
}

function formatMs(ms: number): string {
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  return ms.toFixed(1);
}

/** The text of a whole matrix: the table, then who is who. */
export function renderMeshText(m: MeshMatrix, windowS: number): string {
  const table = renderMatrix(
    m.instances.map((i) => i.id),
    m.pairs,
    `mesh of ${m.instances.length} instances: loss and median RTT over the last ${windowS} s, rows from, columns to`,
  );
  const who = renderColumns({
    head: ['instance', 'labels', 'addresses'],
    rows: m.instances.map((i) => [
      printable(i.id),
      Object.entries(i.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-',
      i.addresses.join(',') || '-',
    ]),
    leftAligned: 3,
  });
  return `${table}\n${who.join('\n')}\n`;
}

export function renderGroupedText(g: GroupedMatrix, windowS: number): string {
  return renderMatrix(
    g.groups.map((x) => x.value),
    g.pairs,
    `mesh by ${g.groupBy}: loss and median RTT over the last ${windowS} s, rows from, columns to`,
  );
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

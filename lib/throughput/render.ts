// The throughput section of the table at / and of `npcli stats`: one row
// per throughput target with its last figures, their age and the last
// test's result.

import { renderColumns } from '../render/columns.js';
import { printable } from '../render/printable.js';
import type { ThroughputReport } from './runner.js';

export const THROUGHPUT_HEAD = [
  'Throughput',
  'Address',
  'Down',
  'Up',
  'Idle',
  'LoadDn',
  'LoadUp',
  'Age',
  'Last',
];

export const THROUGHPUT_FOOTER =
  'Down and Up in Mbit/s (goodput). Idle, LoadDn and LoadUp: median RTT in ms before the test ' +
  'and while it downloaded, uploaded. Age: of those figures. Last: the last test (running: now).';

function mbit(bps: number | undefined): string {
  return bps === undefined ? '-' : (bps / 1e6).toFixed(2);
}

function ms(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(2);
}

/** "42s", "14m", "3h", "2d". */
export function formatAge(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 90) return `${Math.round(seconds)}s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)}m`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

export function throughputRow(r: ThroughputReport): string[] {
  return [
    printable(r.name),
    printable(r.port === 9923 ? r.address : `${r.address} :${r.port}`),
    mbit(r.downloadBps),
    mbit(r.uploadBps),
    ms(r.idleRttMs),
    ms(r.loadedDownloadRttMs),
    ms(r.loadedUploadRttMs),
    formatAge(r.ageS),
    r.running ? 'running' : (r.lastOutcome ?? '-'),
  ];
}

/** The section's lines, or none without throughput targets. */
export function throughputLines(reports: readonly ThroughputReport[] | undefined): string[] {
  if (!reports || reports.length === 0) return [];
  return [
    ...renderColumns({
      head: THROUGHPUT_HEAD,
      rows: reports.map(throughputRow),
      leftAligned: 2,
      separator: true,
    }),
    '',
    THROUGHPUT_FOOTER,
  ];
}

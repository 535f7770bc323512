// `npcli events`: outages as plain columns, newest first, or JSON.

import { formatDuration } from '../lib/duration.js';
import type { Outage } from '../lib/outages/outage.js';
import { renderColumns } from '../lib/render/columns.js';
import { printable } from '../lib/render/printable.js';

/** Seconds-exact times, UTC: the same in every terminal. */
function time(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function renderEvents(events: readonly Outage[], nowMs: number): string {
  if (events.length === 0) return 'no outages';
  const rows = events.map((e) => {
    const endMs = e.end === null ? nowMs : Date.parse(e.end);
    return [
      printable(e.target),
      printable(e.address),
      printable(e.probe),
      printable(e.instance),
      time(e.start),
      e.end === null ? 'open' : time(e.end),
      formatDuration(Math.max(0, endMs - Date.parse(e.start))),
      String(e.lost),
    ];
  });
  return renderColumns({
    head: ['Target', 'Address', 'Probe', 'Instance', 'Start', 'End', 'For', 'Lost'],
    rows,
    leftAligned: 6,
    separator: true,
  }).join('\n');
}

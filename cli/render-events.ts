// `npcli events`: outages and route changes as plain columns, newest
// first, or JSON. A route change is a moment (end = start): its row says
// `route` where an outage's says how long and how many were lost, and a
// last column, there only when some route changed, gives the hops.

import { formatDuration } from '../lib/duration.js';
import type { NetpingEvent } from '../lib/outages/events.js';
import { renderColumns } from '../lib/render/columns.js';
import { printable } from '../lib/render/printable.js';

/** Seconds-exact times, UTC: the same in every terminal. */
function time(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function hopsText(hops: readonly (string | null)[]): string {
  return hops.map((a) => (a === null ? '*' : printable(a))).join(', ');
}

export function renderEvents(events: readonly NetpingEvent[], nowMs: number): string {
  if (events.length === 0) return 'no events';
  const routes = events.some((e) => e.kind === 'route');
  const rows = events.map((e) => {
    const row = [printable(e.target), printable(e.address), printable(e.probe)];
    row.push(printable(e.instance), time(e.start));
    if (e.kind === 'route') {
      row.push('route', '', '', `${hopsText(e.before)} -> ${hopsText(e.after)}`);
      return row;
    }
    const endMs = e.end === null ? nowMs : Date.parse(e.end);
    row.push(e.end === null ? 'open' : time(e.end));
    row.push(formatDuration(Math.max(0, endMs - Date.parse(e.start))), String(e.lost));
    if (routes) row.push('');
    return row;
  });
  const head = ['Target', 'Address', 'Probe', 'Instance', 'Start', 'End', 'For', 'Lost'];
  return renderColumns({
    head: routes ? [...head, 'Route'] : head,
    rows,
    leftAligned: 6,
    separator: true,
  }).join('\n');
}

// The target page's path: its hops as last traced (GET /api/path), with
// loss and median RTT per hop, the path MTU and when the route last
// changed. Only icmp targets are traced.

import type { PathJson } from '../lib/path/path-report.js';
import { esc, ms } from './dom.js';

function when(unixS: number): string {
  return new Date(unixS * 1000).toLocaleString();
}

/** The line over the hops: traced when, reached or not, MTU, changes. */
export function pathSummary(p: PathJson): string {
  if (p.at === null) return 'not traced yet (each icmp target is traced every --path-interval)';
  const change =
    p.lastChange === null
      ? 'no route change seen'
      : `route changed ${p.changes} ${p.changes === 1 ? 'time' : 'times'}, last ${when(p.lastChange)}`;
  return (
    `traced ${when(p.at)}: ${p.reached ? 'reached' : 'not reached'} in ${p.hops.length} hops · ` +
    `path MTU ${p.mtu === null ? 'unknown' : `${p.mtu} bytes`} · ${change}`
  );
}

export function pathRows(p: PathJson): string {
  if (p.hops.length === 0) return '<tr><td class="l">no hops</td></tr>';
  return p.hops
    .map((h) => {
      const lost = h.sent > 0 ? `${Math.round((100 * (h.sent - h.received)) / h.sent)}%` : '-';
      const who =
        h.address === null
          ? '* (no answer)'
          : esc(h.address) +
            (h.others?.length ? ` <small>also ${esc(h.others.join(', '))}</small>` : '');
      return (
        `<tr><td>${h.ttl}</td><td class="l">${who}${h.unreachable ? ' <b>unreachable</b>' : ''}</td>` +
        `<td>${h.sent}</td><td>${h.received}</td><td>${lost}</td><td>${ms(h.medianMs, 3)}</td></tr>`
      );
    })
    .join('');
}

// Outages in the browser view: the overview's list of targets down now, the
// target page's table of its outages, and their spans marked on its graphs
// (a red tint over the time the target was down, open ones up to now).

import { MARGIN } from './chart.js';
import { esc } from './dom.js';
import type { OutageEvent } from './types.js';

function since(iso: string): string {
  return new Date(iso).toLocaleString();
}

function lasted(e: OutageEvent, nowMs: number): string {
  const s = Math.max(
    0,
    ((e.end === null ? nowMs : Date.parse(e.end)) - Date.parse(e.start)) / 1000,
  );
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(0)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** The overview's box: every open outage, or nothing when all is up. */
export function openOutagesHtml(events: readonly OutageEvent[], nowMs: number): string {
  if (events.length === 0) return '';
  const rows = events
    .map(
      (e) =>
        `<tr><td class="l"><a href="/target?t=${encodeURIComponent(e.key)}">${esc(e.target)}</a></td>` +
        `<td class="l">${esc(e.address)}</td><td class="l">${esc(e.probe)}</td><td class="l">${esc(e.instance)}</td>` +
        `<td class="l">${esc(since(e.start))}</td><td>${lasted(e, nowMs)}</td><td>${e.lost}</td></tr>`,
    )
    .join('');
  return (
    `<h2>Down now: ${events.length} ${events.length === 1 ? 'target' : 'targets'}</h2>` +
    `<table class="outages"><thead><tr><th class="l">Name</th><th class="l">Address</th><th class="l">Probe</th>` +
    `<th class="l">Seen from</th><th class="l">Since</th><th>For</th><th>Lost</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

/** The target page's table of its outages in the range shown. */
export function outageRows(events: readonly OutageEvent[], nowMs: number): string {
  if (events.length === 0) return '<tr><td class="l">none</td></tr>';
  return events
    .map(
      (e) =>
        `<tr><td class="l">${esc(since(e.start))}</td><td class="l">${e.end === null ? '<b>open</b>' : esc(since(e.end))}</td>` +
        `<td>${lasted(e, nowMs)}</td><td>${e.lost}</td><td class="l">${esc(
          Object.entries(e.reasons)
            .map(([r, n]) => `${r} ${n}`)
            .join(', '),
        )}</td></tr>`,
    )
    .join('');
}

/**
 * Tints the spans of the outages over a graph already drawn on `canvas`
 * (drawn with plotOn: its margins and transform). `from` and `to` in Unix
 * seconds, as the history gives them. Returns the number of spans marked.
 */
export function markOutages(
  canvas: HTMLCanvasElement,
  from: number,
  to: number,
  events: readonly OutageEvent[],
  nowMs: number,
): number {
  const ctx = canvas.getContext('2d');
  if (!ctx) return 0;
  const width = parseFloat(canvas.style.width);
  const height = parseFloat(canvas.style.height);
  const x0 = MARGIN.left;
  const x1 = width - MARGIN.right;
  const y0 = MARGIN.top;
  const y1 = Math.max(y0 + 16, height - MARGIN.bottom);
  const x = (s: number): number => x0 + ((s - from) / (to - from)) * (x1 - x0);
  let marked = 0;
  for (const e of events) {
    const a = Math.max(from, Date.parse(e.start) / 1000);
    const b = Math.min(to, (e.end === null ? nowMs : Date.parse(e.end)) / 1000);
    if (b < a) continue;
    const left = x(a);
    const w = Math.max(2, x(b) - left);
    ctx.fillStyle = 'rgba(220,0,0,0.14)';
    ctx.fillRect(left, y0, w, y1 - y0);
    ctx.fillStyle = '#c00';
    ctx.fillRect(left, y0, w, 2);
    marked++;
  }
  return marked;
}

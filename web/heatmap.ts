// meshping's heatmap: one column per step, one row per histogram bucket
// (log RTT), each cell shaded by its count relative to its column's largest,
// so a column shows where that minute's RTTs were whatever the probe rate.

import { columns, eachColumn, msLabel, plotOn, timeAxis } from './chart.js';
import type { History } from './types.js';

// Light to dark: few to most of the column's samples.
const RAMP: [number, number, number][] = [
  [255, 245, 200],
  [254, 196, 79],
  [240, 100, 40],
  [180, 30, 70],
  [80, 10, 90],
];

function shade(f: number): string {
  const x = Math.min(0.9999, Math.max(0, f)) * (RAMP.length - 1);
  const i = Math.floor(x);
  const a = RAMP[i]!;
  const b = RAMP[i + 1]!;
  const t = x - i;
  return `rgb(${a.map((v, k) => Math.round(v + (b[k]! - v) * t)).join(',')})`;
}

/** Draws the heatmap; returns the number of cells drawn. */
export function drawHeatmap(canvas: HTMLCanvasElement, h: History, width: number): number {
  const p = plotOn(canvas, width, 260);
  const { ctx } = p;
  const cols = columns(h);
  let lo = Infinity;
  let hi = -Infinity;
  for (const pt of h.points)
    for (const [i] of pt.buckets) {
      lo = Math.min(lo, i);
      hi = Math.max(hi, i);
    }
  if (lo > hi) {
    lo = 30;
    hi = 60;
  }
  lo = Math.max(0, lo - 2);
  hi = Math.min(h.bounds.length, hi + 2);
  const rows = hi - lo + 1;
  const rowH = (p.y1 - p.y0) / rows;
  let cells = 0;
  eachColumn(p, cols, (pt, x, w) => {
    const max = pt.buckets.reduce((m, [, n]) => Math.max(m, n), 0);
    for (const [i, n] of pt.buckets) {
      ctx.fillStyle = shade(n / max);
      ctx.fillRect(x, p.y1 - (i - lo + 1) * rowH, w + 0.5, rowH + 0.5);
      cells++;
    }
  });
  // Labels: every doubling (8 buckets), at the bucket's upper bound.
  ctx.fillStyle = '#555';
  ctx.textAlign = 'right';
  for (let i = lo; i <= hi; i++) {
    if (i % 8 !== 5 || i >= h.bounds.length) continue;
    const y = p.y1 - (i - lo + 0.5) * rowH;
    ctx.fillText(msLabel(h.bounds[i]! * 1000), p.x0 - 6, y + 4);
  }
  timeAxis(p, h.from, h.to);
  return cells;
}

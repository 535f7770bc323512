// SmokePing's graph: per step the spread of RTTs as grey bands, lighter
// outside (5-95 %, 10-90 %, 25-75 %), and the median as a short bar coloured
// by that step's loss; the loss strip below shows every step's loss, and a
// step with no record at all (netpingd not running) as grey hatching, so an
// outage of the target (all lost) never looks like a pause of the daemon.

import { quantiles } from '../lib/history/quantiles.js';
import {
  columns,
  columnX,
  eachColumn,
  lossColour,
  msLabel,
  noDataFill,
  plotOn,
  timeAxis,
  type Plot,
} from './chart.js';
import type { History, HistoryPoint } from './types.js';

const QS = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95];
const BANDS: [number, number, string][] = [
  [0, 6, '#dcdcdc'],
  [1, 5, '#b8b8b8'],
  [2, 4, '#8c8c8c'],
];

/** Quantiles of a point in ms, in QS order; undefined when nothing was answered. */
export function pointQuantiles(pt: HistoryPoint, boundsMs: number[]): number[] | undefined {
  const qs = quantiles(pt.buckets.flat(), boundsMs, QS);
  return qs.every((q) => q !== undefined) ? qs : undefined;
}

/** A linear RTT scale from 0 to a little above the highest 95th percentile. */
export function yScale(p: Plot, top: number): (v: number) => number {
  return (v) => p.y1 - (Math.min(v, top) / top) * (p.y1 - p.y0);
}

export function rttAxis(p: Plot, top: number): void {
  const { ctx } = p;
  const y = yScale(p, top);
  const step = niceStep(top / 5);
  ctx.fillStyle = '#555';
  ctx.strokeStyle = '#eee';
  ctx.textAlign = 'right';
  for (let v = 0; v <= top; v += step) {
    ctx.beginPath();
    ctx.moveTo(p.x0, y(v));
    ctx.lineTo(p.x1, y(v));
    ctx.stroke();
    ctx.fillText(msLabel(v), p.x0 - 6, y(v) + 4);
  }
}

function niceStep(raw: number): number {
  const e = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * e) return m * e;
  return 10 * e;
}

/** Draws the smoke graph; returns the number of medians drawn. */
export function drawSmoke(canvas: HTMLCanvasElement, h: History, width: number): number {
  const p = plotOn(canvas, width, 240);
  const { ctx } = p;
  const boundsMs = h.bounds.map((b) => b * 1000);
  const cols = columns(h);
  const qs = cols.map((pt) => (pt ? pointQuantiles(pt, boundsMs) : undefined));
  const top = Math.max(0.05, ...qs.map((q) => q?.[6] ?? 0)) * 1.1;
  rttAxis(p, top);
  const y = yScale(p, top);
  let medians = 0;
  eachColumn(p, cols, (pt, x, w, c) => {
    const q = qs[c];
    if (!q) {
      // All lost: a bar across the top in the loss colour, as nothing came back.
      ctx.fillStyle = lossColour(pt.lost, pt.sent);
      ctx.fillRect(x, p.y0, w, 3);
      return;
    }
    for (const [a, b, colour] of BANDS) {
      ctx.fillStyle = colour;
      ctx.fillRect(x, y(q[b]!), w + 0.5, Math.max(1, y(q[a]!) - y(q[b]!)));
    }
    ctx.fillStyle = lossColour(pt.lost, pt.sent);
    ctx.fillRect(x, y(q[3]!) - 1.5, Math.max(2, w + 0.5), 3);
    medians++;
  });
  timeAxis(p, h.from, h.to);
  return medians;
}

/** One cell per step in the loss colour; hatched where there is no record. */
export function drawLossStrip(canvas: HTMLCanvasElement, h: History, width: number): void {
  const p = plotOn(canvas, width, 18 + 8);
  const { ctx } = p;
  const cols = columns(h);
  cols.forEach((pt, c) => {
    const [x, w] = columnX(p, cols.length, c);
    ctx.fillStyle = pt ? lossColour(pt.lost, pt.sent) : noDataFill(ctx);
    ctx.fillRect(x, p.y0, w + 0.5, 16);
  });
  ctx.fillStyle = '#555';
  ctx.textAlign = 'right';
  ctx.fillText('loss', p.x0 - 6, p.y0 + 12);
}

// What the target page's charts share: a canvas sized for the screen, one
// time axis for all of them (so columns line up), the loss colours and the
// hatching that marks time when netpingd was not measuring.

import type { History, HistoryPoint } from './types.js';

export const MARGIN = { left: 64, right: 12, top: 8, bottom: 22 };

export interface Plot {
  ctx: CanvasRenderingContext2D;
  /** CSS pixels. */
  width: number;
  height: number;
  x0: number;
  x1: number;
  y0: number; // top
  y1: number; // bottom
}

export function plotOn(canvas: HTMLCanvasElement, width: number, height: number): Plot {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = '11px system-ui, sans-serif';
  return {
    ctx,
    width,
    height,
    x0: MARGIN.left,
    x1: width - MARGIN.right,
    y0: MARGIN.top,
    y1: height - MARGIN.bottom,
  };
}

/** The columns of a history: one per step over [from, to), each with its point or none. */
export function columns(h: History): (HistoryPoint | undefined)[] {
  const n = Math.round((h.to - h.from) / h.step);
  const out = new Array<HistoryPoint | undefined>(n).fill(undefined);
  for (const p of h.points) {
    const i = Math.round((p.t - h.from) / h.step);
    if (i >= 0 && i < n) out[i] = p;
  }
  return out;
}

export function columnX(p: Plot, n: number, i: number): [number, number] {
  const w = (p.x1 - p.x0) / n;
  return [p.x0 + i * w, Math.max(1, w)];
}

/**
 * Draws each column of a history: `draw` for a column with a point, the
 * no-data hatching for one without (netpingd was not measuring then).
 */
export function eachColumn(
  p: Plot,
  cols: readonly (HistoryPoint | undefined)[],
  draw: (pt: HistoryPoint, x: number, w: number, c: number) => void,
): void {
  cols.forEach((pt, c) => {
    const [x, w] = columnX(p, cols.length, c);
    if (pt) return draw(pt, x, w, c);
    p.ctx.fillStyle = noDataFill(p.ctx);
    p.ctx.fillRect(x, p.y0, w, p.y1 - p.y0);
  });
}

/** SmokePing's loss colours: green for none, then blue, violet, magenta, orange, red. */
export function lossColour(lost: number, sent: number): string {
  if (sent <= 0) return '#ccc';
  const f = lost / sent;
  if (f <= 0) return '#1a9e1a';
  if (f < 0.02) return '#1e6fd9';
  if (f < 0.05) return '#7a35d6';
  if (f < 0.1) return '#d01fc4';
  if (f < 0.25) return '#f08c00';
  if (f < 1) return '#e01010';
  return '#7a0000';
}

export const LOSS_LEGEND: [string, string][] = [
  ['#1a9e1a', '0'],
  ['#1e6fd9', '<2%'],
  ['#7a35d6', '<5%'],
  ['#d01fc4', '<10%'],
  ['#f08c00', '<25%'],
  ['#e01010', '<100%'],
  ['#7a0000', 'all lost'],
];

let hatch: CanvasPattern | null | undefined;

/** Grey hatching: no record, because netpingd was not running (or the target not yet added). */
export function noDataFill(ctx: CanvasRenderingContext2D): CanvasPattern | string {
  if (hatch === undefined) {
    const c = document.createElement('canvas');
    c.width = c.height = 6;
    const g = c.getContext('2d')!;
    g.fillStyle = '#f1f1f1';
    g.fillRect(0, 0, 6, 6);
    g.strokeStyle = '#c8c8c8';
    g.beginPath();
    g.moveTo(0, 6);
    g.lineTo(6, 0);
    g.stroke();
    hatch = ctx.createPattern(c, 'repeat');
  }
  return hatch ?? '#eee';
}

const TICKS_S = [
  300,
  900,
  1800,
  3600,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  86400,
  2 * 86400,
  7 * 86400,
  14 * 86400,
];

/** Time labels along the bottom, in the browser's time zone. */
export function timeAxis(p: Plot, from: number, to: number): void {
  const { ctx } = p;
  const span = to - from;
  const every = TICKS_S.find((t) => span / t <= 8) ?? TICKS_S[TICKS_S.length - 1]!;
  const tz = new Date(from * 1000).getTimezoneOffset() * 60;
  ctx.fillStyle = '#555';
  ctx.strokeStyle = '#e2e2e2';
  ctx.textAlign = 'center';
  for (let t = Math.ceil((from - tz) / every) * every + tz; t < to; t += every) {
    const x = p.x0 + ((t - from) / span) * (p.x1 - p.x0);
    ctx.beginPath();
    ctx.moveTo(x, p.y0);
    ctx.lineTo(x, p.y1);
    ctx.stroke();
    const d = new Date(t * 1000);
    const hhmm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    const label =
      every >= 86400 || (d.getHours() === 0 && d.getMinutes() === 0)
        ? `${d.getMonth() + 1}-${String(d.getDate()).padStart(2, '0')}`
        : hhmm;
    ctx.fillText(label, x, p.y1 + 14);
  }
}

/** A millisecond value as a short label. */
export function msLabel(v: number): string {
  if (v === 0) return '0';
  if (v >= 1000) return `${(v / 1000).toPrecision(3)} s`;
  if (v >= 10) return `${v.toFixed(0)} ms`;
  if (v >= 1) return `${v.toFixed(1)} ms`;
  return `${(v * 1000).toFixed(0)} µs`;
}

// Up to three targets on one graph (meshping #32): each one's median as a
// line and its 10-90 % spread as a faint band, in its own colour.

import { columns, columnX, plotOn, timeAxis } from './chart.js';
import { pointQuantiles, rttAxis, yScale } from './smoke.js';
import type { History } from './types.js';

export const COMPARE_COLOURS = ['#1f5fbf', '#d9480f', '#2b8a3e'];

export function drawCompare(canvas: HTMLCanvasElement, histories: History[], width: number): void {
  const p = plotOn(canvas, width, 240);
  const { ctx } = p;
  const all = histories.map((h) => {
    const boundsMs = h.bounds.map((b) => b * 1000);
    return columns(h).map((pt) => (pt ? pointQuantiles(pt, boundsMs) : undefined));
  });
  const top = Math.max(0.05, ...all.flat().map((q) => q?.[5] ?? 0)) * 1.1;
  rttAxis(p, top);
  const y = yScale(p, top);
  all.forEach((qs, k) => {
    const colour = COMPARE_COLOURS[k % COMPARE_COLOURS.length]!;
    ctx.globalAlpha = 0.18;
    ctx.fillStyle = colour;
    qs.forEach((q, c) => {
      if (!q) return;
      const [x, w] = columnX(p, qs.length, c);
      ctx.fillRect(x, y(q[5]!), w + 0.5, Math.max(1, y(q[1]!) - y(q[5]!)));
    });
    ctx.globalAlpha = 1;
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let pen = false;
    qs.forEach((q, c) => {
      if (!q) {
        pen = false;
        return;
      }
      const [x, w] = columnX(p, qs.length, c);
      if (pen) ctx.lineTo(x + w / 2, y(q[3]!));
      else ctx.moveTo(x + w / 2, y(q[3]!));
      pen = true;
    });
    ctx.stroke();
  });
  const first = histories[0];
  if (first) timeAxis(p, first.from, first.to);
}

// A row's last hour as a small inline SVG: the median RTT as a line (scaled
// to the row's own range) over red bars for the minutes with loss. SVG
// text, so a thousand rows cost one innerHTML, not a thousand canvases.

const W = 120;
const H = 22;

export function sparklineSvg(loss: (number | null)[], medianMs: (number | null)[]): string {
  const n = Math.max(loss.length, medianMs.length, 1);
  const dx = W / n;
  let bars = '';
  loss.forEach((l, i) => {
    if (l !== null && l > 0) {
      const h = Math.max(2, l * H);
      bars += `<rect x="${(i * dx).toFixed(1)}" y="${(H - h).toFixed(1)}" width="${Math.max(1, dx).toFixed(1)}" height="${h.toFixed(1)}" fill="#e33"/>`;
    }
  });
  const values = medianMs.filter((v): v is number => v !== null);
  let path = '';
  if (values.length > 0) {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const span = hi - lo || 1;
    let pen = false;
    medianMs.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      const x = (i + 0.5) * dx;
      const y = H - 2 - ((v - lo) / span) * (H - 4);
      path += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
      pen = true;
    });
  }
  const title = values.length
    ? `median ${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)} ms`
    : 'no replies';
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><title>${title} over the last hour; red: loss</title>${bars}${path ? `<path d="${path}" fill="none" stroke="#2a6fdb" stroke-width="1.2"/>` : ''}</svg>`;
}

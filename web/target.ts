// A target's page: /target?t=<name@address>[&t=..][&range=24h]. The first
// target gets the heatmap, the loss strip, the smoke graph and its errors;
// up to two more are compared with it on one graph. Redrawn every minute.

import { ApiError, getJson } from './api.js';
import { LOSS_LEGEND } from './chart.js';
import { COMPARE_COLOURS, drawCompare } from './compare.js';
import { applyColours, el, esc, ms, pct, say } from './dom.js';
import { drawHeatmap } from './heatmap.js';
import { drawLossStrip, drawSmoke } from './smoke.js';
import { mountTokenBox, TOKEN_BOX_HTML } from './token-box.js';
import { markOutages, outageRows } from './outages.js';
import { pathRows, pathSummary } from './path.js';
import type { PathJson } from '../lib/path/path-report.js';
import { probeOf, type Events, type History, type TargetNow } from './types.js';

const RANGES = ['1h', '6h', '24h', '48h', '7d', '30d', '90d'];
const MAX_COMPARED = 3;
const REFRESH_MS = 60_000;

const params = new URLSearchParams(location.search);
const keys = params.getAll('t').slice(0, MAX_COMPARED);
const range = RANGES.includes(params.get('range') ?? '') ? params.get('range')! : '24h';

function urlFor(ks: string[], r: string): string {
  const q = new URLSearchParams();
  for (const k of ks) q.append('t', k);
  q.set('range', r);
  return `/target?${q.toString()}`;
}

const legend = LOSS_LEGEND.map(
  ([c, l]) => `<span><i class="key" data-bg="${c}"></i>${l}</span>`,
).join('');
document.body.innerHTML = `
<header><a href="/">← all targets</a><h1 id="title"></h1><span class="status">${TOKEN_BOX_HTML}</span></header>
<main>
<div id="msg" hidden></div>
<p class="ranges">${RANGES.map((r) => `<a href="${esc(urlFor(keys, r))}"><button class="${r === range ? 'on' : ''}">${r}</button></a>`).join('')}
 <span id="summary"></span></p>
<h2>Latency heatmap <small>(each column shaded relative to its busiest bucket)</small></h2>
<canvas id="heatmap"></canvas><canvas id="loss"></canvas>
<div class="legend small">loss: ${legend}<span><i class="key norecord"></i>no record: netpingd not running (or the target not added yet)</span></div>
<h2>Smoke <small>(bands: 5-95, 10-90, 25-75 %; bar: median, coloured by loss)</small></h2>
<canvas id="smoke"></canvas>
<h2>Compare <small>(median and 10-90 %, up to ${MAX_COMPARED} targets)</small></h2>
<form id="compareform"><span id="compared"></span> <input id="compareadd" size="30" placeholder="another name@address"> <button>compare</button></form>
<canvas id="compare"></canvas>
<h2>Outages <small>(down after several lost probes in a row, up after several answers; tinted red on the graphs)</small></h2>
<table><thead><tr><th class="l">Start</th><th class="l">End</th><th>For</th><th>Lost</th><th class="l">Why</th></tr></thead><tbody id="outages"></tbody></table>
<h2>Path <small>(traceroute: about 3 probes per hop; a silent hop keeps its router, so one lost answer is no route change)</small></h2>
<p id="pathsummary" class="small"></p>
<table><thead><tr><th>Hop</th><th class="l">Address</th><th>Sent</th><th>Answered</th><th>Lost</th><th>Median ms</th></tr></thead><tbody id="path"></tbody></table>
<h2>Errors by reason <small>(lost probes, since the target was added)</small></h2>
<table><tbody id="errors"></tbody></table>
<h2>Unusual answers <small>(received probes, counted as received: a refused TCP connection is tcp:refused)</small></h2>
<table><tbody id="answers"></tbody></table>
</main>`;
applyColours(document.body);

const msg = el('msg');
mountTokenBox(() => {});
el('title').textContent = keys[0] ?? 'no target';
el<HTMLFormElement>('compareform').onsubmit = (e) => {
  e.preventDefault();
  const k = el<HTMLInputElement>('compareadd').value.trim();
  if (k && !keys.includes(k)) location.href = urlFor([...keys, k].slice(0, MAX_COMPARED), range);
};

/** A table body of counts by reason, the largest first. */
function countsRows(counts: Record<string, number> | undefined): string {
  const rows = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1]);
  return rows.length
    ? rows.map(([reason, n]) => `<tr><td class="l">${esc(reason)}</td><td>${n}</td></tr>`).join('')
    : '<tr><td class="l">none</td></tr>';
}

async function draw(): Promise<void> {
  if (keys.length === 0) {
    say(msg, 'no target: open this page from the overview, or add ?t=name@address', false);
    return;
  }
  try {
    const started = performance.now();
    const [histories, row] = await Promise.all([
      Promise.all(
        keys.map((k) =>
          getJson<History>(`/api/history?target=${encodeURIComponent(k)}&range=${range}`),
        ),
      ),
      // Its own row only: the whole report of thousands of targets is not fetched to find it.
      getJson<TargetNow>(`/api/target?target=${encodeURIComponent(keys[0]!)}`).then(
        (now) => now.target,
        (err: unknown) => {
          if (err instanceof ApiError && err.status === 404) return undefined; // not probed now
          throw err;
        },
      ),
    ]);
    const main0 = histories[0]!;
    const events = await getJson<Events>(
      `/api/events?kind=outage&target=${encodeURIComponent(keys[0]!)}&since=${main0.from * 1000}`,
    ).catch(() => ({ events: [] }));
    // Only icmp targets are traced (404), and a daemon without trace sockets has no /api/path.
    const path = await getJson<PathJson>(`/api/path?target=${encodeURIComponent(keys[0]!)}`).catch(
      () => undefined,
    );
    const fetched = performance.now();
    const width = Math.max(600, Math.min(1400, document.documentElement.clientWidth - 40));
    const main = histories[0]!;
    const cells = drawHeatmap(el('heatmap'), main, width);
    drawLossStrip(el('loss'), main, width);
    const medians = drawSmoke(el('smoke'), main, width);
    drawCompare(el('compare'), histories, width);
    const nowMs = Date.now();
    let marked = 0;
    for (const id of ['heatmap', 'loss', 'smoke'])
      marked += markOutages(el(id), main.from, main.to, events.events, nowMs);
    el('outages').innerHTML = outageRows(events.events, nowMs);
    el('compared').innerHTML = keys
      .map((k, i) => {
        const rest = keys.filter((x) => x !== k);
        const drop =
          i > 0 ? ` <a href="${esc(urlFor(rest, range))}" title="stop comparing">×</a>` : '';
        return `<span data-fg="${COMPARE_COLOURS[i]}">■ ${esc(k)}</span>${drop}`;
      })
      .join(' ');
    applyColours(el('compared'));
    const b = document.body.dataset;
    const sent = main.points.reduce((a, p) => a + p.sent, 0);
    const lost = main.points.reduce((a, p) => a + p.lost, 0);
    el('summary').textContent =
      `${row ? `probe ${probeOf(row)} · ` : ''}${range}: ${sent} sent, ${lost} lost (${pct(sent ? (100 * lost) / sent : undefined)})${
        row
          ? ` · now: last ${ms(row.lastMs)} ms, avg 15 min ${ms(row.avg15mMs)} ms`
          : ' · not probed now'
      }`;
    el('pathsummary').textContent = path ? pathSummary(path) : 'not traced (only icmp targets are)';
    el('path').innerHTML = path ? pathRows(path) : '';
    b.pathHops = String(path?.hops.length ?? 0);
    el('errors').innerHTML = countsRows(row?.errors);
    el('answers').innerHTML = countsRows(row?.answers);
    b.heatmapCells = String(cells);
    b.smokeMedians = String(medians);
    b.points = String(main.points.length);
    b.outagesMarked = String(marked);
    b.fetchMs = (fetched - started).toFixed(1);
    b.drawMs = (performance.now() - fetched).toFixed(1);
    b.drawnAtMs ??= performance.now().toFixed(0); // since navigation: the figure in the README
    b.state = 'drawn';
  } catch (err) {
    say(msg, err instanceof ApiError ? err.message : String(err), false);
    document.body.dataset.state = 'error';
  }
}

void draw();
setInterval(() => void draw(), REFRESH_MS);

// The overview: every target in a live table (polled every second), sortable
// by any column, filtered by text, with a sparkline of the last hour per row
// and the members that do not parse as ERROR rows. With the API token,
// targets are added and removed from here.

import { ApiError, change, getJson, token } from './api.js';
import { el, esc, ms, pct, say } from './dom.js';
import { sparklineSvg } from './sparkline.js';
import { mountTokenBox, TOKEN_BOX_HTML } from './token-box.js';
import { openOutagesHtml } from './outages.js';
import {
  keyOf,
  probeOf,
  total,
  type Events,
  type OutageEvent,
  type Report,
  type Sparklines,
  type TargetRow,
} from './types.js';
import { nameStatus } from '../lib/render/name-status.js';

const POLL_MS = 1000;
const SPARK_POLL_MS = 20_000;

interface Column {
  key: string;
  label: string;
  left?: boolean;
  value: (t: TargetRow) => number | string | undefined;
  cell: (t: TargetRow) => string;
}

const errorsOf = (t: TargetRow): number => total(t.errors);
// Received with an unusual answer (tcp:refused): the reasons are on the target page.
const answersOf = (t: TargetRow): number => total(t.answers);

const COLUMNS: Column[] = [
  {
    key: 'name',
    label: 'Name',
    left: true,
    value: (t) => t.name,
    cell: (t) => `<a href="/target?t=${encodeURIComponent(keyOf(t))}">${esc(t.name)}</a>`,
  },
  {
    key: 'address',
    label: 'Address',
    left: true,
    value: (t) => t.address,
    cell: (t) => esc(t.address),
  },
  { key: 'probe', label: 'Probe', left: true, value: probeOf, cell: (t) => esc(probeOf(t)) },
  { key: 'sent', label: 'Sent', value: (t) => t.sent, cell: (t) => String(t.sent) },
  { key: 'loss', label: 'Loss', value: (t) => t.lossPct, cell: (t) => pct(t.lossPct) },
  { key: 'last', label: 'Last', value: (t) => t.lastMs, cell: (t) => ms(t.lastMs) },
  { key: 'avg15m', label: 'Avg15m', value: (t) => t.avg15mMs, cell: (t) => ms(t.avg15mMs) },
  { key: 'min', label: 'Min', value: (t) => t.minMs, cell: (t) => ms(t.minMs) },
  { key: 'max', label: 'Max', value: (t) => t.maxMs, cell: (t) => ms(t.maxMs) },
  { key: 'errors', label: 'Errors', value: errorsOf, cell: (t) => String(errorsOf(t)) },
  { key: 'answers', label: 'Answers', value: answersOf, cell: (t) => String(answersOf(t)) },
];

let report: Report | undefined;
/** The open outages, by target key (absent from daemons without /api/events). */
let open: OutageEvent[] = [];
let downKeys = new Set<string>();
let sparks: Sparklines | undefined;
// Sparkline SVG by target, made once per sparkline poll, not on every redraw.
let sparkSvgs = new Map<string, string>();
let sortBy = 'address';
let sortDir = 1;
let filter = '';

document.body.innerHTML = `
<header><h1>netping</h1><span id="store"></span>
<span class="status">${TOKEN_BOX_HTML}</span></header>
<main>
<div id="msg" hidden></div>
<div id="outages"></div>
<form id="addform"><input id="addtext" size="40" placeholder="name@address, name@host (followed in DNS), or name@address?probe=tcp&amp;port=443">
<button>add</button></form>
<p><input id="filter" type="search" placeholder="filter by name, address or probe" size="30"> <span id="count"></span></p>
<table><thead><tr>${COLUMNS.map((c) => `<th data-col="${c.key}" class="${c.left ? 'l' : ''}">${c.label}</th>`).join('')}<th class="l">last hour</th><th></th></tr></thead>
<tbody id="rows"></tbody></table>
<p class="note">Times in ms. Loss is of the probes that have ended. Answers: probes received with an unusual answer (a refused TCP connection), counted as received. The table updates every second; <code>curl</code> this address for the plain table.</p>
</main>`;

const msg = el('msg');
mountTokenBox(render);
el<HTMLInputElement>('filter').oninput = (e) => {
  filter = (e.target as HTMLInputElement).value.trim().toLowerCase();
  render();
};
el('rows').parentElement!.querySelector('thead')!.onclick = (e) => {
  const col = (e.target as HTMLElement).closest('th')?.dataset.col;
  if (!col) return;
  sortDir = sortBy === col ? -sortDir : 1;
  sortBy = col;
  render();
};
el<HTMLFormElement>('addform').onsubmit = (e) => {
  e.preventDefault();
  const text = el<HTMLInputElement>('addtext').value.trim();
  if (!text) return;
  change<{ results: { member?: string; status?: string }[] }>('POST', '/api/targets', {
    targets: text.split(/\s+/),
  }).then(
    () => {
      say(msg, `added ${text}`, true);
      el<HTMLInputElement>('addtext').value = '';
      void poll(false);
    },
    (err: unknown) =>
      say(msg, `not added: ${err instanceof Error ? err.message : String(err)}`, false),
  );
};
el('rows').onclick = (e) => {
  const key = (e.target as HTMLElement).closest('button')?.dataset.remove;
  if (!key) return;
  change('DELETE', `/api/targets/${encodeURIComponent(key)}`).then(
    () => {
      say(msg, `removed ${key}`, true);
      void poll(false);
    },
    (err: unknown) =>
      say(msg, `not removed: ${err instanceof Error ? err.message : String(err)}`, false),
  );
};

function compare(a: TargetRow, b: TargetRow): number {
  const col = COLUMNS.find((c) => c.key === sortBy);
  if (!col || sortBy === 'address') return 0; // the daemon's order: by address, numerically
  const x = col.value(a);
  const y = col.value(b);
  if (x === y) return 0;
  if (x === undefined) return 1;
  if (y === undefined) return -1;
  return (x < y ? -1 : 1) * sortDir;
}

function render(): void {
  if (!report) return;
  const started = performance.now();
  let rows = report.targets.filter(
    (t) =>
      !filter ||
      t.name.toLowerCase().includes(filter) ||
      t.address.toLowerCase().includes(filter) ||
      (t.host ?? '').includes(filter) ||
      probeOf(t).includes(filter),
  );
  if (sortBy !== 'address') rows = rows.slice().sort(compare);
  else if (sortDir < 0) rows = rows.slice().reverse();
  const canChange = token() !== undefined;
  let html = '';
  for (const inv of report.invalid) {
    if (filter && !inv.member.toLowerCase().includes(filter)) continue;
    html += `<tr class="error"><td colspan="${COLUMNS.length + 2}">ERROR ${esc(inv.member)}: ${esc(inv.error)}</td></tr>`;
  }
  // In the daemon's order a followed name's addresses come together: a row
  // with its status heads them, and removes the name (its member), not an address.
  const grouped = sortBy === 'address';
  const statusOf = new Map((report.names ?? []).map((n) => [n.host, n]));
  let lastGroup: string | undefined;
  for (const t of rows) {
    const key = keyOf(t);
    const group = t.host === undefined ? undefined : `${t.name}@${t.host}`;
    if (grouped && group !== undefined && group !== lastGroup) {
      const n = statusOf.get(t.host!);
      html += `<tr class="dnsname"><td class="l" colspan="${COLUMNS.length + 1}">${esc(t.name)} — ${esc(
        n ? nameStatus(n) : `${t.host!} (DNS)`,
      )}</td><td>${
        canChange
          ? `<button data-remove="${esc(group)}" title="remove ${esc(group)}">remove</button>`
          : ''
      }</td></tr>`;
    }
    lastGroup = group;
    let svg = sparkSvgs.get(key);
    const s = sparks?.targets[key];
    if (svg === undefined && s) sparkSvgs.set(key, (svg = sparklineSvg(s.loss, s.medianMs)));
    const cls = `${(t.lossPct ?? 0) > 0 ? 'lossy' : ''}${downKeys.has(key) ? ' down' : ''}`;
    html += `<tr class="${cls}" data-key="${esc(key)}">${COLUMNS.map(
      (c) => `<td class="${c.left ? 'l' : ''}${c.key === 'loss' ? ' loss' : ''}">${c.cell(t)}</td>`,
    ).join('')}<td class="l">${svg ?? ''}</td><td>${
      canChange && t.host === undefined
        ? `<button data-remove="${esc(key)}" title="remove ${esc(key)}">remove</button>`
        : ''
    }</td></tr>`;
  }
  el('rows').innerHTML = html;
  el('outages').innerHTML = openOutagesHtml(open, Date.now());
  document.body.dataset.openOutages = String(open.length);
  el('count').textContent =
    `${rows.length} of ${report.targets.length} targets${report.invalid.length ? `, ${report.invalid.length} invalid` : ''}`;
  el('store').textContent =
    `${report.store.kind} store${report.store.up ? '' : ' UNREACHABLE'} · netping ${report.version}`;
  for (const th of document.querySelectorAll<HTMLElement>('th[data-col]'))
    th.textContent =
      COLUMNS.find((c) => c.key === th.dataset.col)!.label +
      (th.dataset.col === sortBy ? (sortDir > 0 ? ' ▲' : ' ▼') : '');
  document.body.dataset.rows = String(rows.length);
  document.body.dataset.renderMs = (performance.now() - started).toFixed(1);
  if (rows.length > 0) document.body.dataset.firstRowsAtMs ??= performance.now().toFixed(0);
}

async function poll(again = true): Promise<void> {
  try {
    const [r, events] = await Promise.all([
      getJson<Report>('/api/targets'),
      getJson<Events>('/api/events?open=1&kind=outage').catch(() => ({ events: [] })),
    ]);
    report = r;
    open = events.events;
    downKeys = new Set(open.map((e) => e.key));
    render();
  } catch (err) {
    say(
      msg,
      `cannot read /api/targets: ${err instanceof ApiError ? err.message : String(err)}`,
      false,
    );
  }
  if (again) setTimeout(() => void poll(), POLL_MS);
}

async function pollSparks(): Promise<void> {
  try {
    sparks = await getJson<Sparklines>('/api/sparklines');
    sparkSvgs = new Map();
    render();
  } catch {
    // the table still works without them; the next poll tries again
  }
  setTimeout(() => void pollSparks(), SPARK_POLL_MS);
}

void poll();
void pollSparks();

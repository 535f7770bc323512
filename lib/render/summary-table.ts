// The plaintext table served at /, in the spirit of meshping's.

import { viewOf, type DaemonReport, type DaemonView, type TargetReport } from '../report.js';
import type { ProbeSpec } from '../target.js';
import { codePointLength, printable } from './printable.js';
import { throughputLines } from '../throughput/render.js';
import { nameStatus } from './name-status.js';

/** `icmp`, `tcp:443`, `udp:9923`: as probeLabel() writes a target's probe. */
export function probeCell(t: Pick<TargetReport, 'probe' | 'port'>): string {
  return t.port === undefined ? t.probe : `${t.probe}:${t.port}`;
}

const COLUMNS: { title: string; cell: (t: TargetReport) => string }[] = [
  { title: 'Name', cell: (t) => t.name },
  { title: 'Address', cell: (t) => t.address },
  { title: 'Probe', cell: probeCell },
  { title: 'Sent', cell: (t) => String(t.sent) },
  { title: 'Recv', cell: (t) => String(t.received) },
  { title: 'Succ', cell: (t) => percent(t.successPct) },
  { title: 'Loss', cell: (t) => percent(t.lossPct) },
  { title: 'Min', cell: (t) => ms(t.minMs) },
  { title: 'Avg15m', cell: (t) => ms(t.avg15mMs) },
  { title: 'Avg6h', cell: (t) => ms(t.avg6hMs) },
  { title: 'Avg24h', cell: (t) => ms(t.avg24hMs) },
  { title: 'Max', cell: (t) => ms(t.maxMs) },
  { title: 'Last', cell: (t) => ms(t.lastMs) },
];
const LEFT_ALIGNED = 3; // name, address and probe; numbers align right

/** Under every table of statistics, at / and in `npcli stats`. */
export const STATS_FOOTER =
  'Times in milliseconds. Succ and Loss are of the probes that have ended.';

/** Above the lines of targets with unusual answers, at / and in `npcli stats`. */
export const ANSWERS_HEADING = 'Received, but not with the usual answer (counted in Recv):';

/** "tcp:refused 12, …"; '' when there are none (as for most targets: nothing is built then). */
export function answersText(answers: Iterable<readonly [string, number]>): string {
  let list = '';
  for (const [answer, n] of answers) list += `${list ? ', ' : ''}${printable(answer)} ${n}`;
  return list;
}

/** One target's unusual answers: "web@192.0.2.1 tcp:443: tcp:refused 12". */
export function answersLine(
  t: Pick<TargetReport, 'name' | 'address' | 'probe' | 'port'>,
  text: string,
): string {
  return `${printable(t.name)}@${t.address} ${probeCell(t)}: ${text}`;
}

/** The probe fields of a report row, from a view's spec (undefined for ICMP). */
function probeOf(spec: ProbeSpec | undefined): Pick<TargetReport, 'probe' | 'port'> {
  if (spec === undefined) return { probe: 'icmp' };
  return spec.port === undefined ? { probe: spec.kind } : { probe: spec.kind, port: spec.port };
}

export function percent(value: number | undefined): string {
  return value === undefined ? '-' : `${value.toFixed(2)}%`;
}

export function ms(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(2);
}

/**
 * The table in pieces, a row at a time, for slicedChunks(). A first pass
 * measures the columns (yielding an empty pause point per row), a second
 * reads each row again and writes it: nothing of all the rows is held in
 * between. A number that grew between the passes (a counter gaining a digit)
 * widens its own row a little rather than be cut.
 */
export function* summaryTablePieces(view: DaemonView): Generator<string> {
  // Written for the garbage it does not make: a page of 10,000 rows is read
  // twice, and what a row allocates is multiplied by that.
  const widths = COLUMNS.map((c) => codePointLength(c.title));
  for (let i = 0; i < view.size; i++) {
    const t = view.target(i);
    for (let k = 0; k < COLUMNS.length; k++) {
      const w = codePointLength(printable(COLUMNS[k]!.cell(t)));
      if (w > widths[k]!) widths[k] = w;
    }
    yield '';
  }
  const line = (cellOf: (k: number) => string): string => {
    let out = '';
    for (let k = 0; k < COLUMNS.length; k++) {
      const cell = cellOf(k);
      const pad = ' '.repeat(Math.max(0, widths[k]! - codePointLength(cell)));
      out += (k === 0 ? '' : '  ') + (k < LEFT_ALIGNED ? cell + pad : pad + cell);
    }
    return out.trimEnd() + '\n';
  };
  const { store, invalid } = view.head;
  if (!store.up) {
    yield `# store ${store.kind} at ${printable(store.location)} is unreachable: targets may be stale\n`;
  }
  yield line((k) => COLUMNS[k]!.title);
  const heading = nameHeadings(view);
  for (let i = 0; i < view.size; i++) {
    const t = view.target(i);
    const above = heading(t.host);
    if (above !== undefined) yield `${printable(above)}\n`;
    yield line((k) => printable(COLUMNS[k]!.cell(t)));
  }
  for (const bad of invalid) yield `ERROR  ${printable(bad.member)}: ${printable(bad.error)}\n`;
  // A third pass, cheap where (as mostly) no target has unusual answers: no
  // report row is built, only each target's (mostly empty) map is looked at.
  let answersHeading = `\n${ANSWERS_HEADING}\n`;
  for (let i = 0; i < view.size; i++) {
    if (i % 256 === 255) yield ''; // a pause point now and then
    const text = answersText(view.answers(i));
    if (text === '') continue;
    const t = { name: view.name(i), address: view.address(i), ...probeOf(view.probe(i)) };
    yield `${answersHeading}${answersLine(t, text)}\n`;
    answersHeading = '';
  }
  yield `\n${STATS_FOOTER}\n`;
  const throughput = throughputLines(view.head.throughput);
  if (throughput.length > 0) yield `\n${throughput.join('\n')}\n`;
}

/**
 * For rows in report order, the heading to write above a row: a followed
 * name's status above the first of its addresses (they come together,
 * sorted by host, as do the names), undefined otherwise.
 */
export function nameHeadings(
  view: Pick<DaemonView, 'names'>,
): (host: string | undefined) => string | undefined {
  const names = view.names()[Symbol.iterator]();
  let name = names.next();
  let last: string | undefined;
  return (host) => {
    if (host === undefined || host === last) return undefined;
    last = host;
    while (!name.done && name.value.host < host) name = names.next();
    return !name.done && name.value.host === host ? nameStatus(name.value) : `${host} (DNS)`;
  };
}

export function renderSummaryTable(report: DaemonReport): string {
  return [...summaryTablePieces(viewOf({ report, histograms: [] }))].join('');
}

// The per-target metric families in Prometheus text format, written directly
// from a DaemonView, target by target. At 10,000 targets these are ~300,000 lines; going
// through prom-client's per-sample label objects took seconds and a gigabyte
// (docs/BENCHMARKS.md), so each target's label text is escaped once and the
// lines are produced in small pieces that the HTTP layer joins into chunks of
// about a millisecond's work and streams out, yielding to the event loop (and
// so to the probes) between chunks (lib/slicing.ts).

import type { DaemonView } from '../report.js';
import type { Labels } from '../labels.js';
import type { ProbeSpec } from '../target.js';
import { throughputFamilies } from '../throughput/exposition.js';

/** Escapes a label value: backslash, double quote and line feed (text format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** Escapes HELP text: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

type CounterField = 'sent' | 'received' | 'lost' | 'late' | 'duplicates';

export const TARGET_COUNTERS: readonly { field: CounterField; name: string; help: string }[] = [
  {
    field: 'sent',
    name: 'netping_sent_total',
    help: 'Probes sent, including sends the kernel refused.',
  },
  {
    field: 'received',
    name: 'netping_received_total',
    help: 'Probes answered within their timeout.',
  },
  {
    field: 'lost',
    name: 'netping_lost_total',
    help: 'Probes that ended without a reply in time (timeout, send failure or ICMP error).',
  },
  {
    field: 'late',
    name: 'netping_late_total',
    help: 'Replies that arrived after their probe had timed out.',
  },
  {
    field: 'duplicates',
    name: 'netping_duplicates_total',
    help: 'Extra replies to a probe already answered.',
  },
];

export const TARGET_UP_HELP =
  'Whether the target is up (1) or in an outage (0): down after --down-after lost probes in a row, up after --up-after answers.';
export const OUTAGES_HELP =
  'Outages of the target since netpingd started (one still open included).';
export const PATH_CHANGES_HELP =
  "Route changes seen on the target's path since netpingd started (another router at a hop, or another length).";
export const PATH_MTU_HELP =
  "The path MTU the target's last trace found (don't-fragment probes), in bytes.";

export const ERRORS_HELP = 'Lost probes by why they ended: send:<errno> or icmp:<error>.';
export const ANSWERS_HELP =
  'Received probes whose answer was not the usual one (tcp:refused), by answer.';

export const DNS_LOOKUPS_HELP =
  'Lookups of the names followed in DNS (name@host members), by result.';

/** netping_dns_lookups_total's samples: host, result and count, by host. */
export function* dnsLookupSamples(view: DaemonView): Generator<[string, string, number]> {
  for (const name of view.names()) {
    for (const [result, n] of Object.entries(name.lookups)) yield [name.host, result, n];
  }
}

/**
 * A target's labels, in this order everywhere: target, address, host (for
 * an address of a followed name), probe (icmp, tcp, udp) and, for the kinds
 * that have one, port.
 */
export function targetLabels(
  name: string,
  address: string,
  probe: ProbeSpec | undefined,
  own?: Labels,
  host?: string,
): [string, string][] {
  const labels: [string, string][] = [
    ['target', name],
    ['address', address],
  ];
  if (host !== undefined) labels.push(['host', host]);
  labels.push(['probe', probe?.kind ?? 'icmp']);
  if (probe?.port !== undefined) labels.push(['port', String(probe.port)]);
  // Then the target's own (label.KEY=VALUE, a mesh peer's), sorted by name;
  // lib/labels.ts keeps ours (above, and reason, le) out of them.
  if (own) for (const name of Object.keys(own)) labels.push([name, own[name]!]);
  return labels;
}

/** A target's own labels as `,name="value"…`; '' for none. */
function ownLabels(own: Labels | undefined): string {
  if (own === undefined) return '';
  let text = '';
  for (const name of Object.keys(own)) text += `,${name}="${escapeLabelValue(own[name]!)}"`;
  return text;
}

function header(name: string, type: string, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/**
 * Yields the exposition text of every per-target family and the daemon's own
 * gauges, one target's lines at a time (slicedChunks() joins them into
 * chunks of a slice's work). Each target is read from the view when its line
 * is written: counters family by family, each series consistent in itself.
 */
export function* renderSnapshot(view: DaemonView): Generator<string> {
  const size = view.size;
  const labels: string[] = [];
  for (let i = 0; i < size; i++) {
    // As targetLabels(), written straight into one string: no arrays per target.
    const probe = view.probe(i);
    const host = view.host(i);
    labels.push(
      `target="${escapeLabelValue(view.name(i))}",address="${escapeLabelValue(view.address(i))}",` +
        (host === undefined ? '' : `host="${escapeLabelValue(host)}",`) +
        `probe="${escapeLabelValue(probe?.kind ?? 'icmp')}"` +
        (probe?.port === undefined ? '' : `,port="${probe.port}"`) +
        ownLabels(view.labels(i)),
    );
    yield ''; // a pause point: 10,000 labels are a few ms
  }

  for (const { field, name, help } of TARGET_COUNTERS) {
    yield header(name, 'counter', help);
    for (let i = 0; i < size; i++) yield `${name}{${labels[i]}} ${view.counters(i)[field]}\n`;
  }

  const outage = view.outage?.bind(view);
  if (outage) {
    yield header('netping_target_up', 'gauge', TARGET_UP_HELP);
    for (let i = 0; i < size; i++)
      yield `netping_target_up{${labels[i]}} ${outage(i).up ? 1 : 0}\n`;
    yield header('netping_outages_total', 'counter', OUTAGES_HELP);
    for (let i = 0; i < size; i++)
      yield `netping_outages_total{${labels[i]}} ${outage(i).outages}\n`;
  }

  const path = view.path?.bind(view);
  if (path) {
    yield header('netping_path_changes_total', 'counter', PATH_CHANGES_HELP);
    for (let i = 0; i < size; i++) {
      const p = path(i);
      yield p ? `netping_path_changes_total{${labels[i]}} ${p.changes}\n` : '';
    }
    yield header('netping_path_mtu_bytes', 'gauge', PATH_MTU_HELP);
    for (let i = 0; i < size; i++) {
      const mtu = path(i)?.mtu;
      yield mtu ? `netping_path_mtu_bytes{${labels[i]}} ${mtu}\n` : '';
    }
  }

  for (const [name, help, byReason] of [
    ['netping_errors_total', ERRORS_HELP, (i: number) => view.errors(i)],
    ['netping_received_by_reason_total', ANSWERS_HELP, (i: number) => view.answers(i)],
  ] as const) {
    yield header(name, 'counter', help);
    for (let i = 0; i < size; i++) {
      let out = '';
      for (const [reason, n] of byReason(i)) {
        out += `${name}{${labels[i]},reason="${escapeLabelValue(reason)}"} ${n}\n`;
      }
      // Most targets have no series here: a pause point every 256 of them is enough.
      if (out !== '' || (i & 255) === 255) yield out;
    }
  }

  yield header('netping_rtt_seconds', 'histogram', 'Round-trip time of answered probes.');
  for (let i = 0; i < size; i++) {
    const h = view.histogram(i);
    let out = '';
    for (let j = 0; j < h.bounds.length; j++) {
      out += `netping_rtt_seconds_bucket{${labels[i]},le="${h.bounds[j]}"} ${h.cumulative[j]}\n`;
    }
    out += `netping_rtt_seconds_bucket{${labels[i]},le="+Inf"} ${h.count}\n`;
    out += `netping_rtt_seconds_sum{${labels[i]}} ${formatValue(h.sumSeconds)}\n`;
    out += `netping_rtt_seconds_count{${labels[i]}} ${h.count}\n`;
    yield out;
  }

  for (const f of throughputFamilies(view)) {
    let out = header(f.name, f.type, f.help);
    for (const s of f.samples) {
      const labels = s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
      const h = s.histogram;
      if (h === undefined) {
        out += `${f.name}{${labels}} ${formatValue(s.value ?? NaN)}\n`;
        continue;
      }
      for (let j = 0; j < h.bounds.length; j++)
        out += `${f.name}_bucket{${labels},le="${h.bounds[j]}"} ${h.cumulative[j]}\n`;
      out += `${f.name}_bucket{${labels},le="+Inf"} ${h.count}\n`;
      out += `${f.name}_sum{${labels}} ${formatValue(h.sumSeconds)}\n`;
      out += `${f.name}_count{${labels}} ${h.count}\n`;
    }
    yield out;
  }

  const { head } = view;
  yield header('netping_targets', 'gauge', 'Targets being probed.') + `netping_targets ${size}\n`;
  yield (
    header(
      'netping_invalid_targets',
      'gauge',
      'Members of the target set that do not parse or are over the limit.',
    ) + `netping_invalid_targets ${head.invalid.length}\n`
  );
  yield (
    header('netping_store_up', 'gauge', 'Whether the target store is reachable (1) or not (0).') +
    `netping_store_up{store="${escapeLabelValue(head.store.kind)}"} ${head.store.up ? 1 : 0}\n`
  );
  let ignored = header(
    'netping_packets_ignored_total',
    'counter',
    'Received ICMP packets that matched none of our probes, by why.',
  );
  for (const [reason, n] of Object.entries(head.ignoredPackets)) {
    ignored += `netping_packets_ignored_total{reason="${escapeLabelValue(reason)}"} ${n}\n`;
  }
  yield ignored;
  // Only with names followed, so a daemon without has the families it had.
  let dns = header('netping_dns_lookups_total', 'counter', DNS_LOOKUPS_HELP);
  let any = false;
  for (const [host, result, n] of dnsLookupSamples(view)) {
    dns += `netping_dns_lookups_total{host="${escapeLabelValue(host)}",result="${result}"} ${n}\n`;
    any = true;
    if (dns.length > 16_384) {
      yield dns; // a pause point: 10,000 names are several hundred kB
      dns = '';
    }
  }
  if (any) yield dns;
}

// /metrics through prom-client, with a registry of our own. The per-target
// metrics are read from one DaemonSnapshot per scrape, so a scrape is one
// consistent moment. prom-client's Histogram needs one bucket list for all
// label sets; ours exports each target's non-empty buckets only (see
// histogram.ts), so those metrics are collectors that hand prom-client
// ready values, and prom-client formats and escapes them.

import { collectDefaultMetrics, Gauge, Registry, type Metric } from 'prom-client';
import type { DaemonSnapshot, TargetReport } from '../report.js';

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

type CounterField = 'sent' | 'received' | 'lost' | 'late' | 'duplicates';
const COUNTERS: { field: CounterField; name: string; help: string }[] = [
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

/** A metric whose samples are computed from the current snapshot at scrape time. */
class SnapshotCollector {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly samples: () => Sample[],
  ) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: Sample[] } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: 'sum',
      values: this.samples(),
    };
  }
}

export class MetricsExporter {
  readonly registry = new Registry();
  #snapshot: DaemonSnapshot | undefined;

  constructor(
    takeSnapshot: () => DaemonSnapshot,
    opts: { version: string; processMetrics: boolean },
  ) {
    const current = (): DaemonSnapshot => (this.#snapshot ??= takeSnapshot());
    const targetLabels = (t: TargetReport): Record<string, string> => ({
      target: t.name,
      address: t.address,
    });
    const register = (c: SnapshotCollector): void =>
      // prom-client's registry only calls name, type and get(); its Metric
      // type is a union of its own classes, which a collector is not.
      this.registry.registerMetric(c as unknown as Metric);

    for (const { field, name, help } of COUNTERS) {
      register(
        new SnapshotCollector(name, help, 'counter', () =>
          current().report.targets.map((t) => ({ value: t[field], labels: targetLabels(t) })),
        ),
      );
    }
    register(
      new SnapshotCollector(
        'netping_errors_total',
        'Lost probes by why they ended: send:<errno> or icmp:<error>.',
        'counter',
        () =>
          current().report.targets.flatMap((t) =>
            Object.entries(t.errors).map(([reason, value]) => ({
              value,
              labels: { ...targetLabels(t), reason },
            })),
          ),
      ),
    );
    register(
      new SnapshotCollector(
        'netping_rtt_seconds',
        'Round-trip time of answered probes.',
        'histogram',
        () => {
          const { report, histograms } = current();
          const out: Sample[] = [];
          report.targets.forEach((t, i) => {
            const h = histograms[i]!;
            const labels = targetLabels(t);
            h.bounds.forEach((le, j) =>
              out.push({
                metricName: 'netping_rtt_seconds_bucket',
                value: h.cumulative[j]!,
                labels: { ...labels, le },
              }),
            );
            out.push({
              metricName: 'netping_rtt_seconds_bucket',
              value: h.count,
              labels: { ...labels, le: '+Inf' },
            });
            out.push({ metricName: 'netping_rtt_seconds_sum', value: h.sumSeconds, labels });
            out.push({ metricName: 'netping_rtt_seconds_count', value: h.count, labels });
          });
          return out;
        },
      ),
    );
    register(
      new SnapshotCollector('netping_targets', 'Targets being probed.', 'gauge', () => [
        { value: current().report.targets.length, labels: {} },
      ]),
    );
    register(
      new SnapshotCollector(
        'netping_invalid_targets',
        'Members of the target set that do not parse.',
        'gauge',
        () => [{ value: current().report.invalid.length, labels: {} }],
      ),
    );
    register(
      new SnapshotCollector(
        'netping_store_up',
        'Whether the target store is reachable (1) or not (0).',
        'gauge',
        () => [
          {
            value: current().report.store.up ? 1 : 0,
            labels: { store: current().report.store.kind },
          },
        ],
      ),
    );
    register(
      new SnapshotCollector(
        'netping_packets_ignored_total',
        'Received ICMP packets that matched none of our probes, by why.',
        'counter',
        () =>
          Object.entries(current().report.ignoredPackets).map(([reason, value]) => ({
            value,
            labels: { reason },
          })),
      ),
    );
    const info = new Gauge({
      name: 'netping_build_info',
      help: 'Always 1; the version is a label.',
      labelNames: ['version'],
      registers: [this.registry],
    });
    info.set({ version: opts.version }, 1);
    if (opts.processMetrics) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters: promtool (rightly) rejects them.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ]) {
        this.registry.removeSingleMetric(name);
      }
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of one consistent snapshot. */
  async render(): Promise<string> {
    this.#snapshot = undefined;
    try {
      return await this.registry.metrics();
    } finally {
      this.#snapshot = undefined;
    }
  }
}

// The /metrics exposition as delimited protobuf MetricFamily messages, for
// scrapers that ask for it (Prometheus with native histograms enabled). The
// families and values are those of the text exposition (exposition.ts, then
// prom-client's registry); the difference is that netping_rtt_seconds is also
// a native histogram (native-histogram.ts), with or without its classic
// buckets.
//
// The event loop is netpingd's stopwatch: a reply handled late is an RTT
// measured long. So the per-target families are encoded a batch at a time,
// and when the turn's shared budget is spent (lib/slicing.ts) the encoder
// steps aside, letting the sockets be read, before going on.

import type { Registry } from 'prom-client';
import type { DaemonView } from '../report.js';
import { Slices } from '../slicing.js';
import {
  ANSWERS_HELP,
  DNS_LOOKUPS_HELP,
  dnsLookupSamples,
  ERRORS_HELP,
  OUTAGES_HELP,
  PATH_CHANGES_HELP,
  PATH_MTU_HELP,
  TARGET_COUNTERS,
  TARGET_UP_HELP,
  targetLabels,
} from './exposition.js';
import {
  encodeHeader,
  encodeLength,
  encodeMetrics,
  MetricType,
  type Bucket,
  type FamilyHeader,
  type Histogram,
  type LabelPair,
  type Metric,
} from './metrics-proto.js';
import { nativeBuckets } from './native-histogram.js';
import { registryFamilies } from './protobuf-registry.js';
import { throughputFamilies } from '../throughput/exposition.js';

export interface ProtobufOptions {
  /** Also carry netping_rtt_seconds's classic buckets (the `le` ones). */
  classicBuckets: boolean;
  /** Targets per encoded batch. */
  batchSize?: number;
}

const BATCH_SIZE = 50;

/**
 * Yields the delimited MetricFamily messages of one view, then those of
 * prom-client's registry. Each family is encoded in batches (valid: see
 * encodeMetrics) and goes out once complete, behind its length.
 */
export async function* protobufExposition(
  view: DaemonView,
  registry: Registry,
  opts: ProtobufOptions,
): AsyncGenerator<Uint8Array> {
  const slicer = new Slices();
  const batchSize = opts.batchSize ?? BATCH_SIZE;
  const size = view.size;
  const { head } = view;
  // Every target's labels, read once for all families, in slices too: at
  // 10,000 targets this alone held the loop for milliseconds.
  const labels: LabelPair[][] = [];
  for (let i = 0; i < size; i++) {
    const pairs = targetLabels(
      view.name(i),
      view.address(i),
      view.probe(i),
      view.labels(i),
      view.host(i),
    );
    labels.push(pairs.map(([name, value]) => ({ name, value })));
    await slicer.pause();
  }

  async function* family(
    header: FamilyHeader,
    count: number,
    metricsOf: (i: number) => Metric[],
  ): AsyncGenerator<Uint8Array> {
    const parts = [encodeHeader(header)];
    for (let start = 0; start < count; start += batchSize) {
      const batch: Metric[] = [];
      const end = Math.min(count, start + batchSize);
      for (let i = start; i < end; i++) batch.push(...metricsOf(i));
      if (batch.length > 0) parts.push(encodeMetrics(batch));
      await slicer.pause();
    }
    yield encodeLength(parts.reduce((n, p) => n + p.length, 0));
    yield* parts;
  }

  for (const { field, name, help } of TARGET_COUNTERS) {
    yield* family({ name, help, type: MetricType.COUNTER }, size, (i) => [
      { label: labels[i]!, counter: { value: view.counters(i)[field] } },
    ]);
  }
  const outage = view.outage?.bind(view);
  if (outage) {
    yield* family(
      { name: 'netping_target_up', help: TARGET_UP_HELP, type: MetricType.GAUGE },
      size,
      (i) => [{ label: labels[i]!, gauge: { value: outage(i).up ? 1 : 0 } }],
    );
    yield* family(
      { name: 'netping_outages_total', help: OUTAGES_HELP, type: MetricType.COUNTER },
      size,
      (i) => [{ label: labels[i]!, counter: { value: outage(i).outages } }],
    );
  }
  const path = view.path?.bind(view);
  if (path) {
    yield* family(
      { name: 'netping_path_changes_total', help: PATH_CHANGES_HELP, type: MetricType.COUNTER },
      size,
      (i) => {
        const p = path(i);
        return p ? [{ label: labels[i]!, counter: { value: p.changes } }] : [];
      },
    );
    yield* family(
      { name: 'netping_path_mtu_bytes', help: PATH_MTU_HELP, type: MetricType.GAUGE },
      size,
      (i) => {
        const mtu = path(i)?.mtu;
        return mtu ? [{ label: labels[i]!, gauge: { value: mtu } }] : [];
      },
    );
  }
  // HELP texts shared with exposition.ts; test/unit/protobuf-exposition.test.ts holds the two together.
  for (const [name, help, byReason] of [
    ['netping_errors_total', ERRORS_HELP, (i: number) => view.errors(i)],
    ['netping_received_by_reason_total', ANSWERS_HELP, (i: number) => view.answers(i)],
  ] as const) {
    yield* family({ name, help, type: MetricType.COUNTER }, size, (i) =>
      [...byReason(i)].map(([reason, n]) => ({
        label: [...labels[i]!, { name: 'reason', value: reason }],
        counter: { value: n },
      })),
    );
  }
  yield* family(
    {
      name: 'netping_rtt_seconds',
      help: 'Round-trip time of answered probes.',
      type: MetricType.HISTOGRAM,
    },
    size,
    (i) => {
      const h = view.histogram(i);
      const histogram: Histogram = {
        sampleCount: h.count,
        sampleSum: h.sumSeconds,
        ...nativeBuckets(h),
      };
      if (opts.classicBuckets) {
        histogram.bucket = h.bounds.map((upperBound, j): Bucket => ({
          upperBound,
          cumulativeCount: h.cumulative[j]!,
        }));
      }
      return [{ label: labels[i]!, histogram }];
    },
  );

  const TYPES = {
    gauge: MetricType.GAUGE,
    counter: MetricType.COUNTER,
    histogram: MetricType.HISTOGRAM,
  };
  for (const f of throughputFamilies(view)) {
    yield* family({ name: f.name, help: f.help, type: TYPES[f.type] }, f.samples.length, (i) => {
      const s = f.samples[i]!;
      const label = s.labels.map(([name, value]) => ({ name, value }));
      const h = s.histogram;
      if (h === undefined)
        return [
          f.type === 'counter'
            ? { label, counter: { value: s.value ?? 0 } }
            : { label, gauge: { value: s.value ?? 0 } },
        ];
      const histogram: Histogram = {
        sampleCount: h.count,
        sampleSum: h.sumSeconds,
        ...nativeBuckets(h),
      };
      if (opts.classicBuckets)
        histogram.bucket = h.bounds.map((upperBound, j): Bucket => ({
          upperBound,
          cumulativeCount: h.cumulative[j]!,
        }));
      return [{ label, histogram }];
    });
  }

  const gauge = (name: string, help: string, value: number, label: LabelPair[] = []) =>
    family({ name, help, type: MetricType.GAUGE }, 1, () => [{ label, gauge: { value } }]);
  yield* gauge('netping_targets', 'Targets being probed.', size);
  yield* gauge(
    'netping_invalid_targets',
    'Members of the target set that do not parse or are over the limit.',
    head.invalid.length,
  );
  yield* gauge(
    'netping_store_up',
    'Whether the target store is reachable (1) or not (0).',
    head.store.up ? 1 : 0,
    [{ name: 'store', value: head.store.kind }],
  );
  const ignored = Object.entries(head.ignoredPackets);
  yield* family(
    {
      name: 'netping_packets_ignored_total',
      help: 'Received ICMP packets that matched none of our probes, by why.',
      type: MetricType.COUNTER,
    },
    ignored.length,
    (i) => [
      { label: [{ name: 'reason', value: ignored[i]![0] }], counter: { value: ignored[i]![1] } },
    ],
  );

  const lookups = [...dnsLookupSamples(view)];
  if (lookups.length > 0) {
    yield* family(
      { name: 'netping_dns_lookups_total', help: DNS_LOOKUPS_HELP, type: MetricType.COUNTER },
      lookups.length,
      (i) => [
        {
          label: [
            { name: 'host', value: lookups[i]![0] },
            { name: 'result', value: lookups[i]![1] },
          ],
          counter: { value: lookups[i]![2] },
        },
      ],
    );
  }

  for (const { header, metrics } of await registryFamilies(registry)) {
    yield* family(header, metrics.length, (i) => [metrics[i]!]);
  }
}

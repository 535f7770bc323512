// The throughput families, from the report's throughput section (a handful
// of series per throughput target), as data that the text exposition
// (exposition.ts) and the protobuf one (protobuf-exposition.ts) both write.

import type { DaemonView } from '../report.js';
import type { HistogramSnapshot } from '../stats/histogram.js';
import { TEST_OUTCOMES, type Direction } from './client.js';

const DIRECTIONS: readonly Direction[] = ['download', 'upload'];

export interface ThroughputSample {
  readonly labels: readonly (readonly [string, string])[];
  readonly value?: number;
  readonly histogram?: HistogramSnapshot;
}

export interface ThroughputFamily {
  readonly name: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly help: string;
  readonly samples: ThroughputSample[];
}

/** The throughput families; none when the daemon has no throughput targets. */
export function throughputFamilies(view: DaemonView): ThroughputFamily[] {
  const reports = view.head.throughput ?? [];
  if (reports.length === 0) return [];
  const base = reports.map(
    (r) =>
      [
        ['target', r.name],
        ['address', r.address],
      ] as const,
  );
  const rate: ThroughputFamily = {
    name: 'netping_throughput_bits_per_second',
    type: 'gauge',
    help: 'Goodput of the last ok throughput test, by direction (application bytes after a 1 s warm-up).',
    samples: [],
  };
  const tests: ThroughputFamily = {
    name: 'netping_throughput_tests_total',
    type: 'counter',
    help: 'Throughput tests run, by result.',
    samples: [],
  };
  const retries: ThroughputFamily = {
    name: 'netping_throughput_busy_retries_total',
    type: 'counter',
    help: 'Throughput tests run again after a random back-off because the responder was busy.',
    samples: [],
  };
  const medians: ThroughputFamily = {
    name: 'netping_throughput_rtt_median_seconds',
    type: 'gauge',
    help: 'Median RTT of the last ok throughput test: idle just before it, and under load by direction.',
    samples: [],
  };
  const loaded: ThroughputFamily = {
    name: 'netping_loaded_rtt_seconds',
    type: 'histogram',
    help: 'RTTs to a throughput peer while a test streamed, by direction.',
    samples: [],
  };
  reports.forEach((r, i) => {
    const labels = base[i]!;
    const bps = { download: r.downloadBps, upload: r.uploadBps };
    for (const d of DIRECTIONS) {
      const value = bps[d];
      if (value !== undefined) rate.samples.push({ labels: [...labels, ['direction', d]], value });
    }
    for (const o of TEST_OUTCOMES)
      tests.samples.push({ labels: [...labels, ['result', o]], value: r.tests[o] });
    retries.samples.push({ labels, value: r.busyRetries });
    const phases = {
      idle: r.idleRttMs,
      download: r.loadedDownloadRttMs,
      upload: r.loadedUploadRttMs,
    };
    for (const [phase, ms] of Object.entries(phases))
      if (ms !== undefined)
        medians.samples.push({ labels: [...labels, ['phase', phase]], value: ms / 1000 });
    const h = view.throughputHistograms?.(i);
    if (h)
      for (const d of DIRECTIONS)
        loaded.samples.push({ labels: [...labels, ['direction', d]], histogram: h[d] });
  });
  return [rate, tests, retries, medians, loaded];
}

// /metrics: the per-target families written from one DaemonView per
// scrape (exposition.ts), followed by prom-client's registry of our own (never
// the global one) for the build info and the process and Node.js metrics.

import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { DaemonView } from '../report.js';
import { renderSnapshot } from './exposition.js';
import { protobufExposition } from './protobuf-exposition.js';

// Gauges named like counters: promtool (rightly) rejects them.
const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export class MetricsExporter {
  readonly registry = new Registry();
  readonly #takeView: () => DaemonView | Promise<DaemonView>;
  readonly #classicBuckets: boolean;

  constructor(
    takeView: () => DaemonView | Promise<DaemonView>,
    opts: { version: string; processMetrics: boolean; classicBuckets?: boolean },
  ) {
    this.#takeView = takeView;
    this.#classicBuckets = opts.classicBuckets ?? true;
    const info = new Gauge({
      name: 'netping_build_info',
      help: 'Always 1; the version is a label.',
      labelNames: ['version'],
      registers: [this.registry],
    });
    info.set({ version: opts.version }, 1);
    if (opts.processMetrics) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of MISNAMED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition of one snapshot, in pieces of one target each, for slicedChunks(). */
  async *chunks(): AsyncGenerator<string> {
    yield* renderSnapshot(await this.#takeView());
    yield await this.registry.metrics();
  }

  /** The same exposition as delimited protobuf MetricFamily messages, native histograms included. */
  async *protobufChunks(): AsyncGenerator<Uint8Array> {
    yield* protobufExposition(await this.#takeView(), this.registry, {
      classicBuckets: this.#classicBuckets,
    });
  }

  /** The whole exposition as one string (tests, small deployments). */
  async render(): Promise<string> {
    let out = '';
    for await (const chunk of this.chunks()) out += chunk;
    return out;
  }
}

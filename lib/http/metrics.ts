// /metrics: the per-target families written from one DaemonView per
// scrape (exposition.ts), followed by prom-client's registry of our own (never
// the global one) for the build info and the process and Node.js metrics.

import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { DaemonView } from '../report.js';
import { renderSnapshot } from './exposition.js';
import { protobufExposition } from './protobuf-exposition.js';

const LEFT_OUT_DEFAULT_METRICS = [
  // Gauges named like counters: promtool (rightly) rejects them.
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
  // Event-loop lag: worth having only at a fine resolution, which takes a
  // 100 Hz timer (prom-client's 10 ms default): 100 wake-ups a second,
  // which cost more CPU than probing a few dozen targets. We run its
  // monitor at 1 s and leave these out rather than export numbers that
  // mostly show the resolution (they report whole ticks, not delays).
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
];
const EVENT_LOOP_MONITOR_MS = 1000;

export class MetricsExporter {
  readonly registry = new Registry();
  readonly #takeView: () => DaemonView | Promise<DaemonView>;
  readonly #classicBuckets: boolean;

  constructor(
    takeView: () => DaemonView | Promise<DaemonView>,
    opts: {
      version: string;
      processMetrics: boolean;
      classicBuckets?: boolean;
      /** Each probe kind's transport labels, as netping_<kind>_transport_info. */
      transports?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    },
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
    for (const [kind, labels] of Object.entries(opts.transports ?? {})) {
      const transport = new Gauge({
        name: `netping_${kind}_transport_info`,
        help: `Always 1; the ${kind} probes' socket layer and the clock of their stamps are labels.`,
        labelNames: Object.keys(labels),
        registers: [this.registry],
      });
      transport.set(labels, 1);
    }
    if (opts.processMetrics) {
      collectDefaultMetrics({
        register: this.registry,
        eventLoopMonitoringPrecision: EVENT_LOOP_MONITOR_MS,
      });
      for (const name of LEFT_OUT_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
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

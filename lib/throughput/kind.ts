// The `throughput` probe kind: a target names it like any kind
// (probe=throughput&port=9923&every=15m&duration=5s), but it is not probed
// by the engine: TargetSync hands it to the ThroughputRunner (runner.ts).

import type { ProbeKind } from '../probes/prober.js';

export const THROUGHPUT_KIND = 'throughput';
/** The peer responder's default port (--peer-listen). */
export const THROUGHPUT_PORT = 9923;
export const DEFAULT_THROUGHPUT_EVERY_MS = 15 * 60_000;
export const DEFAULT_THROUGHPUT_DURATION_MS = 5000;
export const THROUGHPUT_EVERY_BOUNDS_MS = [10_000, 7 * 86_400_000] as const;
export const THROUGHPUT_DURATION_BOUNDS_MS = [1000, 60_000] as const;

export const throughputKind: ProbeKind = {
  name: THROUGHPUT_KIND,
  port: THROUGHPUT_PORT,
  ownRunner: true,
  schedule: {
    every: { defaultMs: DEFAULT_THROUGHPUT_EVERY_MS, bounds: THROUGHPUT_EVERY_BOUNDS_MS },
    duration: { defaultMs: DEFAULT_THROUGHPUT_DURATION_MS, bounds: THROUGHPUT_DURATION_BOUNDS_MS },
  },
};

// The metric families netpingd exports at /metrics, as the ops files (alert
// rules, Grafana dashboard) may name them. One list, so that a renamed metric
// fails the dashboard and rules tests instead of silently emptying a panel.

/** netping's own families, by type. */
export const NETPING_COUNTERS = [
  'netping_sent_total',
  'netping_received_total',
  'netping_lost_total',
  'netping_late_total',
  'netping_duplicates_total',
  'netping_errors_total',
  'netping_received_by_reason_total',
  'netping_packets_ignored_total',
] as const;

export const NETPING_GAUGES = [
  'netping_targets',
  'netping_invalid_targets',
  'netping_store_up',
  'netping_build_info',
] as const;

export const NETPING_HISTOGRAMS = ['netping_rtt_seconds'] as const;

/** Every series name a PromQL expression may use for netping's own metrics. */
export const NETPING_SERIES_NAMES: ReadonlySet<string> = new Set([
  ...NETPING_COUNTERS,
  ...NETPING_GAUGES,
  ...NETPING_HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
]);

/** prom-client's default metrics carry these prefixes. */
export const DEFAULT_METRIC_PREFIXES = ['process_', 'nodejs_'] as const;

/**
 * The metric names in a PromQL expression that belong to netping (or to
 * prom-client's defaults). Recording-rule names (level:metric:ops) contain
 * colons and are left out, as are label names inside {...} and by (...).
 */
export function metricNamesIn(expr: string): string[] {
  // Drop string literals and label matchers / groupings so that a label value
  // or name that happens to start with netping_ is not taken for a metric.
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = m[0];
    if (name.includes(':')) continue;
    if (name.startsWith('netping_') || DEFAULT_METRIC_PREFIXES.some((p) => name.startsWith(p))) {
      names.add(name);
    }
  }
  return [...names];
}

/** True when `name` is a series netpingd exports (or a prom-client default). */
export function isExported(name: string): boolean {
  return NETPING_SERIES_NAMES.has(name) || DEFAULT_METRIC_PREFIXES.some((p) => name.startsWith(p));
}

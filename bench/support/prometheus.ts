// Just enough of the Prometheus text format to sum counters and to take the
// median of histograms summed over every target, over a time window.

interface Sample {
  name: string;
  labels: Map<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseSamples(text: string, wanted: (name: string) => boolean): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null || !wanted(m[1]!)) continue;
    const labels = new Map<string, string>();
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels.set(l[1]!, l[2]!);
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of a metric over all its series. */
export function sumOf(text: string, name: string): number {
  return parseSamples(text, (n) => n === name).reduce((sum, s) => sum + s.value, 0);
}

/** A metric summed per value of one of its labels (`fallback` for series without it). */
export function sumByLabel(
  text: string,
  name: string,
  label: string,
  fallback = '?',
): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of parseSamples(text, (n) => n === name)) {
    const key = s.labels.get(label) ?? fallback;
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return sums;
}

/** Bucket upper bound (as exported) to how many observations fell in (lower, upper]. */
export type Buckets = Map<string, { lower: number; upper: number; count: number }>;

/**
 * Per-bucket counts summed over every series of a histogram. A series may
 * export only some buckets (netpingd leaves empty ones out, keeping the edge
 * below each non-empty one); a bucket's lower edge is then the previous
 * exported bound, taken as the tightest edge any series shows.
 */
export function histogramBuckets(text: string, name: string): Buckets {
  const series = new Map<string, { le: number; key: string; cum: number }[]>();
  for (const s of parseSamples(text, (n) => n === `${name}_bucket`)) {
    const le = s.labels.get('le');
    if (le === undefined) continue;
    const id = [...s.labels].filter(([k]) => k !== 'le').join(',');
    let list = series.get(id);
    if (list === undefined) series.set(id, (list = []));
    list.push({ le: le === '+Inf' ? Infinity : Number(le), key: le, cum: s.value });
  }
  const out: Buckets = new Map();
  for (const list of series.values()) {
    list.sort((a, b) => a.le - b.le);
    let lower = 0;
    let before = 0;
    for (const b of list) {
      const bucket = out.get(b.key) ?? { lower, upper: b.le, count: 0 };
      bucket.lower = Math.max(bucket.lower, lower);
      bucket.count += b.cum - before;
      out.set(b.key, bucket);
      lower = b.le;
      before = b.cum;
    }
  }
  return out;
}

/** What was observed between two scrapes. */
export function bucketDelta(start: Buckets, end: Buckets): Buckets {
  const out: Buckets = new Map();
  for (const [key, b] of end) {
    const count = b.count - (start.get(key)?.count ?? 0);
    if (count > 0) out.set(key, { ...b, lower: Math.max(b.lower, start.get(key)?.lower ?? 0) });
  }
  return out;
}

/** The median, interpolated linearly inside the bucket that holds it; NaN if empty. */
export function bucketMedian(buckets: Buckets): number {
  const list = [...buckets.values()].sort((a, b) => a.upper - b.upper);
  const total = list.reduce((sum, b) => sum + b.count, 0);
  if (total === 0) return NaN;
  const rank = total / 2;
  let before = 0;
  for (const b of list) {
    if (before + b.count >= rank) {
      if (!Number.isFinite(b.upper)) return b.lower;
      return b.lower + ((b.upper - b.lower) * (rank - before)) / b.count;
    }
    before += b.count;
  }
  return NaN; // unreachable: the last bucket always holds the rank
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

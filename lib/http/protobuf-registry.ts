// prom-client's registry (build info, process and Node.js metrics) as
// protobuf families. prom-client writes only text, but its JSON form holds the
// same samples, including each histogram's `le` and each summary's `quantile`
// as labels, which are folded back into one Metric per label set here.

import type { Registry } from 'prom-client';
import { MetricType, type FamilyHeader, type LabelPair, type Metric } from './metrics-proto.js';

export interface EncodedFamily {
  header: FamilyHeader;
  metrics: Metric[];
}

interface JsonSample {
  value: number;
  labels: Partial<Record<string, string | number>>;
  metricName?: string;
}

export async function registryFamilies(registry: Registry): Promise<EncodedFamily[]> {
  const out: EncodedFamily[] = [];
  for (const f of await registry.getMetricsAsJSON()) {
    // prom-client types `type` as a numeric enum, but its metrics carry the
    // strings 'counter', 'gauge', 'histogram' and 'summary' at run time.
    const kind = String(f.type);
    const samples = f.values as JsonSample[];
    if (kind === 'histogram' || kind === 'summary') {
      const type = kind === 'histogram' ? MetricType.HISTOGRAM : MetricType.SUMMARY;
      out.push({
        header: { name: f.name, help: f.help, type },
        metrics: folded(f.name, kind, samples),
      });
    } else {
      const type = kind === 'counter' ? MetricType.COUNTER : MetricType.GAUGE;
      const metrics = samples.map((s): Metric => {
        const value = { value: s.value };
        return kind === 'counter'
          ? { label: labelPairs(s.labels), counter: value }
          : { label: labelPairs(s.labels), gauge: value };
      });
      out.push({ header: { name: f.name, help: f.help, type }, metrics });
    }
  }
  return out;
}

function labelPairs(labels: JsonSample['labels'], except?: string): LabelPair[] {
  const pairs: LabelPair[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (name !== except && value !== undefined) pairs.push({ name, value: String(value) });
  }
  return pairs;
}

/** One Metric per label set (without le / quantile) of a histogram's or summary's samples. */
function folded(name: string, kind: 'histogram' | 'summary', samples: JsonSample[]): Metric[] {
  const special = kind === 'histogram' ? 'le' : 'quantile';
  const byLabels = new Map<string, Metric>();
  for (const s of samples) {
    const label = labelPairs(s.labels, special);
    const key = JSON.stringify(label);
    let m = byLabels.get(key);
    if (!m) {
      m =
        kind === 'histogram'
          ? { label, histogram: { sampleCount: 0, sampleSum: 0, bucket: [] } }
          : { label, summary: { sampleCount: 0, sampleSum: 0, quantile: [] } };
      byLabels.set(key, m);
    }
    const body = m.histogram ?? m.summary!;
    if (s.metricName === `${name}_sum`) body.sampleSum = s.value;
    else if (s.metricName === `${name}_count`) body.sampleCount = s.value;
    else if (m.histogram) {
      // +Inf is optional in protobuf: the count is that bucket.
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      if (le !== Infinity) m.histogram.bucket!.push({ upperBound: le, cumulativeCount: s.value });
    } else {
      m.summary!.quantile.push({ quantile: Number(s.labels.quantile), value: s.value });
    }
  }
  return [...byLabels.values()];
}

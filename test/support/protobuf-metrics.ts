// Reads a /metrics exposition back, in either format, into one comparable
// form: family → help, type and the samples (series → value) as the text
// format names them, protobuf histograms expanded into _bucket/_sum/_count.

import protobuf from 'protobufjs';
import { MetricFamilyType } from '../../lib/http/metrics-proto.js';

/** A decoded MetricFamily, as protobufjs's toObject gives it (enums as names, 64-bit as numbers). */
export interface DecodedFamily {
  name: string;
  help?: string;
  type?: string;
  metric?: DecodedMetric[];
}

export interface DecodedMetric {
  label?: { name: string; value: string }[];
  counter?: { value: number };
  gauge?: { value: number };
  summary?: {
    sampleCount?: number;
    sampleSum?: number;
    quantile?: { quantile: number; value: number }[];
  };
  histogram?: DecodedHistogram;
}

export interface DecodedHistogram {
  sampleCount?: number;
  sampleSum?: number;
  bucket?: { cumulativeCount?: number; upperBound: number }[];
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  positiveSpan?: { offset?: number; length?: number }[];
  positiveDelta?: number[];
  negativeSpan?: unknown[];
}

export function decodeFamilies(body: Uint8Array): DecodedFamily[] {
  const reader = protobuf.Reader.create(body);
  const out: DecodedFamily[] = [];
  while (reader.pos < reader.len) {
    const message = MetricFamilyType.decodeDelimited(reader);
    out.push(MetricFamilyType.toObject(message, { longs: Number, enums: String }) as DecodedFamily);
  }
  return out;
}

/** Native bucket index → count, from a histogram's spans and deltas. */
export function nativeCounts(h: DecodedHistogram): Map<number, number> {
  const counts = new Map<number, number>();
  const deltas = h.positiveDelta ?? [];
  let index = 0;
  let count = 0;
  let d = 0;
  (h.positiveSpan ?? []).forEach((span, s) => {
    index += (span.offset ?? 0) + (s === 0 ? 0 : 1);
    for (let j = 0; j < (span.length ?? 0); j++) {
      count += deltas[d++]!;
      counts.set(index + j, count);
    }
    index += (span.length ?? 0) - 1;
  });
  if (d !== deltas.length) throw new Error(`${deltas.length} deltas for ${d} buckets`);
  return counts;
}

export interface FamilySamples {
  help: string;
  type: string;
  samples: Map<string, number>;
}

function series(name: string, labels: [string, string][]): string {
  const sorted = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${name}{${sorted.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
}

function formatLe(bound: number): string {
  return bound === Infinity ? '+Inf' : String(bound);
}

export function samplesOfProtobuf(families: DecodedFamily[]): Map<string, FamilySamples> {
  const out = new Map<string, FamilySamples>();
  for (const f of families) {
    const samples = new Map<string, number>();
    for (const m of f.metric ?? []) {
      const labels = (m.label ?? []).map((l): [string, string] => [l.name, l.value]);
      if (m.counter) samples.set(series(f.name, labels), m.counter.value ?? 0);
      if (m.gauge) samples.set(series(f.name, labels), m.gauge.value ?? 0);
      const h = m.histogram;
      if (h) {
        for (const b of h.bucket ?? []) {
          samples.set(
            series(`${f.name}_bucket`, [...labels, ['le', formatLe(b.upperBound)]]),
            b.cumulativeCount ?? 0,
          );
        }
        samples.set(series(`${f.name}_bucket`, [...labels, ['le', '+Inf']]), h.sampleCount ?? 0);
        samples.set(series(`${f.name}_sum`, labels), h.sampleSum ?? 0);
        samples.set(series(`${f.name}_count`, labels), h.sampleCount ?? 0);
      }
      const s = m.summary;
      if (s) {
        for (const q of s.quantile ?? []) {
          samples.set(series(f.name, [...labels, ['quantile', String(q.quantile)]]), q.value);
        }
        samples.set(series(`${f.name}_sum`, labels), s.sampleSum ?? 0);
        samples.set(series(`${f.name}_count`, labels), s.sampleCount ?? 0);
      }
    }
    out.set(f.name, { help: f.help ?? '', type: (f.type ?? 'COUNTER').toLowerCase(), samples });
  }
  return out;
}

/** Text format 0.0.4, as netpingd and prom-client write it (no timestamps). */
export function samplesOfText(text: string): Map<string, FamilySamples> {
  const out = new Map<string, FamilySamples>();
  let current: FamilySamples | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    if (help) {
      current = {
        help: help[2]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'),
        type: '',
        samples: new Map(),
      };
      out.set(help[1]!, current);
      continue;
    }
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      current!.type = type[2]!;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`unparsed line: ${line}`);
    const labels: [string, string][] = [];
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      const value = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      labels.push([m[1]!, value]);
    }
    const value = sample[3] === '+Inf' ? Infinity : Number(sample[3]);
    current!.samples.set(series(sample[1]!, labels), value);
  }
  return out;
}

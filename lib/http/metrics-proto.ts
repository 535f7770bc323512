// Prometheus's protobuf exposition model (io.prometheus.client), from the
// official metrics.proto of prometheus/client_model (v0.3.0, Apache-2.0),
// vendored unchanged under proto/ and loaded at run time with protobufjs: the
// field numbers and wire types come from that file, not from us. protobufjs
// was chosen over @bufbuild/protobuf because it reads a .proto at run time
// (no code generator, no protoc in the build) and compiles a specialised
// encoder per message type, which matters at 10,000 targets a scrape.

import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** What a scraper sends in Accept, and what we answer with, for this format. */
export const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

// Two levels above dist/lib/http/ is the repository root, as for package.json in version.ts.
const PROTO_FILE = fileURLToPath(
  new URL('../../../proto/io/prometheus/client/metrics.proto', import.meta.url),
);

// Loaded once, at import: a missing or broken file stops netpingd at start,
// not at its first protobuf scrape. google/protobuf/timestamp.proto, which it
// imports, is bundled with protobufjs.
const root = new protobuf.Root().loadSync(PROTO_FILE);
export const MetricFamilyType: protobuf.Type = root.lookupType('io.prometheus.client.MetricFamily');
const metricTypes = root.lookupEnum('io.prometheus.client.MetricType').values;

function metricType(name: string): number {
  const value = metricTypes[name];
  if (value === undefined) throw new Error(`metrics.proto has no MetricType ${name}`);
  return value;
}

export const MetricType = {
  COUNTER: metricType('COUNTER'),
  GAUGE: metricType('GAUGE'),
  SUMMARY: metricType('SUMMARY'),
  UNTYPED: metricType('UNTYPED'),
  HISTOGRAM: metricType('HISTOGRAM'),
} as const;

// The messages as plain objects, in protobufjs's camelCase field names.

export interface LabelPair {
  name: string;
  value: string;
}

export interface Bucket {
  cumulativeCount: number;
  upperBound: number;
}

export interface BucketSpan {
  offset: number;
  length: number;
}

export interface Histogram {
  sampleCount: number;
  sampleSum: number;
  bucket?: Bucket[];
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  positiveSpan?: BucketSpan[];
  positiveDelta?: number[];
}

export interface Summary {
  sampleCount: number;
  sampleSum: number;
  quantile: { quantile: number; value: number }[];
}

export interface Metric {
  label: LabelPair[];
  counter?: { value: number };
  gauge?: { value: number };
  untyped?: { value: number };
  summary?: Summary;
  histogram?: Histogram;
}

export interface FamilyHeader {
  name: string;
  help: string;
  type: number;
}

/** A MetricFamily with only name, help and type (no length prefix). */
export function encodeHeader(header: FamilyHeader): Uint8Array {
  return MetricFamilyType.encode(header).finish();
}

/**
 * A MetricFamily with only these metrics (no length prefix). Protobuf appends
 * repeated fields when messages are concatenated, so a header followed by any
 * number of these is one MetricFamily: that is what lets a family of 10,000
 * metrics be encoded a batch at a time.
 */
export function encodeMetrics(metric: Metric[]): Uint8Array {
  return MetricFamilyType.encode({ metric }).finish();
}

/** The varint length prefix of the delimited format. */
export function encodeLength(bytes: number): Uint8Array {
  return protobuf.Writer.create().uint32(bytes).finish();
}

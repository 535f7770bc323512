// The protobuf exposition, decoded again: the native histogram bucket for
// bucket against the classic one, every other family the same as in text,
// content negotiation, and encoding that lets the event loop run.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDaemonArgs, environmentFlag } from '../../daemon/options.js';
import { createApp } from '../../lib/http/app.js';
import { PROTOBUF_CONTENT_TYPE } from '../../lib/http/metrics-proto.js';
import { MetricsExporter } from '../../lib/http/metrics.js';
import { negotiateExposition } from '../../lib/http/negotiate.js';
import { NATIVE_INDEX_OFFSET, ZERO_THRESHOLD_SECONDS } from '../../lib/http/native-histogram.js';
import { protobufExposition } from '../../lib/http/protobuf-exposition.js';
import { viewOf, type DaemonView, type TargetReport } from '../../lib/report.js';
import { BUCKET_BOUNDS_SECONDS, LatencyHistogram } from '../../lib/stats/histogram.js';
import {
  decodeFamilies,
  nativeCounts,
  samplesOfProtobuf,
  samplesOfText,
  type DecodedFamily,
  type DecodedHistogram,
} from '../support/protobuf-metrics.js';
import { Registry } from 'prom-client';

const PROMETHEUS_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,' +
  'text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

// 4 µs lands in the zero bucket; 100 µs twice, 110 µs and 120 µs fill
// neighbours; 1 ms and 3 ms leave gaps; 0.5 s is exactly one of our bounds.
const SAMPLES = [4e-6, 1e-4, 1e-4, 1.1e-4, 1.2e-4, 1e-3, 3e-3, 0.5];

function target(name: string, address: string, over: Partial<TargetReport> = {}): TargetReport {
  return {
    name,
    address,
    probe: 'icmp',
    family: 4,
    intervalMs: 1000,
    timeoutMs: 1000,
    sent: 9,
    received: 8,
    lost: 1,
    inFlight: 0,
    late: 0,
    duplicates: 0,
    errors: {},
    answers: {},
    successPct: undefined,
    lossPct: undefined,
    minMs: undefined,
    meanMs: undefined,
    avg15mMs: undefined,
    avg6hMs: undefined,
    avg24hMs: undefined,
    maxMs: undefined,
    lastMs: undefined,
    ...over,
  };
}

function snapshotOf(targets: TargetReport[], samples: readonly number[][]): DaemonView {
  return viewOf({
    report: {
      version: '9.9.9',
      generatedAt: '2026-01-01T00:00:00.000Z',
      store: { kind: 'redis', location: 'redis://127.0.0.1:6379', up: true },
      targets,
      invalid: [],
      ignoredPackets: { foreign: 3, checksum: 1 },
    },
    histograms: samples.map((s) => {
      const h = new LatencyHistogram();
      for (const x of s) h.observe(x);
      return h.snapshot();
    }),
  });
}

const SNAP = snapshotOf(
  [
    target('lo', '127.0.0.1', { errors: { 'send:ENETUNREACH': 1 } }),
    target('we"ird\\name\n€', '::1'),
    target('empty', '127.0.0.3', { sent: 0, received: 0, lost: 0 }),
    // The same name and address probed by TCP: another series, with probe and port labels.
    target('lo', '127.0.0.1', { probe: 'tcp', port: 443, answers: { 'tcp:refused': 2 } }),
  ],
  [SAMPLES, [0.02, 0.021], [], [0.0001]],
);

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

function rtt(families: DecodedFamily[], name: string): DecodedHistogram {
  const f = families.find((x) => x.name === 'netping_rtt_seconds');
  const m = f?.metric?.find((x) => x.label?.find((l) => l.name === 'target')?.value === name);
  assert.ok(m?.histogram, `no netping_rtt_seconds for ${name}`);
  return m.histogram;
}

describe('native histogram buckets', () => {
  it('our bucket k is native schema-3 bucket k-133; rounding moves no bound by more than 0.05%', () => {
    assert.equal(NATIVE_INDEX_OFFSET, -133);
    assert.equal(ZERO_THRESHOLD_SECONDS, 2 ** (-133 / 8));
    BUCKET_BOUNDS_SECONDS.forEach((bound, k) => {
      const exact = 2 ** ((k + NATIVE_INDEX_OFFSET) / 8);
      assert.ok(Math.abs(bound / exact - 1) <= 5e-4, `bucket ${k}: ${bound} vs ${exact}`);
    });
  });

  it('spans, deltas and counts match the classic buckets, bucket for bucket', async () => {
    const exporter = new MetricsExporter(() => SNAP, { version: '9.9.9', processMetrics: false });
    const h = rtt(decodeFamilies(await collect(exporter.protobufChunks())), 'lo');
    assert.equal(h.schema, 3);
    assert.equal(h.zeroThreshold, 2 ** (-133 / 8));
    assert.equal(h.sampleCount, SAMPLES.length);
    assert.ok(Math.abs(h.sampleSum! - SAMPLES.reduce((a, b) => a + b)) < 1e-12);
    assert.equal(h.negativeSpan?.length ?? 0, 0);
    // Native indices by hand: ceil(8·log2(x)) for each sample, bounds as exported.
    assert.deepEqual(h.positiveSpan, [
      { offset: -106, length: 3 }, // 100 µs ×2 (-106), 110 µs (-105), 120 µs (-104)
      { offset: 24, length: 1 }, // 1 ms (-79)
      { offset: 11, length: 1 }, // 3 ms (-67)
      { offset: 58, length: 1 }, // 0.5 s (-8), exactly our bound and 2^-1
    ]);
    assert.deepEqual(h.positiveDelta, [2, -1, 0, 0, 0, 0]);
    assert.equal(h.zeroCount, 1);

    // And against the classic buckets of the same message: each non-empty
    // classic bucket (above the first) is the native bucket at round(8·log2(le)).
    const native = nativeCounts(h);
    const classic = new Map<number, number>();
    let below = 0;
    let zero = 0;
    for (const b of h.bucket ?? []) {
      const count = b.cumulativeCount! - below;
      below = b.cumulativeCount!;
      if (b.upperBound === BUCKET_BOUNDS_SECONDS[0]) zero += count;
      else if (count > 0) classic.set(Math.round(8 * Math.log2(b.upperBound)), count);
    }
    assert.deepEqual([...native.entries()], [...classic.entries()]);
    assert.equal(h.zeroCount, zero);
    assert.equal([...native.values()].reduce((a, b) => a + b, 0) + zero, h.sampleCount);
  });

  it('fills gaps of up to two empty buckets inside a span', async () => {
    const h = rtt(
      decodeFamilies(
        await collect(
          protobufExposition(
            snapshotOf([target('g', '127.0.0.9')], [[1e-3, 1.3e-3, 1.7e-3]]),
            new Registry(),
            {
              classicBuckets: false,
            },
          ),
        ),
      ),
      'g',
    );
    // 1 ms (-79), 1.3 ms (-76), 1.7 ms (-73): gaps of two, so one span of seven.
    assert.deepEqual(h.positiveSpan, [{ offset: -79, length: 7 }]);
    assert.deepEqual(h.positiveDelta, [1, -1, 0, 1, -1, 0, 1]);
  });

  it('an empty histogram is still native (zero threshold set) with no spans', async () => {
    const exporter = new MetricsExporter(() => SNAP, { version: '9.9.9', processMetrics: false });
    const h = rtt(decodeFamilies(await collect(exporter.protobufChunks())), 'empty');
    assert.equal(h.schema, 3);
    assert.ok(h.zeroThreshold! > 0);
    assert.equal(h.sampleCount ?? 0, 0);
    assert.equal(h.positiveSpan?.length ?? 0, 0);
  });

  it('--no-classic-buckets leaves the le buckets out', async () => {
    const exporter = new MetricsExporter(() => SNAP, {
      version: '9.9.9',
      processMetrics: false,
      classicBuckets: false,
    });
    const h = rtt(decodeFamilies(await collect(exporter.protobufChunks())), 'lo');
    assert.equal(h.bucket?.length ?? 0, 0);
    assert.equal(h.positiveDelta?.length, 6);
  });
});

describe('protobuf exposition against text', () => {
  it('carries every family with the same help, type and samples as the text', async () => {
    const exporter = new MetricsExporter(() => SNAP, { version: '9.9.9', processMetrics: true });
    const text = samplesOfText(await exporter.render());
    const proto = samplesOfProtobuf(decodeFamilies(await collect(exporter.protobufChunks())));
    assert.deepEqual([...proto.keys()], [...text.keys()]);
    for (const [name, t] of text) {
      const p = proto.get(name)!;
      assert.equal(p.help, t.help, name);
      assert.equal(p.type, t.type, name);
      // prom-client's process and Node.js values move between two collections,
      // and so do some label values (the kinds of active resources): compare
      // the label names of those.
      const shapes = (keys: Iterable<string>): string[] =>
        [...new Set([...keys].map((k) => k.replace(/="(?:[^"\\]|\\.)*"/g, '')))].sort();
      // A family can also gain its first samples in between (the GC histogram
      // after the first GC).
      if (name.startsWith('netping_')) assert.deepEqual(p.samples, t.samples, name);
      else if (p.samples.size > 0 && t.samples.size > 0)
        assert.deepEqual(shapes(p.samples.keys()), shapes(t.samples.keys()), name);
    }
  });
});

describe('path families', () => {
  it('netping_path_* per traced target with its labels, the same in text and protobuf; none for an untraced one', async () => {
    const traced: DaemonView = {
      ...SNAP,
      path: (i) =>
        i === 0 ? { changes: 2, mtu: 1400 } : i === 1 ? { changes: 0, mtu: null } : undefined,
    };
    const exporter = new MetricsExporter(() => traced, { version: '9.9.9', processMetrics: false });
    const textBody = await exporter.render();
    const text = samplesOfText(textBody);
    const proto = samplesOfProtobuf(decodeFamilies(await collect(exporter.protobufChunks())));
    for (const name of ['netping_path_changes_total', 'netping_path_mtu_bytes'])
      assert.deepEqual(proto.get(name)?.samples, text.get(name)?.samples, name);
    assert.match(
      textBody,
      /^netping_path_changes_total\{target="lo",address="127\.0\.0\.1",probe="icmp"\} 2$/m,
    );
    assert.match(
      textBody,
      /^netping_path_changes_total\{target="we\\"ird\\\\name\\n€",address="::1",probe="icmp"\} 0$/m,
    );
    assert.match(
      textBody,
      /^netping_path_mtu_bytes\{target="lo",address="127\.0\.0\.1",probe="icmp"\} 1400$/m,
    );
    assert.equal(
      text.get('netping_path_changes_total')?.samples.size,
      2,
      'the untraced targets have none',
    );
    assert.equal(text.get('netping_path_mtu_bytes')?.samples.size, 1, 'no MTU found: no sample');
  });
});

describe('content negotiation', () => {
  it('gives protobuf only to a client that names it first (or equal first)', () => {
    assert.equal(negotiateExposition(PROMETHEUS_ACCEPT), 'protobuf');
    assert.equal(negotiateExposition(PROTOBUF_CONTENT_TYPE), 'protobuf');
    for (const accept of [
      undefined,
      '',
      '*/*',
      'text/plain',
      'text/plain;version=0.0.4;q=0.9,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5',
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text',
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0',
      'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5',
    ]) {
      assert.equal(negotiateExposition(accept), 'text', String(accept));
    }
  });

  it('/metrics answers in the format asked for, text unchanged', async () => {
    const exporter = new MetricsExporter(() => SNAP, { version: '9.9.9', processMetrics: false });
    const app = createApp({
      view: () => SNAP,
      metrics: () => exporter.chunks(),
      metricsContentType: exporter.contentType,
      protobufMetrics: () => exporter.protobufChunks(),
    });
    const pb = await app.request('/metrics', { headers: { Accept: PROMETHEUS_ACCEPT } });
    assert.equal(pb.headers.get('content-type'), PROTOBUF_CONTENT_TYPE);
    assert.equal(pb.headers.get('vary'), 'Accept');
    const families = decodeFamilies(new Uint8Array(await pb.arrayBuffer()));
    assert.ok(families.some((f) => f.name === 'netping_rtt_seconds'));

    const textAccepts: Record<string, string>[] = [
      {},
      { Accept: 'text/plain;version=0.0.4' },
      { Accept: '*/*' },
    ];
    for (const headers of textAccepts) {
      const res = await app.request('/metrics', { headers });
      assert.equal(res.headers.get('content-type'), exporter.contentType);
      assert.equal(await res.text(), await exporter.render());
    }
  });
});

describe('encoding at scale', () => {
  it('yields to the event loop while encoding 10,000 targets', async () => {
    const n = 10_000;
    const targets = Array.from({ length: n }, (_, i) =>
      target(`t${i}`, `127.100.${i >> 8}.${i & 255}`, { errors: { 'icmp:host-unreachable': 1 } }),
    );
    const samples = targets.map((_, i) => [1e-5 * (1 + (i % 7)), 2e-4, 3e-4, 0.001 + i * 1e-7]);
    const snap = snapshotOf(targets, samples);
    let turns = 0;
    let longestGapMs = 0;
    let last = performance.now();
    let running = true;
    const tick = (): void => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const body = await collect(protobufExposition(snap, new Registry(), { classicBuckets: true }));
    running = false;
    const families = decodeFamilies(body);
    assert.equal(families.find((f) => f.name === 'netping_rtt_seconds')?.metric?.length, n);
    // The encoder works in 2 ms slices; a shared CI machine can stretch one.
    assert.ok(turns > 20, `the event loop turned ${turns} times`);
    assert.ok(longestGapMs < 100, `longest stretch without a turn: ${longestGapMs.toFixed(1)} ms`);
  });
});

describe('netpingd options', () => {
  it('--no-classic-buckets and NETPING_NO_CLASSIC_BUCKETS', () => {
    const argv = ['node', 'netpingd'];
    assert.equal(parseDaemonArgs(argv).classicBuckets, true);
    assert.equal(parseDaemonArgs([...argv, '--no-classic-buckets']).classicBuckets, false);
    assert.equal(environmentFlag('X', { X: '1' }), true);
    assert.equal(environmentFlag('X', { X: 'yes' }), true);
    assert.equal(environmentFlag('X', { X: '0' }), false);
    assert.equal(environmentFlag('X', { X: '' }), false);
    assert.equal(environmentFlag('X', {}), false);
    assert.throws(() => environmentFlag('X', { X: 'maybe' }), /invalid X 'maybe'/);
  });
});

// The HTTP surface without a socket: app.request() against a hand-built snapshot.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from '../../lib/http/app.js';
import { MetricsExporter } from '../../lib/http/metrics.js';
import {
  ANSWERS_HEADING,
  renderSummaryTable,
  STATS_FOOTER,
} from '../../lib/render/summary-table.js';
import {
  viewOf,
  type DaemonReport,
  type DaemonSnapshot,
  type TargetReport,
} from '../../lib/report.js';
import { LatencyHistogram } from '../../lib/stats/histogram.js';
import {
  NETPING_COUNTERS,
  NETPING_GAUGES,
  NETPING_HISTOGRAMS,
} from '../support/exported-metrics.js';
import { decodeFamilies } from '../support/protobuf-metrics.js';
import { FakeMeshStore } from '../support/fake-mesh-store.js';
import { meshReader } from '../../lib/mesh/read.js';
import { encodeRegistration } from '../../lib/mesh/registration.js';
import { encodeSummary } from '../../lib/mesh/summary.js';
import { keysFor } from '../../lib/store/keys.js';

function target(over: Partial<TargetReport>): TargetReport {
  return {
    name: 'x',
    address: '127.0.0.1',
    probe: 'icmp',
    family: 4,
    intervalMs: 1000,
    timeoutMs: 1000,
    sent: 10,
    received: 9,
    lost: 1,
    inFlight: 0,
    late: 0,
    duplicates: 0,
    errors: {},
    answers: {},
    successPct: 90,
    lossPct: 10,
    minMs: 0.05,
    meanMs: 0.1,
    avg15mMs: 0.1,
    avg6hMs: 0.1,
    avg24hMs: 0.1,
    maxMs: 0.3,
    lastMs: 0.08,
    ...over,
  };
}

function snapshot(targets: TargetReport[], up = true): DaemonSnapshot {
  const histograms = targets.map(() => {
    const h = new LatencyHistogram();
    h.observe(0.0001);
    h.observe(0.0001);
    h.observe(0.002);
    return h.snapshot();
  });
  const report: DaemonReport = {
    version: '9.9.9',
    generatedAt: '2026-01-01T00:00:00.000Z',
    store: { kind: 'redis', location: 'redis://127.0.0.1:6379', up },
    targets,
    invalid: [{ member: 'junk', error: "invalid target 'junk': expected name@address" }],
    ignoredPackets: { foreign: 3 },
  };
  return { report, histograms };
}

describe('summary table', () => {
  it('renders meshping-style columns, numbers right-aligned, dashes for no data', () => {
    const text = renderSummaryTable(
      snapshot([
        target({ name: 'google', address: '8.8.8.8' }),
        target({ name: 'web', address: '192.0.2.80', probe: 'tcp', port: 443 }),
        target({
          name: 'new',
          address: '::1',
          probe: 'udp',
          port: 9923,
          sent: 0,
          received: 0,
          lost: 0,
          successPct: undefined,
          lossPct: undefined,
          minMs: undefined,
          lastMs: undefined,
        }),
      ]).report,
    );
    const lines = text.split('\n');
    assert.equal(
      lines[0],
      'Name    Address     Probe     Sent  Recv    Succ    Loss   Min  Avg15m  Avg6h  Avg24h   Max  Last',
    );
    assert.equal(
      lines[1],
      'google  8.8.8.8     icmp        10     9  90.00%  10.00%  0.05    0.10   0.10    0.10  0.30  0.08',
    );
    assert.equal(
      lines[2],
      'web     192.0.2.80  tcp:443     10     9  90.00%  10.00%  0.05    0.10   0.10    0.10  0.30  0.08',
    );
    assert.equal(
      lines[3],
      'new     ::1         udp:9923     0     0       -       -     -    0.10   0.10    0.10  0.30     -',
    );
    assert.equal(lines[4], "ERROR  junk: invalid target 'junk': expected name@address");
    assert.ok(!text.includes(ANSWERS_HEADING), 'no answers, no heading');
  });

  it('lists unusual answers under the table, a line per target that has them', () => {
    const text = renderSummaryTable(
      snapshot([
        target({ name: 'a', address: '192.0.2.1' }),
        target({
          name: 'b',
          address: '192.0.2.2',
          probe: 'tcp',
          port: 80,
          answers: { 'tcp:refused': 4 },
        }),
        target({
          name: 'c',
          address: '192.0.2.3',
          probe: 'tcp',
          port: 22,
          answers: { 'tcp:refused': 1, 'x:y': 2 },
        }),
      ]).report,
    );
    assert.ok(
      text.includes(
        `\n\n${ANSWERS_HEADING}\nb@192.0.2.2 tcp:80: tcp:refused 4\nc@192.0.2.3 tcp:22: tcp:refused 1, x:y 2\n\n${STATS_FOOTER}\n`,
      ),
      text,
    );
  });

  it('says when the store is unreachable and escapes control characters in names', () => {
    const text = renderSummaryTable(
      snapshot([target({ name: 'evil\u001b[2Jname' })], false).report,
    );
    assert.match(
      text,
      /^# store redis at redis:\/\/127\.0\.0\.1:6379 is unreachable: targets may be stale\n/,
    );
    assert.ok(!text.includes('\u001b'), 'raw escape reached the table');
    assert.match(text, /"evil\\u001b\[2Jname"/);
  });
});

describe('HTTP app', () => {
  const snap = snapshot([
    target({ name: 'a"b\\c€', address: '127.0.0.2', errors: { 'send:ENETUNREACH': 1 } }),
  ]);
  const exporter = new MetricsExporter(() => viewOf(snap), {
    version: '9.9.9',
    processMetrics: false,
  });
  const app = createApp({
    view: () => viewOf(snap),
    metrics: () => exporter.chunks(),
    metricsContentType: exporter.contentType,
  });

  it('serves the table at / as text/plain', async () => {
    const res = await app.request('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await res.text(), /^Name +Address/);
  });

  it('serves the report as JSON at /api/targets', async () => {
    const res = await app.request('/api/targets');
    assert.equal(res.status, 200);
    const body = (await res.json()) as DaemonReport;
    assert.equal(body.targets[0]?.name, 'a"b\\c€');
    assert.deepEqual(body.ignoredPackets, { foreign: 3 });
  });

  it('sends a strict Content-Security-Policy, nosniff and no-referrer on every response', async () => {
    for (const url of ['/', '/api/targets', '/metrics', '/healthz', '/nope']) {
      const res = await app.request(url);
      await res.arrayBuffer();
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /(^|; )default-src 'none'(;|$)/, `${url}: ${csp}`);
      assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, `${url}: ${csp}`);
      assert.match(csp, /(^|; )script-src 'self'(;|$)/, `${url}: ${csp}`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', url);
    }
  });

  it('answers /healthz and 404s the rest', async () => {
    assert.equal((await app.request('/healthz')).status, 200);
    assert.equal((await app.request('/nope')).status, 404);
  });

  it('exports exact, escaped, cumulative metrics', async () => {
    const res = await app.request('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const labels = 'target="a\\"b\\\\c€",address="127.0.0.2",probe="icmp"';
    const expectLine = (line: string): void =>
      assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
    expectLine(`netping_sent_total{${labels}} 10`);
    expectLine(`netping_received_total{${labels}} 9`);
    expectLine(`netping_lost_total{${labels}} 1`);
    expectLine(`netping_errors_total{${labels},reason="send:ENETUNREACH"} 1`);
    // 0.1 ms lands in the bucket up to 2^(-106/8) s = 0.0001026; the one below
    // is exported (empty) so the bucket's lower edge is exact.
    expectLine(`netping_rtt_seconds_bucket{${labels},le="0.00009413"} 0`);
    expectLine(`netping_rtt_seconds_bucket{${labels},le="0.0001026"} 2`);
    expectLine(`netping_rtt_seconds_bucket{${labels},le="0.001953"} 2`);
    expectLine(`netping_rtt_seconds_bucket{${labels},le="0.00213"} 3`);
    expectLine(`netping_rtt_seconds_bucket{${labels},le="+Inf"} 3`);
    expectLine(`netping_rtt_seconds_count{${labels}} 3`);
    expectLine('netping_targets 1');
    expectLine('netping_invalid_targets 1');
    expectLine('netping_store_up{store="redis"} 1');
    expectLine('netping_packets_ignored_total{reason="foreign"} 3');
    expectLine('netping_build_info{version="9.9.9"} 1');
    assert.match(text, /^# TYPE netping_rtt_seconds histogram$/m);
    assert.match(text, /^# TYPE netping_sent_total counter$/m);
  });

  it('exports exactly the families the rules and dashboard may name', async () => {
    const text = await exporter.render();
    const families = new Map(
      [...text.matchAll(/^# TYPE (netping_\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const expected = new Map<string, string>([
      ...NETPING_COUNTERS.map((n): [string, string] => [n, 'counter']),
      ...NETPING_GAUGES.map((n): [string, string] => [n, 'gauge']),
      ...NETPING_HISTOGRAMS.map((n): [string, string] => [n, 'histogram']),
    ]);
    assert.deepEqual(new Map([...families].sort()), new Map([...expected].sort()));
  });

  it('takes one snapshot per scrape', async () => {
    let taken = 0;
    const counting = new MetricsExporter(
      () => {
        taken++;
        return viewOf(snap);
      },
      { version: '1', processMetrics: false },
    );
    await counting.render();
    await counting.render();
    assert.equal(taken, 2);
  });
});

describe('probe kinds over HTTP', () => {
  const snap = snapshot([
    target({ name: 'web', address: '192.0.2.1' }),
    target({
      name: 'web',
      address: '192.0.2.1',
      probe: 'tcp',
      port: 443,
      answers: { 'tcp:refused': 4 },
      errors: { timeout: 2 },
    }),
    target({ name: 'peer', address: '192.0.2.2', probe: 'udp', port: 9923 }),
  ]);
  const exporter = new MetricsExporter(() => viewOf(snap), {
    version: '9.9.9',
    processMetrics: false,
  });

  it('labels every per-target series with its probe, and tcp/udp ones with their port', async () => {
    const text = await exporter.render();
    const lines = text.split('\n');
    const expectLine = (line: string): void =>
      assert.ok(lines.includes(line), `missing: ${line}\n${text}`);
    const tcp = 'target="web",address="192.0.2.1",probe="tcp",port="443"';
    expectLine('netping_sent_total{target="web",address="192.0.2.1",probe="icmp"} 10');
    expectLine(`netping_sent_total{${tcp}} 10`);
    expectLine('netping_sent_total{target="peer",address="192.0.2.2",probe="udp",port="9923"} 10');
    expectLine(`netping_errors_total{${tcp},reason="timeout"} 2`);
    expectLine(`netping_rtt_seconds_count{${tcp}} 3`);
    expectLine(`netping_rtt_seconds_bucket{${tcp},le="+Inf"} 3`);
    expectLine(
      '# HELP netping_received_by_reason_total Received probes whose answer was not the usual one (tcp:refused), by answer.',
    );
    expectLine('# TYPE netping_received_by_reason_total counter');
    expectLine(`netping_received_by_reason_total{${tcp},reason="tcp:refused"} 4`);
    // Only where non-zero, like errors.
    assert.equal(lines.filter((l) => l.startsWith('netping_received_by_reason_total{')).length, 1);
  });

  it('/api/targets gives probe and port (no port for icmp) and the answers', async () => {
    const app = createApp({
      view: () => viewOf(snap),
      metrics: () => exporter.chunks(),
      metricsContentType: exporter.contentType,
    });
    const body = (await (await app.request('/api/targets')).json()) as DaemonReport;
    const [icmp, tcp, udp] = body.targets;
    assert.equal(icmp!.probe, 'icmp');
    assert.ok(!('port' in icmp!));
    assert.deepEqual([tcp!.probe, tcp!.port, tcp!.answers], ['tcp', 443, { 'tcp:refused': 4 }]);
    assert.deepEqual([udp!.probe, udp!.port, udp!.answers], ['udp', 9923, {}]);
  });
});

describe("a target's labels on its series", () => {
  const snap = snapshot([
    target({ name: 'web', address: '192.0.2.1', labels: { dc: 'fra"1', role: 'lb' } }),
    target({ name: 'plain', address: '192.0.2.2' }),
  ]);
  const exporter = new MetricsExporter(() => viewOf(snap), {
    version: '9.9.9',
    processMetrics: false,
  });

  it('come after target, address and probe on every series of that target only, escaped', async () => {
    let text = '';
    for await (const c of exporter.chunks()) text += c;
    const web = 'target="web",address="192.0.2.1",probe="icmp",dc="fra\\"1",role="lb"';
    const lines = text.split('\n');
    for (const family of ['netping_sent_total', 'netping_lost_total', 'netping_rtt_seconds_count'])
      assert.ok(
        lines.some((l) => l.startsWith(`${family}{${web}}`)),
        `${family} of web`,
      );
    assert.ok(lines.some((l) => l.startsWith(`netping_rtt_seconds_bucket{${web},le="`)));
    assert.ok(
      lines.includes('netping_sent_total{target="plain",address="192.0.2.2",probe="icmp"} 10'),
    );
  });

  it('reach the protobuf exposition too', async () => {
    const parts: Uint8Array[] = [];
    for await (const c of exporter.protobufChunks()) parts.push(c);
    const sent = decodeFamilies(Buffer.concat(parts)).find((f) => f.name === 'netping_sent_total')!;
    const web = (sent.metric ?? []).find((m) => (m.label ?? []).some((l) => l.value === 'web'))!;
    assert.deepEqual(
      (web.label ?? []).map((l) => `${l.name}=${l.value}`),
      ['target=web', 'address=192.0.2.1', 'probe=icmp', 'dc=fra"1', 'role=lb'],
    );
  });

  it('are in /api/targets for labelled targets only', async () => {
    const app = createApp({
      view: () => viewOf(snap),
      metrics: () => [],
      metricsContentType: 'text/plain',
    });
    const body = (await (await app.request('/api/targets')).json()) as DaemonReport;
    assert.deepEqual(body.targets[0]?.labels, { dc: 'fra"1', role: 'lb' });
    assert.equal('labels' in body.targets[1]!, false);
  });
});

describe('/mesh and /api/mesh', () => {
  const keys = keysFor('t');
  const store = new FakeMeshStore();
  const app = createApp({
    view: () => viewOf(snapshot([])),
    metrics: () => [],
    metricsContentType: 'text/plain',
    mesh: { read: meshReader(store, keys), windowMs: 60_000 },
  });
  const register = (id: string, dc: string) =>
    store.putExpiring(
      keys.mesh.instance(id),
      encodeRegistration({
        id,
        addresses: ['10.0.0.1'],
        peerPort: 9923,
        labels: { dc },
        version: '1',
        startedAt: '',
      }),
      1000,
      { key: keys.mesh.instances, member: id },
    );

  it('serves the matrix as text and JSON, grouped with ?group-by', async () => {
    await register('a', 'fra1');
    await register('b', 'ams1');
    await store.putExpiring(
      keys.mesh.summary('a'),
      encodeSummary({
        from: 'a',
        at: '',
        windowMs: 60_000,
        rows: [{ to: 'b', probe: 'icmp', sent: 4, received: 4, lost: 0, buckets: [100, 4] }],
      }),
      1000,
    );
    const text = await (await app.request('/mesh')).text();
    assert.match(text, /^a\s+icmp\s+·\s+0% [\d.]+ms$/m);
    const json = (await (await app.request('/api/mesh')).json()) as {
      instances: { id: string }[];
      pairs: { from: string; to: string; sent: number }[];
    };
    assert.deepEqual(
      json.instances.map((i) => i.id),
      ['a', 'b'],
    );
    assert.deepEqual(
      json.pairs.map((p) => [p.from, p.to, p.sent]),
      [['a', 'b', 4]],
    );
    const grouped = (await (await app.request('/api/mesh?group-by=dc')).json()) as {
      pairs: { from: string; to: string }[];
    };
    assert.deepEqual(
      grouped.pairs.map((p) => [p.from, p.to]),
      [['fra1', 'ams1']],
    );
  });

  it('says 400 for a bad label name and 503 while Redis is down, in one line', async () => {
    const bad = await app.request('/api/mesh?group-by=job');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /^invalid label name 'job'.*\n$/);
    store.failing = true;
    try {
      const down = await app.request('/mesh');
      assert.equal(down.status, 503);
      assert.equal(await down.text(), 'cannot reach Redis at fake: ECONNREFUSED\n');
    } finally {
      store.failing = false;
    }
  });
});

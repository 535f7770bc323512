// What `npcli stats` prints, from hand-built reports: the table's width and
// header, the footer it shares with the table at /, and the JSON's rounding.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NARROW_WIDTH, renderList, renderStats, roundedReport } from '../../cli/render.js';
import {
  ANSWERS_HEADING,
  renderSummaryTable,
  STATS_FOOTER,
} from '../../lib/render/summary-table.js';
import type { DaemonReport, TargetReport } from '../../lib/report.js';

function target(over: Partial<TargetReport>): TargetReport {
  return {
    name: 'x',
    address: '127.0.0.1',
    probe: 'icmp',
    family: 4,
    intervalMs: 1000,
    timeoutMs: 1000,
    sent: 31_536_000, // a year at one probe a second
    received: 31_535_999,
    lost: 1,
    inFlight: 0,
    late: 12,
    duplicates: 3,
    errors: {},
    answers: {},
    successPct: 99.99999682902078,
    lossPct: 0.0000031709791983764585,
    minMs: 0.09815600000001723,
    meanMs: 12.345678901,
    avg15mMs: 153.20000000000002,
    avg6hMs: 999.9994999,
    avg24hMs: 12.3456,
    maxMs: 987.654321,
    lastMs: 0.1,
    ...over,
  };
}

function report(targets: TargetReport[]): DaemonReport {
  return {
    version: '9.9.9',
    generatedAt: '2026-01-01T00:00:00.000Z',
    store: { kind: 'embedded', location: '/var/lib/netping', up: true },
    targets,
    invalid: [],
    ignoredPackets: {},
  };
}

/** Names and addresses people give their targets. */
const EVERYDAY = report([
  target({ name: 'localhost', address: '127.0.0.1' }),
  target({ name: 'google-dns', address: '8.8.8.8', lossPct: 100, successPct: 0 }),
  target({ name: 'fra1-core-gw', address: '192.168.100.254' }),
  target({ name: 'cloudflare-dns-6', address: '2606:4700:4700::1111' }),
  target({ name: 'www.google.com', address: '2a00:1450:4001:82b::200e' }),
  target({ name: 'new', address: '::1', minMs: undefined, lossPct: undefined }),
]);

/** The same with TCP and UDP targets, whose wider Probe cells cost the names a little room. */
const MIXED = report([
  ...EVERYDAY.targets,
  target({ name: 'web', address: '192.0.2.80', probe: 'tcp', port: 443 }),
  target({ name: 'peer', address: '2001:db8::9923', probe: 'udp', port: 9923 }),
]);

const width = (line: string): number => [...line].length;

describe('npcli stats table', () => {
  it('fits 80 columns by default, with a separator line under the header', () => {
    const lines = renderStats(EVERYDAY).split('\n');
    for (const line of lines) assert.ok(width(line) <= NARROW_WIDTH, `${width(line)}: ${line}`);
    assert.match(lines[0]!, /^Name +Address +Probe +Loss +Avg15m +Avg24h +Last$/);
    assert.match(lines[1]!, /^-{4,}(  -+)+$/);
    assert.equal(lines[1]!.length, lines[0]!.length, 'the dashes span the header');
    assert.ok(lines.some((l) => l.startsWith('cloudflare-dns-6  2606:4700:4700::1111 ')));
    assert.ok(lines.some((l) => /^google-dns +8\.8\.8\.8 +icmp +100\.00% /.test(l)));
  });

  it('shows tcp and udp probes with their ports, still within 80 columns', () => {
    const lines = renderStats(MIXED).split('\n');
    for (const line of lines) assert.ok(width(line) <= NARROW_WIDTH, `${width(line)}: ${line}`);
    assert.match(lines[0]!, /^Name +Address +Probe +Loss +Avg15m +Avg24h +Last$/);
    assert.ok(lines.some((l) => /^web +192\.0\.2\.80 +tcp:443 +0\.00% /.test(l)));
    assert.ok(lines.some((l) => /^peer +2001:db8::9923 +udp:9923 +0\.00% /.test(l)));
    assert.ok(lines.some((l) => /^google-dns +8\.8\.8\.8 +icmp +100\.00% /.test(l)));
  });

  it('lists the targets with unusual answers under the table, within 80 columns', () => {
    const answered = report([
      target({ name: 'localhost', address: '127.0.0.1' }),
      target({
        name: 'web',
        address: '192.0.2.80',
        probe: 'tcp',
        port: 443,
        answers: { 'tcp:refused': 12 },
      }),
    ]);
    for (const wide of [false, true]) {
      const text = renderStats(answered, { wide });
      assert.ok(
        text.includes(`\n\n${ANSWERS_HEADING}\nweb@192.0.2.80 tcp:443: tcp:refused 12\n`),
        text,
      );
      if (!wide)
        for (const line of text.split('\n'))
          assert.ok(width(line) <= NARROW_WIDTH, `${width(line)}: ${line}`);
    }
    assert.ok(!renderStats(MIXED).includes(ANSWERS_HEADING), 'no heading without answers');
  });

  it('cuts only names, and only when a line would pass 80 columns', () => {
    const long = report([
      target({ name: 'a-very-long-descriptive-target-name-for-the-core', address: '10.0.0.1' }),
      target({ name: 'b', address: '2606:4700:4700::1111' }),
    ]);
    const lines = renderStats(long).split('\n');
    for (const line of lines) assert.ok(width(line) <= NARROW_WIDTH, `${width(line)}: ${line}`);
    assert.ok(
      lines.some((l) => /^a-very-long-\S*… +10\.0\.0\.1 /.test(l)),
      lines.join('\n'),
    );
    const wide = renderStats(long, { wide: true });
    assert.ok(wide.includes('a-very-long-descriptive-target-name-for-the-core  '));
  });

  it('--wide shows every column, with the same separator line', () => {
    const lines = renderStats(EVERYDAY, { wide: true }).split('\n');
    assert.match(
      lines[0]!,
      /^Name +Address +Probe +Sent +Recv +Succ +Loss +Late +Dup +Min +Avg15m +Avg6h +Avg24h +Max +Last$/,
    );
    assert.match(lines[1]!, /^-{4,}(  -+)+$/);
    assert.ok(lines.some((l) => l.startsWith('fra1-core-gw      192.168.100.254 ')));
  });

  it('ends with the same footer as the table at /', () => {
    assert.ok(STATS_FOOTER.startsWith('Times in milliseconds.'));
    assert.ok(renderStats(EVERYDAY).includes(`\n${STATS_FOOTER}\n`));
    assert.ok(renderStats(EVERYDAY, { wide: true }).endsWith(`\n${STATS_FOOTER}`));
    assert.ok(renderSummaryTable(EVERYDAY).endsWith(`\n${STATS_FOOTER}\n`));
  });
});

describe('npcli stats --json', () => {
  it('rounds times to the microsecond and percentages to 3 decimals', () => {
    const [t] = roundedReport(report([target({})])).targets;
    assert.equal(t!.minMs, 0.098);
    assert.equal(t!.meanMs, 12.346);
    assert.equal(t!.avg15mMs, 153.2);
    assert.equal(t!.avg6hMs, 999.999);
    assert.equal(t!.avg24hMs, 12.346);
    assert.equal(t!.maxMs, 987.654);
    assert.equal(t!.lastMs, 0.1);
    assert.equal(t!.successPct, 100);
    assert.equal(t!.lossPct, 0);
    assert.equal(t!.sent, 31_536_000, 'counts unchanged');
    const text = JSON.stringify(roundedReport(EVERYDAY));
    assert.ok(!/\d\.\d{4,}/.test(text), `a number with more than 3 decimals: ${text}`);
  });

  it('keeps absent values absent', () => {
    const [t] = roundedReport(report([target({ minMs: undefined, lossPct: undefined })])).targets;
    assert.equal(t!.minMs, undefined);
    assert.equal(t!.lossPct, undefined);
  });
});

describe('probe kinds in npcli output', () => {
  it('--json carries probe, port and answers as /api/targets has them', () => {
    const [icmp, tcp] = roundedReport(
      report([target({}), target({ probe: 'tcp', port: 443, answers: { 'tcp:refused': 3 } })]),
    ).targets;
    assert.equal(icmp!.probe, 'icmp');
    assert.ok(!('port' in icmp!), 'no port for icmp');
    assert.equal(tcp!.probe, 'tcp');
    assert.equal(tcp!.port, 443);
    assert.deepEqual(tcp!.answers, { 'tcp:refused': 3 });
  });

  it('npcli list shows each target with its probe, the same host twice when probed two ways', () => {
    const text = renderList({
      targets: [
        { name: 'web', address: '192.0.2.1', probe: 'icmp' },
        { name: 'web', address: '192.0.2.1', probe: 'tcp', port: 443 },
        { name: 'peer', address: '192.0.2.2', probe: 'udp', port: 9923, intervalMs: 5000 },
      ],
      invalid: [],
    });
    assert.match(text, /│ Name +│ Address +│ Probe +│ Own settings +│/);
    assert.match(text, /│ web +│ 192\.0\.2\.1 +│ icmp +│ +│/);
    assert.match(text, /│ web +│ 192\.0\.2\.1 +│ tcp:443 +│ +│/);
    assert.match(text, /│ peer +│ 192\.0\.2\.2 +│ udp:9923 +│ interval=5000ms +│/);
  });
});

describe('names followed in DNS in the tables', () => {
  const followed: DaemonReport = {
    ...report([
      target({ name: 'lo', address: '127.0.0.1' }),
      target({ name: 'web', address: '127.0.0.2', host: 'svc.test' }),
      target({ name: 'web', address: '::1', host: 'svc.test', family: 6 }),
    ]),
    names: [
      {
        host: 'svc.test',
        addresses: ['127.0.0.2', '::1'],
        result: 'timeout',
        error: 'ETIMEOUT',
        resolvedAgoMs: 125_000,
        failingForMs: 40_500,
        nextInMs: 9000,
        lookups: { ok: 3, timeout: 4 },
      },
    ],
  };
  const heading =
    'svc.test (DNS): failing for 40s (timeout ETIMEOUT); addresses of 2m ago, next in 9s';

  it('put a name status line above its addresses, at / and in npcli stats', () => {
    for (const text of [renderSummaryTable(followed), renderStats(followed, { wide: true })]) {
      const lines = text.split('\n');
      const at = lines.indexOf(heading);
      assert.ok(at > 0, text);
      assert.match(lines[at - 1]!, /^lo +127\.0\.0\.1 /);
      assert.match(lines[at + 1]!, /^web +127\.0\.0\.2 /);
      assert.match(lines[at + 2]!, /^web +::1 /);
      assert.equal(lines.filter((l) => l.includes('(DNS)')).length, 1);
    }
  });

  it('cut the status line to 80 columns in npcli stats without --wide', () => {
    const lines = renderStats(followed).split('\n');
    assert.ok(
      lines.every((l) => [...l].length <= NARROW_WIDTH),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => l.startsWith('svc.test (DNS): failing for 40s')));
  });
});

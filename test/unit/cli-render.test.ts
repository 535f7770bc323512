// What `npcli stats` prints, from hand-built reports: the table's width and
// header, the footer it shares with the table at /, and the JSON's rounding.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NARROW_WIDTH, renderStats, roundedReport } from '../../cli/render.js';
import { renderSummaryTable, STATS_FOOTER } from '../../lib/render/summary-table.js';
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

const width = (line: string): number => [...line].length;

describe('npcli stats table', () => {
  it('fits 80 columns by default, with a separator line under the header', () => {
    const lines = renderStats(EVERYDAY).split('\n');
    for (const line of lines) assert.ok(width(line) <= NARROW_WIDTH, `${width(line)}: ${line}`);
    assert.match(lines[0]!, /^Name +Address +Loss +Avg15m +Avg24h +Last$/);
    assert.match(lines[1]!, /^-{4,}(  -+)+$/);
    assert.equal(lines[1]!.length, lines[0]!.length, 'the dashes span the header');
    assert.ok(lines.some((l) => l.startsWith('cloudflare-dns-6  2606:4700:4700::1111 ')));
    assert.ok(lines.some((l) => /^google-dns +8\.8\.8\.8 +100\.00% /.test(l)));
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
      /^Name +Address +Sent +Recv +Succ +Loss +Late +Dup +Min +Avg15m +Avg6h +Avg24h +Max +Last$/,
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

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OutageDetector, type OutageSubject } from '../../lib/outages/detector.js';
import { downReportText, parseDownReport, type DownReport } from '../../lib/outages/down-report.js';
import { latestEvents } from '../../lib/outages/events.js';
import { parseOutage, type Outage } from '../../lib/outages/outage.js';
import { downEverywhere } from '../../lib/outages/quorum.js';
import { mostInOneWindow, vantageDown } from '../../lib/outages/vantage.js';
import { answer, lastSent, makeHarness } from '../support/engine-harness.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const A: OutageSubject = {
  key: 'a@10.0.0.1',
  target: 'a',
  address: '10.0.0.1',
  probe: 'icmp',
  labels: { dc: 'fra1' },
};

describe('OutageDetector', () => {
  it('opens after down-after lost probes in a row, dated at the first of them', () => {
    const d = new OutageDetector({ downAfter: 3, upAfter: 3 }, 'i1');
    assert.equal(d.record(A, 'timeout', T0), undefined);
    assert.equal(d.record(A, 'send:EPERM', T0 + 1000), undefined);
    assert.ok(d.isUp(A.key));
    const opened = d.record(A, 'timeout', T0 + 2000);
    assert.equal(opened?.kind, 'opened');
    assert.deepEqual(opened.outage, {
      id: `i1:${T0}:a@10.0.0.1`,
      key: 'a@10.0.0.1',
      target: 'a',
      address: '10.0.0.1',
      probe: 'icmp',
      instance: 'i1',
      labels: { dc: 'fra1' },
      start: '2026-01-01T00:00:00.000Z',
      end: null,
      lost: 3,
      reasons: { timeout: 2, 'send:EPERM': 1 },
    });
    assert.equal(d.isUp(A.key), false);
    assert.equal(d.outagesOf(A.key), 1);
    assert.equal(d.openCount, 1);
  });

  it('does not open when an answer breaks the run of losses', () => {
    const d = new OutageDetector({ downAfter: 3, upAfter: 3 }, 'i1');
    for (let i = 0; i < 10; i++) {
      assert.equal(d.record(A, 'timeout', T0 + i * 3000), undefined);
      assert.equal(d.record(A, 'timeout', T0 + i * 3000 + 1000), undefined);
      assert.equal(d.record(A, null, T0 + i * 3000 + 2000), undefined);
    }
    assert.ok(d.isUp(A.key));
    assert.equal(d.outagesOf(A.key), 0);
  });

  it('closes after up-after answers in a row, dated at the first of them, with every loss counted', () => {
    const d = new OutageDetector({ downAfter: 2, upAfter: 3 }, 'i1');
    d.record(A, 'timeout', T0);
    d.record(A, 'timeout', T0 + 1000);
    d.record(A, 'timeout', T0 + 2000);
    // Two answers, then a loss: still down, and the run of answers starts over.
    assert.equal(d.record(A, null, T0 + 3000), undefined);
    assert.equal(d.record(A, null, T0 + 4000), undefined);
    assert.equal(d.record(A, 'icmp:unreachable', T0 + 5000), undefined);
    assert.equal(d.openOf(A.key)?.lost, 4);
    assert.equal(d.record(A, null, T0 + 6000), undefined);
    assert.equal(d.record(A, null, T0 + 7000), undefined);
    const closed = d.record(A, null, T0 + 8000);
    assert.equal(closed?.kind, 'closed');
    assert.equal(closed.outage.end, new Date(T0 + 6000).toISOString());
    assert.equal(closed.outage.lost, 4);
    assert.deepEqual(closed.outage.reasons, { timeout: 3, 'icmp:unreachable': 1 });
    assert.ok(d.isUp(A.key));
    assert.equal(d.openCount, 0);
    // A second outage is a new event with its own id.
    d.record(A, 'timeout', T0 + 9000);
    const again = d.record(A, 'timeout', T0 + 10_000);
    assert.equal(again?.outage.id, `i1:${T0 + 9000}:a@10.0.0.1`);
    assert.equal(d.outagesOf(A.key), 2);
  });

  it('takes up an outage open at the last stop and closes one whose target is forgotten', () => {
    const d = new OutageDetector({ downAfter: 3, upAfter: 1 }, 'i1');
    const open = parseOutage(
      JSON.stringify({
        ...A,
        id: 'i1:1:a@10.0.0.1',
        instance: 'i1',
        start: '2026-01-01T00:00:00Z',
        end: null,
        lost: 7,
        reasons: { timeout: 7 },
      }),
    );
    d.adopt(open, A);
    assert.equal(d.isUp(A.key), false);
    assert.equal(d.openOf(A.key)?.lost, 7);
    d.record(A, 'timeout', T0 + 1000);
    const closed = d.forget(A.key, T0 + 5000);
    assert.equal(closed?.kind, 'closed');
    assert.equal(closed.outage.lost, 8);
    assert.equal(closed.outage.end, new Date(T0 + 5000).toISOString());
    assert.equal(d.forget(A.key, T0 + 6000), undefined);
  });

  it('runs off a probe engine on a fake clock: timeouts open an outage, answers close it', () => {
    const changes: string[] = [];
    const d = new OutageDetector({ downAfter: 3, upAfter: 3 }, 'i1');
    const h = makeHarness({
      onOutcome: (p, lost) => {
        const c = d.record({ ...A, key: p.key }, lost, h.clock.nowMs());
        if (c) changes.push(`${c.kind}@${h.clock.nowMs()}`);
      },
    });
    h.add('a', '10.0.0.1', 1000, 500);
    // Three answered probes, three unanswered (each lost at its timeout), then answers again.
    for (let i = 0; i < 12; i++) {
      h.clock.advance(1000);
      if (i < 3 || i >= 6) answer(h.t4, lastSent(h.t4));
    }
    h.clock.advance(600);
    assert.equal(changes.length, 2, changes.join());
    assert.match(changes[0]!, /^opened@/);
    assert.match(changes[1]!, /^closed@/);
    assert.ok(d.isUp('a@10.0.0.1'));
  });
});

describe('the vantage rule', () => {
  const rule = { minDown: 2, windowMs: 3000 };
  it('is down when more than half of the targets went down at once', () => {
    assert.equal(
      vantageDown(rule, { probed: 6, declaredAtMs: [0, 100, 200, 300], wasDown: false }),
      true,
    );
    // Half is not most.
    assert.equal(
      vantageDown(rule, { probed: 6, declaredAtMs: [0, 100, 200], wasDown: false }),
      false,
    );
    // Most, but not at once: one outage after another is the targets' doing.
    assert.equal(
      vantageDown(rule, { probed: 6, declaredAtMs: [0, 10_000, 20_000, 30_000], wasDown: false }),
      false,
    );
    // One target alone never says anything of the vantage point.
    assert.equal(vantageDown(rule, { probed: 1, declaredAtMs: [0], wasDown: false }), false);
    assert.equal(vantageDown(rule, { probed: 2, declaredAtMs: [0, 50], wasDown: false }), true);
  });

  it('stays down until no more than a quarter are down', () => {
    assert.equal(vantageDown(rule, { probed: 8, declaredAtMs: [0, 1, 2], wasDown: true }), true);
    assert.equal(vantageDown(rule, { probed: 8, declaredAtMs: [0, 1], wasDown: true }), false);
    assert.equal(vantageDown(rule, { probed: 8, declaredAtMs: [], wasDown: true }), false);
  });

  it('counts the most outages within one window', () => {
    assert.equal(mostInOneWindow([5000, 0, 100, 4900, 5100, 5200], 300), 4);
    assert.equal(mostInOneWindow([], 300), 0);
  });
});

const down = (key: string, peerOf?: string): DownReport['down'][number] => ({
  key,
  target: key.split('@')[0]!,
  address: '10.0.0.9',
  probe: 'icmp',
  labels: {},
  start: '2026-01-01T00:00:05Z',
  ...(peerOf ? { peerOf } : {}),
});
const report = (instance: string, keys: DownReport['down'], vantage = false): DownReport => ({
  instance,
  vantageDown: vantage,
  probed: 5,
  down: keys,
});

describe('the quorum', () => {
  it('is a majority of the instances, at least two, by default', () => {
    const reports = [
      report('m1', [down('x@10.0.0.9'), down('y@10.0.0.9')]),
      report('m2', [down('x@10.0.0.9')]),
      report('m3', []),
    ];
    const v = downEverywhere(reports, undefined);
    assert.deepEqual(
      v.map((x) => [x.target.key, x.downFrom, x.judges]),
      [['x@10.0.0.9', ['m1', 'm2'], 3]],
    );
    // A lone instance is never "everywhere".
    assert.deepEqual(downEverywhere([report('m1', [down('x@10.0.0.9')])], undefined), []);
  });

  it('takes k as given', () => {
    const reports = [
      report('m1', [down('x@10.0.0.9')]),
      report('m2', [down('x@10.0.0.9')]),
      report('m3', []),
    ];
    assert.equal(downEverywhere(reports, 3).length, 0);
    assert.equal(downEverywhere(reports, 2).length, 1);
  });

  it('leaves out instances whose own vantage point is down, and a peer judging itself', () => {
    // m3 is cut off: it reports no targets, and it is the peer the others see down.
    const reports = [
      report('m1', [down('m3@10.0.0.13', 'm3')]),
      report('m2', [down('m3@10.0.0.13', 'm3')]),
      report('m3', [], true),
    ];
    const [v] = downEverywhere(reports, undefined);
    assert.equal(v?.judges, 2);
    assert.deepEqual(v?.downFrom, ['m1', 'm2']);
    // A blind instance's list does not count towards anything.
    const blind = [
      report('m1', [down('x@10.0.0.9')]),
      report('m2', [down('x@10.0.0.9')], true),
      report('m3', []),
    ];
    assert.equal(downEverywhere(blind, undefined).length, 0);
  });

  it('reads back what it writes, and refuses what it does not know', () => {
    const r = report('m1', [down('m3@10.0.0.13', 'm3')]);
    assert.deepEqual(parseDownReport(downReportText(r)), r);
    assert.throws(() => parseDownReport('{"v":2}'));
    assert.throws(() =>
      parseDownReport(JSON.stringify({ ...JSON.parse(downReportText(r)), down: [{ key: 1 }] })),
    );
  });
});

describe('saved outages', () => {
  const o: Outage = {
    id: 'i1:1:a@10.0.0.1',
    key: 'a@10.0.0.1',
    target: 'a',
    address: '10.0.0.1',
    probe: 'tcp:443',
    instance: 'i1',
    labels: {},
    start: '2026-01-01T00:00:00.000Z',
    end: null,
    lost: 3,
    reasons: { timeout: 3 },
  };

  it('are checked field by field', () => {
    assert.deepEqual(parseOutage(JSON.stringify(o)), o);
    for (const bad of [
      { ...o, lost: -1 },
      { ...o, start: 'yesterday' },
      { ...o, end: 5 },
      { ...o, target: '' },
      { ...o, reasons: { timeout: 'many' } },
      { ...o, labels: { 'bad name': 'x' } },
    ])
      assert.throws(() => parseOutage(JSON.stringify(bad)), JSON.stringify(bad));
    assert.throws(() => parseOutage('[1]'));
  });

  it('fold to the newest record of each id, damaged ones counted', () => {
    const closed = { ...o, end: '2026-01-01T00:01:00.000Z', lost: 9 };
    const other = { ...o, id: 'i1:2:b@10.0.0.2', start: '2026-01-01T00:02:00.000Z' };
    const { events, bad } = latestEvents(
      [other, closed, o].map((x) => JSON.stringify(x)).concat(['{"cut off']),
    );
    assert.equal(bad, 1);
    assert.deepEqual(events, [other, closed]);
  });
});

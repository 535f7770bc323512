import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AlertBook } from '../../lib/alerts/alert-book.js';
import { backoffDelayMs } from '../../lib/alerts/backoff.js';
import {
  downEverywhereAlert,
  fingerprint,
  targetDownAlert,
  vantagePointDownAlert,
  type PostableAlert,
} from '../../lib/alerts/payload.js';
import { alertsEndpoint } from '../../lib/alerts/sender.js';
import type { Outage } from '../../lib/outages/outage.js';
import { EventFile, OUTAGES_FILE, OUTAGES_OLDER_FILE } from '../../lib/store/event-file.js';
import { parseDaemonArgs } from '../../daemon/options.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const TIMING = { repeatMs: 30_000, validMs: 120_000 };
const OUTAGE: Outage = {
  id: 'fra1:1:web@192.0.2.7?probe=tcp&port=443',
  key: 'web@192.0.2.7?probe=tcp&port=443',
  target: 'web',
  address: '192.0.2.7',
  probe: 'tcp:443',
  instance: 'fra1',
  labels: { dc: 'ams1', target_team: 'ops' },
  start: '2026-01-01T00:05:00.000Z',
  end: null,
  lost: 12,
  reasons: { timeout: 10, 'send:EHOSTUNREACH': 2 },
};

describe('alert payloads', () => {
  it('name a target as its series do, with instance and alertname', () => {
    const a = targetDownAlert(OUTAGE, NOW, TIMING);
    assert.deepEqual(a.labels, {
      alertname: 'NetpingTargetDown',
      target: 'web',
      address: '192.0.2.7',
      probe: 'tcp',
      port: '443',
      instance: 'fra1',
      dc: 'ams1',
      target_team: 'ops',
    });
    assert.equal(a.startsAt, OUTAGE.start);
    // Open: valid for a while, so a dead netpingd's alerts resolve by themselves.
    assert.equal(a.endsAt, new Date(NOW + 120_000).toISOString());
    assert.equal(a.annotations.reasons, 'timeout=10,send:EHOSTUNREACH=2');
    const ended = targetDownAlert({ ...OUTAGE, end: '2026-01-01T00:09:00.000Z' }, NOW, TIMING);
    assert.equal(ended.endsAt, '2026-01-01T00:09:00.000Z');
    assert.equal(fingerprint(a), fingerprint(ended));
  });

  it('give a down-everywhere alert no instance, so every instance posts the same one', () => {
    const verdict = { start: OUTAGE.start, downFrom: ['m1', 'm2'], judges: 3 };
    const a = downEverywhereAlert({ ...OUTAGE }, verdict, null, NOW, TIMING);
    const b = downEverywhereAlert(
      { ...OUTAGE },
      { ...verdict, downFrom: ['m2', 'm3'] },
      null,
      NOW + 5,
      TIMING,
    );
    assert.equal(a.labels.alertname, 'NetpingTargetDownEverywhere');
    assert.equal(a.labels.instance, undefined);
    assert.equal(fingerprint(a), fingerprint(b));
    assert.match(a.annotations.summary!, /down from 2 of 3 instances/);
  });

  it('give a vantage point alert the instance and its labels', () => {
    const a = vantagePointDownAlert(
      'm3',
      { dc: 'fra1' },
      { start: OUTAGE.start, down: 6, probed: 6 },
      null,
      NOW,
      TIMING,
    );
    assert.deepEqual(a.labels, {
      dc: 'fra1',
      alertname: 'NetpingVantagePointDown',
      instance: 'm3',
    });
  });

  it('go to /api/v2/alerts under the base URL given', () => {
    assert.equal(alertsEndpoint('http://127.0.0.1:9093'), 'http://127.0.0.1:9093/api/v2/alerts');
    assert.equal(alertsEndpoint('http://am.example/am/'), 'http://am.example/am/api/v2/alerts');
  });
});

describe('back-off', () => {
  const b = { baseMs: 250, maxMs: 30_000 };
  it('doubles from the base to the cap, with up to half of it random', () => {
    assert.equal(backoffDelayMs(b, 1, 0), 125);
    assert.equal(backoffDelayMs(b, 1, 1 - 1e-9), 250);
    assert.equal(backoffDelayMs(b, 2, 1 - 1e-9), 500);
    assert.equal(backoffDelayMs(b, 5, 1 - 1e-9), 4000);
    assert.equal(backoffDelayMs(b, 20, 1 - 1e-9), 30_000);
    assert.equal(backoffDelayMs(b, 1_000_000, 0), 15_000);
    for (let f = 1; f < 50; f++) {
      const d = backoffDelayMs(b, f, 0.5);
      assert.ok(d >= 125 && d <= 30_000, `${f}: ${d}`);
    }
  });
});

describe('AlertBook', () => {
  const alert = (n: number): PostableAlert => ({
    labels: { alertname: 'X', n: String(n) },
    annotations: {},
    startsAt: new Date(0).toISOString(),
    endsAt: new Date(n).toISOString(),
  });

  it('posts a firing alert when due, then every repeat', () => {
    const book = new AlertBook(30_000);
    book.fire('a', (now) => alert(now), 1000);
    assert.deepEqual(book.due(999), []);
    assert.deepEqual(
      book.due(1000).map((a) => a.endsAt),
      [new Date(1000).toISOString()],
    );
    assert.deepEqual(book.due(30_999), []);
    assert.equal(book.due(31_000).length, 1);
    assert.equal(book.nextDueMs(), 61_000);
  });

  it('withdraws a held alert without a trace, and says when one was posted', () => {
    const book = new AlertBook(30_000);
    book.fire('held', (now) => alert(now), 800);
    assert.equal(book.resolve('held'), false);
    assert.deepEqual(book.due(10_000), []);
    book.fire('posted', (now) => alert(now), 0);
    book.due(0);
    assert.equal(book.resolve('posted'), true);
    assert.equal(book.size, 0);
    assert.equal(book.resolve('never'), false);
  });

  it('keeps the earlier due time when an alert fired again before it was posted', () => {
    const book = new AlertBook(30_000);
    book.fire('a', (now) => alert(now), 800);
    book.fire('a', (now) => alert(now), 0);
    assert.equal(book.due(0).length, 1);
  });
});

describe('EventFile', () => {
  it('appends, rotates past its size, and skips a line a crash cut off', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'netping-events-'));
    try {
      const f = new EventFile(dir, 100);
      await f.appendOutages(['{"n":1}', '{"n":2}']);
      assert.deepEqual(await f.recentOutages(10), ['{"n":2}', '{"n":1}']);
      const long = `{"pad":"${'x'.repeat(80)}"}`;
      await f.appendOutages([long]); // past 100 bytes: the first file moves aside
      assert.ok(existsSync(path.join(dir, OUTAGES_OLDER_FILE)));
      assert.deepEqual(await f.recentOutages(10), [long, '{"n":2}', '{"n":1}']);
      assert.deepEqual(await f.recentOutages(2), [long, '{"n":2}']);
      // A crash mid-line: the next daemon's first append starts a new line.
      writeFileSync(path.join(dir, OUTAGES_FILE), '{"n":3}\n{"cut');
      const g = new EventFile(dir, 10_000);
      await g.appendOutages(['{"n":4}']);
      assert.equal(readFileSync(path.join(dir, OUTAGES_FILE), 'utf8'), '{"n":3}\n{"cut\n{"n":4}\n');
      assert.deepEqual((await g.recentOutages(3)).slice(0, 2), ['{"n":4}', '{"cut']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('outage flags', () => {
  const argv = (...args: string[]): string[] => ['node', 'netpingd', ...args];
  it('default to 3 and 3, no Alertmanager', () => {
    const c = parseDaemonArgs(argv());
    assert.deepEqual(c.outages, {
      rules: { downAfter: 3, upAfter: 3 },
      alertmanagers: [],
      quorum: undefined,
    });
  });
  it('take several Alertmanagers, and refuse what is not one', () => {
    const c = parseDaemonArgs(
      argv(
        '--alertmanager',
        'http://127.0.0.1:9093/',
        '--alertmanager',
        'http://am2:9093',
        '--down-after',
        '5',
      ),
    );
    assert.deepEqual(c.outages.alertmanagers, ['http://127.0.0.1:9093', 'http://am2:9093']);
    assert.equal(c.outages.rules.downAfter, 5);
    assert.throws(
      () => parseDaemonArgs(argv('--alertmanager', 'am:9093')),
      /invalid --alertmanager 'am:9093'/,
    );
    assert.throws(() => parseDaemonArgs(argv('--down-after', '0')), /invalid down-after count '0'/);
    assert.throws(() => parseDaemonArgs(argv('--quorum', 'two')), /invalid quorum 'two'/);
  });
  it('read NETPING_ALERTMANAGER, comma-separated', () => {
    process.env.NETPING_ALERTMANAGER = 'http://a:9093,http://b:9093';
    try {
      assert.deepEqual(parseDaemonArgs(argv()).outages.alertmanagers, [
        'http://a:9093',
        'http://b:9093',
      ]);
    } finally {
      delete process.env.NETPING_ALERTMANAGER;
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDaemonArgs } from '../../daemon/options.js';
import { InvalidInputError } from '../../lib/errors.js';
import {
  chunkExpired,
  chunkExpiresAtS,
  chunkKey,
  chunksSince,
  chunksWithin,
} from '../../lib/history/history-chunks.js';
import { parseDurationMs } from '../../lib/duration.js';

const args = (...extra: string[]): string[] => ['node', 'netpingd', ...extra];
// 2026-12-07 12:30 UTC.
const NOW_S = Date.UTC(2026, 11, 7, 12, 30) / 1000;

describe('--history-minutes, --history-hours', () => {
  it('default to 48 h of minutes and 90 days of hours', () => {
    assert.deepEqual(parseDaemonArgs(args()).history, { minutes: 2880, hours: 2160 });
  });

  it('read durations as the other options do, days included, and 0 as off', () => {
    assert.deepEqual(
      parseDaemonArgs(args('--history-minutes', '6h', '--history-hours', '0')).history,
      { minutes: 360, hours: 0 },
    );
    assert.deepEqual(
      parseDaemonArgs(args('--history-minutes', '0', '--history-hours', '365d')).history,
      { minutes: 0, hours: 8760 },
    );
    assert.equal(parseDurationMs('2d'), 2 * 86_400_000);
  });

  it('are read from NETPING_HISTORY_MINUTES and NETPING_HISTORY_HOURS', () => {
    process.env.NETPING_HISTORY_MINUTES = '2h';
    process.env.NETPING_HISTORY_HOURS = '7d';
    try {
      assert.deepEqual(parseDaemonArgs(args()).history, { minutes: 120, hours: 168 });
    } finally {
      delete process.env.NETPING_HISTORY_MINUTES;
      delete process.env.NETPING_HISTORY_HOURS;
    }
  });

  for (const [flag, value, message] of [
    ['--history-minutes', 'soon', /^invalid history minutes 'soon': use seconds/],
    ['--history-minutes', '30s', /^invalid history minutes '30s': must be between 1m and /],
    ['--history-minutes', '40d', /^invalid history minutes '40d': must be between/],
    ['--history-hours', '10m', /^invalid history hours '10m': must be between 60m and /],
    ['--history-hours', '-1d', /^invalid history hours '-1d'/],
  ] as const) {
    it(`refuse ${flag} ${value} in one line, as a usage error`, () => {
      assert.throws(
        () => parseDaemonArgs(args(flag, value)),
        (err: unknown) =>
          err instanceof InvalidInputError &&
          err.exitCode === 2 &&
          message.test(err.message) &&
          !err.message.includes('\n'),
      );
    });
  }
});

describe('chunks under a retention', () => {
  it('keep the chunks of the retention and no more', () => {
    const names = chunksWithin(NOW_S, { minutes: 120, hours: 48 }).map(chunkKey);
    const hour = Math.floor(NOW_S / 3600);
    const day = Math.floor(NOW_S / 86_400);
    assert.deepEqual(names, [
      `h:${day - 2}`,
      `h:${day - 1}`,
      `h:${day}`,
      `m:${hour - 2}`,
      `m:${hour - 1}`,
      `m:${hour}`,
    ]);
  });

  it('keep nothing of a resolution retained 0 periods, and let its chunks expire', () => {
    const retention = { minutes: 0, hours: 24 };
    assert.ok(chunksWithin(NOW_S, retention).every((id) => id.resolution === 'hour'));
    const current = { resolution: 'minute' as const, span: Math.floor(NOW_S / 3600) };
    assert.equal(chunkExpired(current, NOW_S, retention), true);
    assert.equal(chunkExpired(current, NOW_S), false);
  });

  it('expire a chunk once its last period is past the retention', () => {
    const id = { resolution: 'hour' as const, span: Math.floor(NOW_S / 86_400) };
    const week = { minutes: 60, hours: 7 * 24 };
    const expiry = chunkExpiresAtS(id, week);
    assert.equal(chunkExpired(id, expiry - 3600, week), false);
    assert.equal(chunkExpired(id, expiry, week), true);
  });

  it('name the chunks of the last periods only', () => {
    const hour = Math.floor(NOW_S / 3600);
    assert.deepEqual(chunksSince('minute', NOW_S, 31).map(chunkKey), [`m:${hour}`]);
    assert.deepEqual(chunksSince('minute', NOW_S, 61).map(chunkKey), [
      `m:${hour - 1}`,
      `m:${hour}`,
    ]);
    assert.deepEqual(chunksSince('minute', NOW_S, 0), []);
  });
});

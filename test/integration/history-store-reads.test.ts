// Issue 22: memory holds only the recent span of history; older records are
// read from the store when a page asks. A real netpingd on a state directory
// (or Redis) seeded with records of days and hours ago, as the previous
// release saved them: it restores none of them at start, serves them from
// the store at /api/history, compacts the embedded store's closed chunks,
// and refuses a bad retention in one line.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { keysFor } from '../../lib/store/keys.js';
import { RedisTargetStore } from '../../lib/store/redis-store.js';
import { DAEMON_JS, IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { eventually, startDaemon } from '../support/processes.js';

const TARGET = 'lo@127.0.0.1';
const NOW_MS = Date.now();
const HOUR = Math.floor(NOW_MS / 3_600_000);
// An hour of five days ago and a minute of ten hours ago: both older than memory holds.
const OLD_HOUR = HOUR - 5 * 24;
const OLD_MINUTE = (HOUR - 10) * 60 + 17;
const HOUR_RECORD = [OLD_HOUR % 24, 3600, 7, 0, 0, 0, 40, 3000, 593];
const MINUTE_RECORD = [17, 60, 2, 0, 0, 0, 41, 58];
const SEED = new Map([
  [`h:${Math.floor(OLD_HOUR / 24)}`, new Map([[TARGET, [HOUR_RECORD]]])],
  [`m:${HOUR - 10}`, new Map([[TARGET, [MINUTE_RECORD]]])],
]);

// Only the newest minute chunk, ten hours old, of all that is saved: its hour
// was open when the seeding "release" stopped, so it is replayed to close it.
const RESTORED = /restored history of 1 targets from 1 chunks/;

interface Point {
  t: number;
  sent: number;
  lost: number;
  buckets: [number, number][];
}

async function points(baseUrl: string, range: string): Promise<Point[]> {
  const res = await fetch(`${baseUrl}/api/history?target=${TARGET}&range=${range}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { points: Point[] }).points;
}

async function assertOldRecordsServed(baseUrl: string): Promise<void> {
  const hours = await points(baseUrl, '90d');
  const hour = hours.find((p) => p.t === OLD_HOUR * 3600);
  assert.deepEqual(
    hour && { sent: hour.sent, lost: hour.lost, buckets: hour.buckets },
    {
      sent: 3600,
      lost: 7,
      buckets: [
        [40, 3000],
        [41, 593],
      ],
    },
    JSON.stringify(hours.slice(0, 3)),
  );
  const minutes = await points(baseUrl, '24h');
  const minute = minutes.find((p) => p.t === OLD_MINUTE * 60);
  assert.deepEqual(minute && { sent: minute.sent, lost: minute.lost }, { sent: 60, lost: 2 });
}

describe('history read from the store', { skip: !IS_ROOT && 'needs root' }, () => {
  it('embedded: old records served from the chunk files, not restored, closed chunks compacted', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-store-reads-'));
    try {
      writeFileSync(
        path.join(stateDir, 'targets.json'),
        JSON.stringify({ version: 1, members: [TARGET] }),
      );
      const dir = path.join(stateDir, 'history');
      mkdirSync(dir);
      // The previous release's format: a line per target and save.
      for (const [chunk, targets] of SEED)
        writeFileSync(
          path.join(dir, `${chunk.replace(':', '-')}.jsonl`),
          [...targets]
            .map(([t, r]) => `${JSON.stringify([t, r.map((x) => x.join(',')).join(';')])}\n`)
            .join(''),
        );
      const daemon = await startDaemon(['--state-dir', stateDir, '--interval', '1s']);
      try {
        await eventually('the restore', () =>
          Promise.resolve(RESTORED.test(daemon.log()) || undefined),
        );
        await assertOldRecordsServed(daemon.baseUrl);
        // The hour of the minute replayed: closed at the next minute boundary, nothing lost.
        const replayed = await eventually(
          'the replayed hour',
          async () => (await points(daemon.baseUrl, '90d')).find((p) => p.t === (HOUR - 10) * 3600),
          75_000,
        );
        assert.deepEqual({ sent: replayed.sent, lost: replayed.lost }, { sent: 60, lost: 2 });
        // Closed by the first save's newer chunk: compacted into a per-target sorted file.
        await eventually('the compaction', () =>
          Promise.resolve(readdirSync(dir).includes(`m-${HOUR - 10}.sorted.jsonl`) || undefined),
        );
        await assertOldRecordsServed(daemon.baseUrl);
      } finally {
        assert.equal(await daemon.stop(), 0, daemon.log());
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it(
    'Redis: old records served from the chunk hashes, not restored',
    { skip: SKIP_NO_REDIS },
    async () => {
      const prefix = uniquePrefix();
      const redis = new Redis(TEST_REDIS_URL!);
      const seed = new RedisTargetStore({
        url: TEST_REDIS_URL!,
        keys: keysFor(prefix),
        instance: 'reads',
        mode: 'daemon',
      });
      try {
        await seed.appendHistory(SEED);
        await seed.close();
        await redis.sadd(`{${prefix}}:targets`, TARGET);
        const daemon = await startDaemon([
          '--redis',
          TEST_REDIS_URL!,
          '--prefix',
          prefix,
          '--instance',
          'reads',
        ]);
        try {
          await eventually('the restore', () =>
            Promise.resolve(RESTORED.test(daemon.log()) || undefined),
          );
          await assertOldRecordsServed(daemon.baseUrl);
        } finally {
          assert.equal(await daemon.stop(), 0, daemon.log());
        }
      } finally {
        const keys = await redis.keys(`{${prefix}}:*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
    },
  );
});

describe('retention options', () => {
  after(() => undefined);
  for (const [flag, value] of [
    ['--history-minutes', 'forever'],
    ['--history-hours', '5m'],
  ] as const) {
    it(`netpingd ${flag} ${value}: one line on stderr, exit 2`, async () => {
      const child = spawn(process.execPath, [DAEMON_JS, flag, value], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 2, err);
      assert.equal(err.trimEnd().split('\n').length, 1, err);
      assert.match(err, new RegExp(`invalid history ${flag.slice(10)} '${value}'`));
    });
  }
});

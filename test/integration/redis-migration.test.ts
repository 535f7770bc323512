// An upgrade loses nothing: targets, statistics and history written under
// the key names of an older netping (`P:targets`, `P:stats:<id>`, …) are
// moved to the new ones (`{P}:…`) when netpingd starts, merged with what an
// npcli of the new version wrote already, and the old keys deleted.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = SKIP_NO_REDIS || (!IS_ROOT && 'raw ICMP sockets need root: run the suite as root');

describe('keys of an older netping are migrated at start', { skip }, () => {
  const prefix = uniquePrefix();
  const url = TEST_REDIS_URL!;
  let redis: Redis;
  let daemon: RunningDaemon | undefined;

  before(() => {
    redis = new Redis(url);
  });
  after(async () => {
    await daemon?.stop();
    const keys = [...(await redis.keys(`{${prefix}}:*`)), ...(await redis.keys(`${prefix}:*`))];
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('finds old targets and continues their saved counters', async () => {
    // What the old version left: two targets, one's statistics, a history chunk, the peer key.
    await redis.sadd(`${prefix}:targets`, 'old1@127.0.0.1', 'old2@127.0.0.2');
    const saved = {
      v: 1,
      savedAt: Date.now() - 2000,
      sent: 500,
      received: 490,
      lost: 10,
      late: 0,
      duplicates: 0,
      errors: {},
      minMs: 0.01,
      maxMs: 1,
      lastMs: 0.05,
      sumMs: 20,
      averages: { '15m': null, '6h': null, '24h': null },
      histogram: {
        layout: 'log2/8 from 2^(-133/8) s to 64 s, 4 significant digits',
        counts: {},
        sumSeconds: 0,
      },
    };
    await redis.hset(`${prefix}:stats:mig`, 'old1@127.0.0.1', JSON.stringify(saved));
    const hour = Math.floor(Date.now() / 3_600_000);
    await redis.hset(
      `${prefix}:history:mig`,
      `m:${hour}`,
      JSON.stringify({ v: 1, targets: { 'old1@127.0.0.1': [[0, 60, 0, 0, 0, 0]] } }),
    );
    await redis.set(`${prefix}:mesh:peer-key`, 'k'.repeat(32));
    // An npcli of the new version adds one before any daemon ran: merged, not lost.
    const added = await runCli(['--redis', url, '--prefix', prefix, 'add', 'new@127.0.0.3']);
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual((await redis.smembers(`{${prefix}}:targets`)).sort(), [
      'new@127.0.0.3',
      'old1@127.0.0.1',
      'old2@127.0.0.2',
    ]);
    assert.equal(await redis.exists(`${prefix}:targets`), 0);

    daemon = await startDaemon([
      ...['--redis', url, '--prefix', prefix, '--instance', 'mig', '--save-interval', '1s'],
    ]);
    const d = daemon;
    const rows = await eventually(
      'the old targets probed, counters continued',
      async () => {
        const res = await fetch(`${d.baseUrl}/api/targets`);
        const t = ((await res.json()) as { targets: { name: string; sent: number }[] }).targets;
        return t.length === 3 && t.find((r) => r.name === 'old1')!.sent > 500 ? t : undefined;
      },
      10_000,
      200,
    );
    assert.ok(rows.find((r) => r.name === 'old2')!.sent < 50);
    assert.deepEqual(
      (await redis.keys(`${prefix}:*`)).filter((k) => !k.startsWith('{')),
      [],
      'old keys deleted',
    );
    // Moved, then converted to this release's chunks (history-redis.test.ts has the details).
    assert.equal(await redis.exists(`{${prefix}}:history:mig`), 0);
    assert.equal(await redis.hexists(`{${prefix}}:hist:mig:m:${hour}`, 'old1@127.0.0.1'), 1);
    assert.equal(await redis.get(`{${prefix}}:mesh:peer-key`), 'k'.repeat(32));
    assert.match(d.log(), /keys of an older netping moved to their new names/);
  });
});

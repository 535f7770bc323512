// History in Redis: a hash per chunk, P:hist:<instance>:<chunk>, target
// → varint records appended, expiring with the retention; the first
// release's P:history:<instance> converted; read back by a restarted netpingd.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { keysFor } from '../../lib/store/keys.js';
import { RedisTargetStore } from '../../lib/store/redis-store.js';
import { IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { eventually, startDaemon } from '../support/processes.js';

describe('history in Redis', { skip: SKIP_NO_REDIS }, () => {
  const prefix = uniquePrefix();
  const redis = new Redis(TEST_REDIS_URL!, { lazyConnect: true });
  after(async () => {
    const keys = await redis.keys(`{${prefix}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('appends records per target to chunk hashes that expire with the retention', async () => {
    const store = new RedisTargetStore({
      url: TEST_REDIS_URL!,
      keys: keysFor(prefix),
      instance: 'one',
      mode: 'daemon',
    });
    const hour = Math.floor(Date.now() / 3_600_000);
    const chunk = `m:${hour}`;
    try {
      const a = [0, 60, 1, 0, 0, 0, 40, 30, 29];
      const b = [1, 60, 0, 0, 0, 0, 41, 60];
      await store.appendHistory(new Map([[chunk, new Map([['a@127.0.0.1', [a]]])]]));
      await store.appendHistory(
        new Map([
          [
            chunk,
            new Map([
              ['a@127.0.0.1', [b]],
              ['b@127.0.0.2', [a]],
            ]),
          ],
        ]),
      );
      assert.deepEqual(await store.historyChunkNames([`m:${hour - 1}`, chunk]), [chunk]);
      assert.deepEqual(
        await store.loadHistoryChunk(chunk, ['a@127.0.0.1']),
        new Map([['a@127.0.0.1', [a, b]]]),
      );
      assert.equal((await store.loadHistoryChunk(chunk)).size, 2);
      const key = `{${prefix}}:hist:one:${chunk}`;
      // Varints: 9 numbers below 128, one byte each, and the run's length.
      assert.equal((await redis.hgetBuffer(key, 'b@127.0.0.2'))?.length, 10);
      const ttl = await redis.ttl(key);
      assert.ok(ttl > 47 * 3600 && ttl <= 49 * 3600, `expires with the minutes' 48 h: ${ttl} s`);
    } finally {
      await store.close();
    }
  });

  it('converts the history hash of the first release at start', async () => {
    const hour = Math.floor(Date.now() / 3_600_000);
    await redis.hset(
      `{${prefix}}:history:old`,
      `m:${hour}`,
      JSON.stringify({ v: 1, targets: { 'a@127.0.0.1': [[5, 60, 0, 0, 0, 0, 40, 1, 0, 59]] } }),
    );
    const store = new RedisTargetStore({
      url: TEST_REDIS_URL!,
      keys: keysFor(prefix),
      instance: 'old',
      mode: 'daemon',
    });
    try {
      assert.deepEqual(await store.historyChunkNames([`m:${hour}`]), [`m:${hour}`]);
      assert.deepEqual(
        await store.loadHistoryChunk(`m:${hour}`),
        new Map([['a@127.0.0.1', [[5, 60, 0, 0, 0, 0, 40, 1, 0, 59]]]]),
      );
      assert.equal(await redis.exists(`{${prefix}}:history:old`), 0);
    } finally {
      await store.close();
    }
  });

  it('converts the old history of a group member into the chunks of the group', async () => {
    const hour = Math.floor(Date.now() / 3_600_000);
    const keys = keysFor(prefix);
    await redis.hset(
      keys.history('member'),
      `m:${hour}`,
      JSON.stringify({ v: 1, targets: { 'g@127.0.0.1': [[1, 60, 0, 0, 0, 0]] } }),
    );
    const store = new RedisTargetStore({
      url: TEST_REDIS_URL!,
      keys,
      instance: 'member',
      sharedStats: keys.group('g'),
      mode: 'daemon',
    });
    try {
      assert.deepEqual(await store.historyChunkNames([]), []);
      assert.deepEqual(
        await store.loadHistoryChunk(`m:${hour}`, ['g@127.0.0.1']),
        new Map([['g@127.0.0.1', [[1, 60, 0, 0, 0, 0]]]]),
      );
      assert.equal(
        await redis.hexists(keys.group('g').historyChunk(`m:${hour}`), 'g@127.0.0.1'),
        1,
      );
      assert.equal(await redis.exists(keys.history('member')), 0);
    } finally {
      await store.close();
    }
  });

  it(
    'keeps a target history across a netpingd restart',
    { skip: !IS_ROOT && 'needs root' },
    async () => {
      const args = ['--redis', TEST_REDIS_URL!, '--prefix', prefix, '--instance', 'two'];
      await redis.sadd(`{${prefix}}:targets`, 'lo@127.0.0.1');
      const sent = async (url: string): Promise<number> => {
        const res = await fetch(`${url}/api/history?target=lo@127.0.0.1&range=1h`);
        if (res.status !== 200) return 0;
        const body = (await res.json()) as { points: { sent: number }[] };
        return body.points.reduce((a, p) => a + p.sent, 0);
      };
      let daemon = await startDaemon([...args, '--interval', '100ms']);
      let before: number;
      try {
        before = await eventually('probes', async () =>
          (await sent(daemon.baseUrl)) >= 5 ? sent(daemon.baseUrl) : undefined,
        );
      } finally {
        assert.equal(await daemon.stop(), 0, daemon.log());
      }
      const chunks = await redis.keys(`{${prefix}}:hist:two:*`);
      assert.ok(
        chunks.some((k) => k.includes(':m:')),
        chunks.join(' '),
      );
      daemon = await startDaemon([...args, '--interval', '100ms']);
      try {
        await eventually('history back', async () =>
          (await sent(daemon.baseUrl)) >= before ? true : undefined,
        );
      } finally {
        assert.equal(await daemon.stop(), 0, daemon.log());
      }
    },
  );
});

// History in Redis: chunks in the hash P:history:<instance>, replaced,
// deleted, and read back by a restarted netpingd.

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

  it('saves, replaces and forgets chunks', async () => {
    const store = new RedisTargetStore({
      url: TEST_REDIS_URL!,
      keys: keysFor(prefix),
      instance: 'one',
      mode: 'daemon',
    });
    try {
      await store.saveHistory(
        new Map([
          ['m:1', 'a'],
          ['h:2', 'b'],
        ]),
        [],
      );
      await store.saveHistory(new Map([['m:1', 'c']]), ['h:2']);
      assert.deepEqual(await store.historyChunkNames(), ['m:1']);
      assert.equal(await store.loadHistoryChunk('m:1'), 'c');
      assert.equal(await store.loadHistoryChunk('h:2'), undefined);
      assert.deepEqual(await redis.hgetall(`{${prefix}}:history:one`), { 'm:1': 'c' });
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
      const fields = Object.keys(await redis.hgetall(`{${prefix}}:history:two`));
      assert.ok(
        fields.some((f) => f.startsWith('m:')),
        fields.join(' '),
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

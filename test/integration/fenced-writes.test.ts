// The fenced writes of lib/store/fenced-writes.ts against a real Redis,
// through RedisTargetStore: a group's entry is written only by the token
// that last read it (or by anyone while nobody owns it), forgotten only by
// its owner's id; an instance's hashes only while its id holds the value.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../../lib/errors.js';
import { keysFor } from '../../lib/store/keys.js';
import { RedisTargetStore } from '../../lib/store/redis-store.js';
import type { ChunkRecords } from '../../lib/store/stats-store.js';
import { SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';

describe('fenced writes', { skip: SKIP_NO_REDIS }, () => {
  const prefix = uniquePrefix();
  const keys = keysFor(prefix);
  const group = keys.group('g');
  let redis: Redis;
  let store: RedisTargetStore;

  before(() => {
    redis = new Redis(TEST_REDIS_URL!);
    store = new RedisTargetStore({
      url: TEST_REDIS_URL!,
      keys,
      instance: 'm1',
      sharedStats: group,
      mode: 'daemon',
    });
  });

  after(async () => {
    await store.close();
    const all = await redis.keys(`{${prefix}}:*`);
    if (all.length > 0) await redis.del(...all);
    redis.disconnect();
  });

  it('a group entry is written by the token that read it last, and refused to the one before', async () => {
    const a = { token: 'm1 1', id: 'm1' };
    const b = { token: 'm2 4', id: 'm2' };
    // Nobody owns t yet: the first save writes it and takes it.
    assert.deepEqual(await store.saveOwnedStats(new Map([['t', 'a1']]), [], a), []);
    assert.equal(await redis.hget(group.owners, 't'), 'm1 1');
    // m2 takes t over: it reads a1 and owns t from now on.
    assert.deepEqual([...(await store.claimStats(['t', 'absent'], b.token))], [['t', 'a1']]);
    // m1's save, late: refused, nothing changed.
    assert.deepEqual(
      await store.saveOwnedStats(
        new Map([
          ['t', 'a2'],
          ['u', 'a-u'],
        ]),
        [],
        a,
      ),
      ['t'],
    );
    assert.equal(await redis.hget(group.stats, 't'), 'a1');
    assert.equal(
      await redis.hget(group.stats, 'u'),
      'a-u',
      'what it owns is written in the same call',
    );
    // m1 again, after a rejoin (a newer generation of the same id): still not its entry.
    assert.deepEqual(
      await store.saveOwnedStats(new Map([['t', 'a3']]), [], { ...a, token: 'm1 9' }),
      ['t'],
    );
    assert.deepEqual(await store.saveOwnedStats(new Map([['t', 'b1']]), [], b), []);
    assert.equal(await redis.hget(group.stats, 't'), 'b1');
    // Forgetting: not another id's entry; one's own of any generation, with its owner.
    await store.saveOwnedStats(new Map(), ['t', 'u'], { ...a, token: 'm1 9' });
    assert.equal(await redis.hget(group.stats, 't'), 'b1');
    assert.equal(await redis.hexists(group.stats, 'u'), 0);
    assert.equal(await redis.hexists(group.owners, 'u'), 0);
  });

  it('saves over 500 entries in several calls, each fenced', async () => {
    const many = new Map(Array.from({ length: 1234 }, (_, i) => [`k${i}`, `v${i}`]));
    await store.claimStats(['k7'], 'm2 4');
    const refused = await store.saveOwnedStats(many, [], { token: 'm1 1', id: 'm1' });
    assert.deepEqual(refused, ['k7']);
    assert.equal(await redis.hget(group.stats, 'k1233'), 'v1233');
    assert.equal(await redis.hget(group.owners, 'k1233'), 'm1 1');
  });

  it('writes the instance’s hashes only while the id holds this process’s value', async () => {
    const plain = new RedisTargetStore({
      url: TEST_REDIS_URL!,
      keys,
      instance: 'solo',
      mode: 'daemon',
    });
    try {
      const idKey = keys.instance('solo');
      let held = true;
      plain.fenceWrites({ key: idKey, holder: 'run-a', held: () => held });
      await redis.set(idKey, 'run-a', 'PX', 10_000);
      await plain.saveStats(new Map([['x', '1']]), []);
      // A chunk of now: one long past the retention would expire at once.
      const chunk = `m:${Math.floor(Date.now() / 3_600_000)}`;
      const rec = (sent: number): ChunkRecords =>
        new Map([[chunk, new Map([['t@127.0.0.1', [[0, sent, 0, 0, 0, 0]]]])]]);
      await plain.appendHistory(rec(1));
      assert.equal(await redis.hget(keys.stats('solo'), 'x'), '1');
      await redis.set(idKey, 'run-b', 'PX', 10_000); // another process holds the id now
      await assert.rejects(plain.saveStats(new Map([['x', '2']]), []), StoreUnavailableError);
      await assert.rejects(plain.appendHistory(rec(2)), StoreUnavailableError);
      assert.equal(await redis.hget(keys.stats('solo'), 'x'), '1');
      assert.deepEqual(
        await plain.loadHistoryChunk(chunk),
        new Map([['t@127.0.0.1', [[0, 1, 0, 0, 0, 0]]]]),
      );
      // Held in Redis but not renewed in time here: refused before Redis is asked.
      await redis.set(idKey, 'run-a', 'PX', 10_000);
      held = false;
      await assert.rejects(plain.saveStats(new Map([['x', '3']]), []), StoreUnavailableError);
      held = true;
      await plain.saveStats(new Map([['x', '4']]), ['gone']);
      assert.equal(await redis.hget(keys.stats('solo'), 'x'), '4');
    } finally {
      await plain.close();
    }
  });
});

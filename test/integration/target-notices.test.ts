// Change notices applied as deltas, end to end: a real netpingd following a
// real redis-server of the test's own (so its command counts are the
// daemon's and ours alone), changes written by the store npcli writes with.
// Whole-set reads are counted by Redis itself (INFO commandstats: SMEMBERS),
// never timed.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { keysFor } from '../../lib/store/keys.js';
import { RedisTargetStore } from '../../lib/store/redis-store.js';
import { IS_ROOT } from '../support/env.js';
import { probedNames, readsSince, runNoticeLoad, setReads } from '../support/notice-load.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';
import { OwnRedis } from '../support/redis-server.js';

const skip = !IS_ROOT && 'raw ICMP sockets need root: run the suite as root';
const MEMBERS = 300;

describe('netpingd applying change notices', { skip }, () => {
  const prefix = 'notices';
  const keys = keysFor(prefix);
  let server: OwnRedis;
  let redis: Redis;
  let writer: RedisTargetStore;
  let daemon: RunningDaemon;
  const member = (i: number): string => `n${i}@127.0.${20 + (i >> 8)}.${i & 255}`;

  before(async () => {
    server = await OwnRedis.reserve();
    await server.start();
    redis = new Redis(server.url);
    writer = new RedisTargetStore({ url: server.url, keys, mode: 'cli' });
    await redis.sadd(keys.targets, ...Array.from({ length: MEMBERS }, (_, i) => member(i)));
    daemon = await startDaemon([
      ...['--redis', server.url, '--prefix', prefix],
      // Only notices (and the start) may read the set while the tests run.
      ...['--interval', '1s', '--timeout', '500ms', '--resync', '1h'],
    ]);
    await eventually(
      `${MEMBERS} targets probed`,
      async () => ((await probedNames(daemon)).length === MEMBERS ? true : undefined),
      20_000,
      200,
    );
  });

  after(async () => {
    const code = await daemon?.stop();
    await writer?.close();
    redis?.disconnect();
    await server?.dispose();
    assert.equal(code, 0, `netpingd should exit 0 on SIGTERM; log:\n${daemon?.log()}`);
  });

  const probes = async (name: string, present: boolean): Promise<void> => {
    await eventually(`${name} ${present ? 'probed' : 'gone'}`, async () =>
      (await probedNames(daemon)).includes(name) === present ? true : undefined,
    );
  };

  it('applies an add and a remove from their notices, without reading the whole set', async () => {
    const reads = await setReads(redis);
    await writer.add(['new@127.0.30.1', 'other@127.0.30.2']);
    await probes('new@127.0.30.1', true);
    await probes('other@127.0.30.2', true);
    await writer.remove(['new@127.0.30.1', member(0)]);
    await probes('new@127.0.30.1', false);
    await probes(member(0), false);
    assert.equal((await probedNames(daemon)).length, MEMBERS);
    assert.deepEqual(
      readsSince(reads, await setReads(redis)),
      { smembers: 0, sscan: 0 },
      'no read of the set for a notice',
    );
  });

  it("re-reads the whole set for an older writer's notice that names no members", async () => {
    let reads = await setReads(redis);
    await redis.sadd(keys.targets, 'old@127.0.30.9');
    await redis.publish(keys.events, JSON.stringify({ op: 'add' }));
    await probes('old@127.0.30.9', true);
    assert.ok(readsSince(reads, await setReads(redis)).sscan >= 1, 'the set was read');
    reads = await setReads(redis);
    await redis.srem(keys.targets, 'old@127.0.30.9');
    await redis.publish(keys.events, 'changed');
    await probes('old@127.0.30.9', false);
    assert.ok(readsSince(reads, await setReads(redis)).sscan >= 1, 'the set was read again');
  });
});

describe('netpingd re-reading the set in slices while notices come', { skip }, () => {
  it('ends probing exactly the set', async () => {
    const server = await OwnRedis.reserve();
    await server.start();
    try {
      const r = await runNoticeLoad({
        redisUrl: server.url,
        prefix: 'race',
        targets: 2000,
        seconds: 3,
        changesPerS: 40,
        // The shortest --resync: every notice lands during or near a sliced re-read.
        resync: '100ms',
        fastIntervalMs: 10,
      });
      console.log(
        `2,000 members, ${r.changes} changes, ${r.wholeReads.sscan} SSCAN steps; loop delay ` +
          `p99 ${r.loopDelay.p99Ms.toFixed(2)} ms, max ${r.loopDelay.maxMs.toFixed(2)} ms`,
      );
      assert.ok(r.endsEqual, 'the daemon probes exactly the set once the changes stop');
      assert.ok(r.changes > 0);
      assert.ok(r.wholeReads.sscan >= 1, 'the resync did re-read the set during the changes');
      assert.equal(r.lost, 0, 'no probe to 127.0.0.1 lost');
    } finally {
      await server.dispose();
    }
  });
});

// Redis memory of full history (48 h of minutes, 90 days of hours, synthetic:
// bench/history-synth.ts) per target, in this release's layout (a hash per
// chunk, varint records per target: RedisTargetStore.appendHistory) and, as
// the reference in the same run on the same redis-server, in the first
// release's (one hash per instance, a JSON document per chunk). used_memory
// of INFO before and after each, divided by the targets.
//   node dist/bench/history-redis-memory.js [targets=200] [sigma]

import { Redis } from 'ioredis';
import { chunkKey } from '../lib/history/history-chunks.js';
import type { TargetHistory } from '../lib/history/target-history.js';
import { keysFor } from '../lib/store/keys.js';
import { RedisTargetStore } from '../lib/store/redis-store.js';
import { chunkRecords, fullChunks, synthHistory, TYPICAL } from './history-synth.js';
import { freePort, start, stopAll, waitForLine } from './support/processes.js';

const targets = Number(process.argv[2] ?? 200);
const sigma = Number(process.argv[3] ?? TYPICAL.sigma);

const port = await freePort();
const server = start('redis-server', 'redis-server', [
  ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
]);
try {
  await waitForLine(server, /Ready to accept connections/, 10_000);
  const url = `redis://127.0.0.1:${port}`;
  const redis = new Redis(url);
  const used = async (): Promise<number> =>
    Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);

  const nowMinute = Math.floor(Date.now() / 60_000);
  const histories: [string, TargetHistory][] = [];
  for (let i = 0; i < targets; i++)
    histories.push([
      `t${i}@127.1.${i >> 8}.${i & 255}`,
      synthHistory(i + 1, nowMinute, { ...TYPICAL, sigma }),
    ]);
  const ids = fullChunks(nowMinute);

  const store = new RedisTargetStore({
    url,
    keys: keysFor('bench'),
    instance: 'one',
    mode: 'daemon',
  });
  const before = await used();
  let valueBytes = 0;
  for (const id of ids) {
    const records = chunkRecords(id, histories);
    await store.appendHistory(new Map([[chunkKey(id), records]]));
  }
  for (const key of await redis.keys('{bench}:hist:one:*'))
    for (const v of Object.values(await redis.hgetallBuffer(key))) valueBytes += v.length;
  const ours = (await used()) - before;
  await store.close();

  const legacyBefore = await used();
  for (const id of ids) {
    const doc = { v: 1, targets: Object.fromEntries(chunkRecords(id, histories)) };
    await redis.hset('{legacy}:history:one', chunkKey(id), JSON.stringify(doc));
  }
  const legacy = (await used()) - legacyBefore;
  redis.disconnect();

  const kB = (n: number): number => +(n / targets / 1000).toFixed(1);
  console.log(
    JSON.stringify(
      {
        targets,
        sigma,
        chunks: ids.length,
        'kB per target, this release (hash per chunk, varints)': kB(ours),
        'of which record bytes': kB(valueBytes),
        'kB per target, first release (JSON chunks per instance)': kB(legacy),
      },
      null,
      2,
    ),
  );
} finally {
  await stopAll();
}

// Redis's own CPU for a group's saves: the fenced script
// (lib/store/fenced-writes.ts, an owner check per entry) beside the plain
// HSET of the same entries, both as Redis counts them (INFO commandstats:
// microseconds inside the server), and the owners hash's memory per target.
//   node dist/bench/fenced-saves.js redis://127.0.0.1:6379 [targets] [rounds]

import { Redis } from 'ioredis';
import { readAndClaim, saveOwned, type Evaluate } from '../lib/store/fenced-writes.js';

const url = process.argv[2];
if (!url) throw new Error('usage: fenced-saves.js REDIS_URL [targets] [rounds]');
const targets = Number(process.argv[3] ?? 3000);
const rounds = Number(process.argv[4] ?? 10);
const redis = new Redis(url);
const prefix = `bench-${process.pid}`;
const keys = { stats: `{${prefix}}:gstats:g`, owners: `{${prefix}}:gowners:g` };
const plainKey = `{${prefix}}:plain`;
const evaluate: Evaluate = (script, k, a) => redis.eval(script, k.length, ...k, ...a);
// A saved entry is ~640 bytes of JSON (docs/SCALE.md).
const entries = new Map(
  Array.from({ length: targets }, (_, i) => [`t${i}@127.1.${i >> 8}.${i & 255}`, 'x'.repeat(640)]),
);

/** Microseconds inside Redis for one command since the last reset. */
async function usec(command: string): Promise<number> {
  const line = (await redis.info('commandstats'))
    .split('\n')
    .find((l) => l.startsWith(`cmdstat_${command}:`));
  return Number(/usec=(\d+)/.exec(line ?? '')?.[1] ?? NaN);
}

try {
  await redis.config('RESETSTAT');
  await readAndClaim(evaluate, keys, 'm1 1', [...entries.keys()], () => Promise.resolve());
  const claimUs = await usec('eval');
  await redis.config('RESETSTAT');
  for (let r = 0; r < rounds; r++)
    await saveOwned(evaluate, keys, { token: 'm1 1', id: 'm1' }, entries, []);
  const fencedUs = await usec('eval');
  await redis.config('RESETSTAT');
  const fields = [...entries].flat();
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < fields.length; i += 1000)
      await redis.hset(plainKey, ...fields.slice(i, i + 1000));
  const plainUs = await usec('hset');
  const ownersBytes = Number(await redis.memory('USAGE', keys.owners));
  const per = (us: number, n: number): string => `${(us / n).toFixed(2)} µs`;
  console.log(`targets ${targets}, ${rounds} saves each`);
  console.log(`read-and-claim at takeover: ${per(claimUs, targets)} per target`);
  console.log(`fenced save:  ${per(fencedUs, targets * rounds)} per target`);
  console.log(`plain HSET:   ${per(plainUs, targets * rounds)} per target`);
  console.log(`owners hash:  ${(ownersBytes / targets).toFixed(0)} bytes per target`);
} finally {
  await redis.del(keys.stats, keys.owners, plainKey);
  redis.disconnect();
}

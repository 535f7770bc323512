// History follows a target within a group, like its statistics (issue 20,
// item 7): a member probes 12 targets and stops; the member that takes them
// over serves their history (/api/history), read from the group's chunks
// ({P}:ghist:<group>:<chunk>), and writes it on under its own token. The
// first release kept history per instance, so the new owner had none and
// the old one deleted it after --forget-after.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = SKIP_NO_REDIS || (!IS_ROOT && 'raw ICMP sockets need root: run the suite as root');
const N = 12;
const GROUP = 'h';

async function targetsOf(d: RunningDaemon): Promise<{ key: string; sent: number }[]> {
  const res = await fetch(`${d.baseUrl}/api/targets`);
  const body = (await res.json()) as { targets: { name: string; address: string; sent: number }[] };
  return body.targets.map((t) => ({ key: `${t.name}@${t.address}`, sent: t.sent }));
}

async function historySent(d: RunningDaemon, target: string): Promise<number> {
  const res = await fetch(`${d.baseUrl}/api/history?target=${target}&range=1h`);
  if (res.status !== 200) return 0;
  const body = (await res.json()) as { points: { sent: number }[] };
  return body.points.reduce((a, p) => a + p.sent, 0);
}

describe('history of grouped targets follows the target', { skip }, () => {
  const prefix = uniquePrefix();
  const url = TEST_REDIS_URL!;
  let redis: Redis;
  const running: RunningDaemon[] = [];
  const start = async (id: string): Promise<RunningDaemon> => {
    const d = await startDaemon(
      [
        ...['--redis', url, '--prefix', prefix, '--instance', id, '--group', GROUP],
        ...['--interval', '100ms', '--save-interval', '1s', '--group-refresh', '500ms'],
        ...['--group-expiry', '2s'],
      ],
      {},
      20_000,
    );
    running.push(d);
    return d;
  };
  const targets = Array.from({ length: N }, (_, i) => `gh${i}@127.78.0.${i + 1}`);

  before(async () => {
    redis = new Redis(url);
    await redis.sadd(`{${prefix}}:targets`, ...targets);
  });

  after(async () => {
    await Promise.all(running.map((d) => d.stop()));
    const keys = await redis.keys(`{${prefix}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('a member taking targets over serves the history their last owner saved', async () => {
    const first = await start('hm1');
    const before = new Map<string, number>();
    await eventually(
      'the first member has some history of every target',
      async () => {
        for (const t of targets) before.set(t, await historySent(first, t));
        return [...before.values()].every((n) => n >= 20) ? true : undefined;
      },
      20_000,
      200,
    );
    // A clean stop saves the open minute of each, then leaves the group.
    assert.equal(await first.stop(), 0, first.log());
    const second = await start('hm2');
    // Its counters continue from the group's statistics (they always did);
    // its history must hold as much, not only what it probed itself.
    await eventually(
      'the second member has all targets, their counters continued',
      async () => {
        const rows = await targetsOf(second);
        return rows.length === N && rows.every((r) => r.sent > before.get(r.key)!)
          ? true
          : undefined;
      },
      20_000,
      200,
    );
    // Its history is read from the group's chunks just after it takes the
    // targets on: within a few seconds it holds as many probes as the
    // counter (read first: only probes sent since can make history larger).
    const short = await eventually(
      'history as long as the counters',
      async () => {
        const behind: string[] = [];
        for (const r of await targetsOf(second)) {
          const inHistory = await historySent(second, r.key);
          if (inHistory < r.sent - 2)
            behind.push(
              `${r.key}: history ${inHistory}, counter ${r.sent} (${before.get(r.key)} by the first)`,
            );
        }
        return behind.length === 0 ? behind : undefined;
      },
      5_000,
      250,
    ).catch((err: unknown) => [String(err), first.log(), second.log()]);
    assert.deepEqual(short, []);
    assert.equal(await second.stop(), 0, second.log());
    const saved = await redis.keys(`{${prefix}}:ghist:${GROUP}:m:*`);
    assert.ok(saved.length > 0, 'the group holds the history');
    assert.deepEqual(await redis.keys(`{${prefix}}:hist:*`), [], 'not under an instance');
  });
});

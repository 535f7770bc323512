// A group of three netpingd on one Redis sharing 3,000 loopback targets:
// each target probed by exactly one member (their probe rates add up to the
// target count); a member SIGKILLed has its share probed again by the
// others within 15 s, the moved targets' counters continuing; started again,
// it takes its share back. Default group timings (2 s refresh, 8 s expiry),
// 1 s interval and save interval.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = SKIP_NO_REDIS || (!IS_ROOT && 'raw ICMP sockets need root: run the suite as root');
const N = 3000;
const GROUP = 'g';

interface Row {
  name: string;
  address: string;
  sent: number;
}

async function targetsOf(d: RunningDaemon): Promise<Row[]> {
  const res = await fetch(`${d.baseUrl}/api/targets`);
  return ((await res.json()) as { targets: Row[] }).targets;
}

describe('a group of three netpingd sharing 3,000 targets', { skip }, () => {
  const prefix = uniquePrefix();
  const url = TEST_REDIS_URL!;
  let redis: Redis;
  const members = new Map<string, RunningDaemon>();
  const start = async (id: string): Promise<void> => {
    members.set(
      id,
      await startDaemon(
        [
          ...['--redis', url, '--prefix', prefix, '--instance', id, '--group', GROUP],
          ...['--interval', '1s', '--save-interval', '1s', '--max-targets', '5000'],
        ],
        {},
        20_000,
      ),
    );
  };
  /** Every member's targets: which member has each, and the duplicates. */
  const census = async (ids: readonly string[]) => {
    const owner = new Map<string, string>();
    const sent = new Map<string, number>();
    const perMember = new Map<string, number>();
    let duplicates = 0;
    for (const id of ids) {
      const rows = await targetsOf(members.get(id)!);
      perMember.set(id, rows.length);
      for (const r of rows) {
        if (owner.has(r.name)) duplicates++;
        owner.set(r.name, id);
        sent.set(r.name, r.sent);
      }
    }
    return { owner, sent, perMember, duplicates };
  };

  before(async () => {
    redis = new Redis(url);
    const all = Array.from(
      { length: N },
      (_, i) => `g${i}@127.77.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    );
    await redis.sadd(`{${prefix}}:targets`, ...all);
    await Promise.all(['m1', 'm2', 'm3'].map(start));
  });

  after(async () => {
    await Promise.all([...members.values()].map((d) => d.stop()));
    const keys = await redis.keys(`{${prefix}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('splits, takes a killed member’s share over with its counters, and evens out again', async (t) => {
    const ids = ['m1', 'm2', 'm3'];
    const split = await eventually(
      'all 3,000 targets probed, each by one member',
      async () => {
        const c = await census(ids);
        return c.owner.size === N &&
          c.duplicates === 0 &&
          [...c.perMember.values()].every((n) => n > 0)
          ? c
          : undefined;
      },
      20_000,
      500,
    );
    t.diagnostic(`split: ${JSON.stringify(Object.fromEntries(split.perMember))}`);
    for (const n of split.perMember.values()) assert.ok(n > N / 6 && n < N / 2, `share ${n}`);

    // Probe rates: sent over a few seconds, summed over the members.
    const sum = async (): Promise<number> => {
      const c = await census(ids);
      return [...c.sent.values()].reduce((a, b) => a + b, 0);
    };
    const t0 = Date.now();
    const s0 = await sum();
    await new Promise((r) => setTimeout(r, 4000));
    const s1 = await sum();
    const rate = (s1 - s0) / ((Date.now() - t0) / 1000);
    t.diagnostic(`probes per second, all members: ${rate.toFixed(0)} (targets: ${N})`);
    assert.ok(Math.abs(rate - N) < N * 0.1, `rate ${rate}`);

    // npcli shows the group's targets with their owners.
    const shown = await runCli([
      '--redis',
      url,
      '--prefix',
      prefix,
      'stats',
      '--group',
      GROUP,
      '--json',
    ]);
    assert.equal(shown.code, 0, shown.stderr);
    const groups = (JSON.parse(shown.stdout) as { groups: { owner: string; targets: Row[] }[] })
      .groups;
    for (const g of groups) {
      for (const row of g.targets.slice(0, 50))
        assert.equal(split.owner.get(row.name), g.owner, row.name);
    }

    // SIGKILL m3: no goodbye.
    const before = new Map(
      (await targetsOf(members.get('m3')!)).map((r) => [r.name, r.sent] as const),
    );
    const killedAt = Date.now();
    await members.get('m3')!.stop('SIGKILL');
    const rest = ['m1', 'm2'];
    const taken = await eventually(
      'the killed member’s targets probed by the others',
      async () => {
        const c = await census(rest);
        return c.owner.size === N && c.duplicates === 0 ? c : undefined;
      },
      15_000,
      250,
    );
    const takeoverMs = Date.now() - killedAt;
    t.diagnostic(`taken over ${takeoverMs} ms after SIGKILL`);
    // Counters continue: at most one save interval (1 probe at 1 s) lost,
    // give or take a probe in flight.
    await new Promise((r) => setTimeout(r, 1500)); // the fetch of saved entries lands
    const after = await census(rest);
    let behind = 0;
    for (const [name, sentBefore] of before) {
      const now = after.sent.get(name);
      assert.ok(now !== undefined, name);
      if (now < sentBefore - 2) behind++;
    }
    assert.equal(behind, 0, `${behind} moved targets started their counters over`);
    void taken;

    // m3 comes back: the split evens out, still no duplicates.
    await start('m3');
    const again = await eventually(
      'the split evened out with m3 back',
      async () => {
        const c = await census(ids);
        return c.owner.size === N && c.duplicates === 0 && (c.perMember.get('m3') ?? 0) > N / 6
          ? c
          : undefined;
      },
      20_000,
      500,
    );
    t.diagnostic(`split again: ${JSON.stringify(Object.fromEntries(again.perMember))}`);
    assert.deepEqual(again.perMember.get('m3'), split.perMember.get('m3'));
  });
});

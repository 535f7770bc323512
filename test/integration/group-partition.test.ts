// A group of three netpingd on one Redis, one of them (m3) reaching Redis
// through a TCP proxy of the test's own. Cut off (the proxy paused: its
// connections stay open, nothing passes), m3 must stop probing its share
// once its registration can have expired, while the others take it over;
// healed (what m3 sent meanwhile is delivered late), it rejoins and
// continues from the counts the others saved, not its own old ones. A
// member paused with SIGSTOP (a VM suspended) past the expiry likewise
// rejoins with the others' counts rather than saving its old ones over them.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { PausableProxy } from '../support/pausable-proxy.js';
import { eventually, startDaemon, type RunningDaemon } from '../support/processes.js';

const skip = SKIP_NO_REDIS || (!IS_ROOT && 'raw ICMP sockets need root: run the suite as root');
const N = 300;
const REFRESH_MS = 1000;
const EXPIRY_MS = 4000;
/** Target name → its key (the field of the group's statistics). */
const keyOf = new Map(
  Array.from({ length: N }, (_, i) => [
    `p${i}`,
    `p${i}@127.78.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  ]),
);

interface Row {
  name: string;
  sent: number;
}

async function targetsOf(d: RunningDaemon): Promise<Row[]> {
  const res = await fetch(`${d.baseUrl}/api/targets`);
  return ((await res.json()) as { targets: Row[] }).targets;
}

describe('a group member cut off from Redis', { skip }, () => {
  const prefix = uniquePrefix();
  const url = TEST_REDIS_URL!;
  let redis: Redis;
  let proxy: PausableProxy;
  const members = new Map<string, RunningDaemon>();
  const start = async (id: string, via: string): Promise<void> => {
    members.set(
      id,
      await startDaemon(
        [
          ...['--redis', via, '--prefix', prefix, '--instance', id, '--group', 'g'],
          ...['--group-refresh', `${REFRESH_MS}ms`, '--group-expiry', `${EXPIRY_MS}ms`],
          ...['--interval', '500ms', '--timeout', '200ms', '--save-interval', '1s'],
        ],
        {},
        20_000,
      ),
    );
  };
  /** Each member's targets, m3 read last: a target m3 still lists after another listed it was probed by both. */
  const census = async () => {
    const byMember = new Map<string, Map<string, number>>();
    for (const id of ['m1', 'm2', 'm3']) {
      const rows = await targetsOf(members.get(id)!);
      byMember.set(id, new Map(rows.map((r) => [r.name, r.sent])));
    }
    const others = new Map([...byMember.get('m1')!, ...byMember.get('m2')!]);
    const m3 = byMember.get('m3')!;
    const both = [...m3.keys()].filter((name) => others.has(name)).length;
    return { others, m3, both };
  };
  const evenSplit = (c: Awaited<ReturnType<typeof census>>): boolean =>
    c.both === 0 && c.m3.size > 0 && c.others.size + c.m3.size === N;

  const splitEvenly = () =>
    eventually(
      'all targets probed, each by one member',
      async () => {
        const c = await census();
        return evenSplit(c) ? c : undefined;
      },
      20_000,
      250,
    );
  /**
   * Waits for m3 to have its share back and its counts at those the others
   * had (`othersSent`); the fetch of the saved entries lands at once, while
   * kept counts would need seconds of probing to catch up. The targets
   * still behind after `withinMs`.
   */
  const rejoined = async (share: readonly string[], othersSent: ReadonlyMap<string, number>) => {
    await eventually(
      'm3 back with its share',
      async () => {
        const again = await census();
        return evenSplit(again) && again.m3.size === share.length ? true : undefined;
      },
      20_000,
      250,
    );
    const isBehind = (m3: ReadonlyMap<string, number>) => (name: string) =>
      (m3.get(name) ?? 0) < (othersSent.get(name) ?? 0) - 1;
    const back = await eventually(
      'm3’s targets carrying the counts the others saved',
      async () => {
        const again = await census();
        return share.some(isBehind(again.m3)) ? undefined : again;
      },
      3000,
      250,
    ).catch(async () => census());
    const behind = share.filter(isBehind(back.m3));
    const example = behind[0] ?? '';
    return { behind, example: `${example}: ${back.m3.get(example)} < ${othersSent.get(example)}` };
  };

  before(async () => {
    redis = new Redis(url);
    const u = new URL(url);
    proxy = await PausableProxy.start({ host: u.hostname, port: Number(u.port) });
    const all = [...keyOf.values()];
    await redis.sadd(`{${prefix}}:targets`, ...all);
    await start('m1', url);
    await start('m2', url);
    await start('m3', `redis://127.0.0.1:${proxy.port}`);
  });

  after(async () => {
    proxy.resume();
    await Promise.all([...members.values()].map((d) => d.stop('SIGKILL')));
    await proxy.close();
    const keys = await redis.keys(`{${prefix}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('stops probing its share within the expiry and a refresh, and rejoins with the counts the others saved', async (t) => {
    const split = await splitEvenly();
    const share = [...split.m3.keys()];
    t.diagnostic(`m3's share: ${share.length} of ${N}`);

    const pausedAt = Date.now();
    proxy.pause();
    let stoppedMs: number | undefined;
    let takenMs: number | undefined;
    let overlapping = 0;
    const deadline = pausedAt + 20_000;
    while (Date.now() < deadline && (stoppedMs === undefined || takenMs === undefined)) {
      const c = await census();
      if (c.both > 0 && takenMs !== undefined) overlapping++;
      if (stoppedMs === undefined && c.m3.size === 0) stoppedMs = Date.now() - pausedAt;
      if (takenMs === undefined && c.others.size === N) takenMs = Date.now() - pausedAt;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.diagnostic(
      `cut off: m3 stopped after ${stoppedMs} ms, the others had every target after ${takenMs} ms`,
    );
    assert.ok(
      stoppedMs !== undefined,
      `m3 went on probing its share, cut off:\n${members.get('m3')!.log()}`,
    );
    // Its last renewal went out at most a refresh before the cut; sampling and the drain of a 200 ms timeout on top.
    assert.ok(stoppedMs <= EXPIRY_MS + REFRESH_MS + 1500, `stopped after ${stoppedMs} ms`);
    assert.ok(takenMs !== undefined, 'the others took the share over');
    assert.ok(
      overlapping <= 1,
      `${overlapping} samples with targets probed by m3 and another member`,
    );
    assert.match(members.get('m3')!.log(), /registration not renewed for 4000 ms: stopped probing/);

    // The others count on for a while; m3's saves queue up in the proxy.
    await new Promise((r) => setTimeout(r, 3000));
    const c = await census();
    const othersSent = new Map(share.map((name) => [name, c.others.get(name)!]));
    proxy.resume();

    const { behind, example } = await rejoined(share, othersSent);
    assert.equal(
      behind.length,
      0,
      `${behind.length} targets behind the counts the others had, e.g. ${example}`,
    );
  });

  it('paused with SIGSTOP past the expiry, rejoins with the counts saved meanwhile', async (t) => {
    const split = await splitEvenly();
    const share = [...split.m3.keys()];
    const m3 = members.get('m3')!;
    m3.child.kill('SIGSTOP');
    try {
      await eventually(
        'the others probing every target',
        async () => {
          const others = new Map<string, number>();
          for (const id of ['m1', 'm2'])
            for (const r of await targetsOf(members.get(id)!)) others.set(r.name, r.sent);
          return others.size === N ? true : undefined;
        },
        EXPIRY_MS + 10_000,
        250,
      );
      // Counts the frozen m3 has not seen: more than it makes up in the
      // seconds a rejoin takes, had it kept its own and probed on.
      await new Promise((r) => setTimeout(r, 10_000));
    } finally {
      m3.child.kill('SIGCONT');
    }
    const othersSent = new Map<string, number>();
    for (const id of ['m1', 'm2'])
      for (const r of await targetsOf(members.get(id)!)) othersSent.set(r.name, r.sent);
    const { behind, example } = await rejoined(share, othersSent);
    t.diagnostic(`after the pause: ${behind.length} of ${share.length} behind`);
    assert.equal(
      behind.length,
      0,
      `${behind.length} targets lost the counts the others made while m3 was stopped, e.g. ${example}`,
    );
    await new Promise((r) => setTimeout(r, 1500)); // m3's saves run
    // And in Redis: the saved entries are m3's again, not older than the others' counts.
    const saved = await redis.hmget(
      `{${prefix}}:gstats:g`,
      ...share.slice(0, 50).map((name) => keyOf.get(name)!),
    );
    saved.forEach((text, i) => {
      const name = share[i]!;
      assert.ok(text, name);
      const sent = (JSON.parse(text) as { sent: number }).sent;
      assert.ok(sent >= (othersSent.get(name) ?? 0) - 1, `${name}: saved ${sent}`);
    });
  });
});
